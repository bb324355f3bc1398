"""What each role may do with the service: right holders curate their own brand and choose its
model, officers inspect every brand, trainers run the workshop, admins manage users and brands."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipr_vision.app.service import Service
from ipr_vision.domain import AuditAction
from ipr_vision.errors import GalleryError, IprVisionError
from tests.app.conftest import PASSWORD, PEOPLE, query


def test_right_holder_curates_their_own_brand(service: Service, tmp_path: Path) -> None:
    rita = service.user("rita")
    refs = service.references(rita, "nike", "boot")
    assert len(refs) == 24 and {r.brand for r in refs} == {"nike"}
    ref = refs[0]
    assert service.reference(rita, ref.id) == ref
    assert service.photo(rita, ref.id).size == (320, 320)
    service.set_note(rita, ref.id, "  swoosh ends too early  ")
    assert service.reference(rita, ref.id).note == "swoosh ends too early"
    point = service.add_point(rita, ref.id, (40, 40, 120, 120), "heel tab")
    assert [p.note for p in service.points(rita, ref.id)] == ["the stitching", "heel tab"]
    assert service.remove_point(rita, refs[1].id, point) is False  # not that reference's
    assert service.remove_point(rita, ref.id, point) is True
    assert service.remove_point(rita, ref.id, point) is False
    health = service.health(rita, "nike", "boot")
    assert (health.genuine, health.fake) == (12, 12)
    service.set_operating_point(rita, "nike", 0.05)
    assert service.gallery.store.max_genuine_flagged("nike") == 0.05
    assert service.gallery.store.max_genuine_flagged("acme") is None
    service.add_product(rita, "nike", "cap")
    assert service.products(rita, "nike") == ["bag", "boot", "cap"]
    report = service.upload(rita, "nike", "cap", "fake", [query(tmp_path, "bag", "fake", 1)])
    assert len(report.added) == 1
    assert service.remove(rita, [ref.id, 999_999]) == 1  # unknown ids are ignored
    assert service.remove(rita, []) == 0
    assert ref.id not in {r.id for r in service.references(rita, "nike")}
    outcome = service.inspect(rita, "nike", "boot", [query(tmp_path, "boot", "fake", 2)])
    assert outcome.inspection.officer == "rita"
    assert len(service.quiz(rita, "nike", "boot", 4, 0)) == 4


def test_a_right_holder_chooses_the_model_of_their_brand(service: Service) -> None:
    rita, olga = service.user("rita"), service.user("olga")
    compared = service.compare_models(olga, "nike")  # anyone who sees the brand compares
    assert compared.choice is None and {m.name for m in compared.models} >= {"imagenet"}
    assert service.set_model(rita, "nike", "imagenet") == 0  # the default's vectors serve
    assert service.gallery.store.brand_model("nike") == "imagenet"
    assert service.gallery.store.brand_model("acme") is None
    entry = service.audit_entries(service.user("ada"), brand="nike")[-1]
    assert (entry.action, entry.actor, entry.via) == (AuditAction.BRAND_MODEL, "rita", "web")
    assert service.compare_models(rita, "nike").choice == "imagenet"


def test_officers_inspect_every_brand_and_read_references(service: Service,
                                                          tmp_path: Path) -> None:
    olga = service.user("olga")
    photo = query(tmp_path, "boot", "genuine", 3)
    for brand in ("nike", "acme"):
        outcome = service.inspect(olga, brand, "boot", [photo])
        assert outcome.inspection.brand == brand and outcome.inspection.product == "boot"
        assert service.health(olga, brand, "bag").genuine == 12
    assert len(service.quiz(olga, "acme", "bag", 2, 0)) == 2


def test_trainers_run_the_workshop_on_every_brand(service: Service) -> None:
    tom = service.user("tom")
    for brand in ("nike", "acme"):
        items = service.quiz(tom, brand, None, 6, 1)
        assert len(items) == 6 and {r.brand for r in items} == {brand}
        assert len(service.confusable_pairs(tom, brand, "bag", 2)) == 2
    assert service.inspections(tom) == []


def test_admins_manage_users_and_brands_but_never_themselves(service: Service) -> None:
    ada = service.user("ada")
    service.add_brand(ada, "  puma ")
    assert "puma" in service.brands(ada)
    added = service.add_user(ada, "pia", "right_holder", PASSWORD, ["puma"])
    assert added.brands == ("puma",) and service.login("pia", PASSWORD)
    assert service.brands(service.user("pia")) == ["puma"]
    assert [u.name for u in service.list_users(ada)] == sorted([*PEOPLE, "pia"])
    with pytest.raises(IprVisionError, match="cannot remove their own account"):
        service.remove_user(ada, "ada")
    assert service.user("ada") == ada
    assert service.remove_user(ada, "pia") is True
    # Admins may curate any brand.
    acme_ref = service.gallery.references("acme")[0].id
    service.set_note(ada, acme_ref, "checked")
    service.set_operating_point(ada, "acme", 0.02)
    assert service.gallery.references(ids=[acme_ref])[0].note == "checked"
    with pytest.raises(GalleryError, match="unknown brand"):
        service.add_product(ada, "nobrand", "x")
