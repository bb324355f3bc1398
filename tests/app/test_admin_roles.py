"""What admins do to users and brands beyond adding them (issue 16), and inspections that have
nothing to compare with, through the service with the real MobileNetV2 on a few generated
photos: an edit keeps the password and is audited with what it replaced; a brand is removed
with its references kept on record, never while a right holder depends on it; nothing is
recorded for an inspection under a brand without references."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from ipr_vision import Gallery
from ipr_vision.app.accounts import Accounts
from ipr_vision.app.service import Service
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError, IprVisionError, PermissionDenied
from ipr_vision.packages import SigningKey

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def service(tmp_path: Path, embedder: MobileNetV2Embedder,
            photo_folder: Path) -> Iterator[Service]:
    """Brand nike with 2 genuine and 2 fake boots and a point; brand empty with a product and
    no references; an admin, a right holder of nike and an officer."""
    opened = Service(Gallery(tmp_path / "g", embedder=embedder),
                     users=Accounts.open(tmp_path / "g", hasher=FAST))
    for label in ("genuine", "fake"):
        photos = sorted((photo_folder / "boot" / label).glob("*.jpg"))[:2]
        opened.gallery.add_photos(photos, brand="nike", product="boot", label=label)
    first = opened.gallery.references("nike")[0]
    opened.gallery.add_point(first.id, (10, 10, 60, 60), "stitching")
    opened.gallery.add_brand("empty")
    opened.gallery.add_product("empty", "box")
    opened.users.add("ada", "admin", PASSWORD)
    opened.users.add("rita", "right_holder", PASSWORD, ["nike"])
    opened.users.add("olga", "officer", PASSWORD)
    yield opened
    opened.close()


def test_an_edit_changes_role_and_brands_keeps_the_password_and_is_audited(
        service: Service) -> None:
    ada = service.user("ada")
    edited = service.edit_user(ada, "olga", "right_holder", ["nike", " nike "])
    assert (edited.role, edited.brands) == ("right_holder", ("nike",))
    assert service.user("olga") == edited and service.login("olga", PASSWORD)
    entry = service.audit.entries(actor="ada")[-1]
    assert (entry.action, entry.target) == ("user_edit", "olga")
    assert entry.detail["previous_role"] == "officer" and entry.detail["brands"] == ["nike"]
    service.reset_password(ada, "olga", "a brand new password")
    assert not service.login("olga", PASSWORD) and service.login("olga", "a brand new password")


@pytest.mark.parametrize(("name", "role", "brands", "error"), [
    ("rita", "right_holder", [], "needs at least one brand"),
    ("rita", "officer", ["nike"], "only right holders are assigned brands"),
    ("nobody", "officer", [], "no user named 'nobody'"),
    ("ada", "officer", [], "cannot change their own role"),
])
def test_an_edit_is_refused_in_plain_words_and_changes_nothing(
        service: Service, name: str, role: str, brands: list[str], error: str) -> None:
    before = service.users.users()
    with pytest.raises(IprVisionError, match=error) as refused:
        service.edit_user(service.user("ada"), name, role, brands)
    assert "--" not in str(refused.value)  # no command-line flag in a web message
    assert service.users.users() == before
    with pytest.raises(PermissionDenied):
        service.edit_user(service.user("rita"), "olga", "admin")


def test_a_brand_is_removed_with_its_references_kept_on_record(service: Service) -> None:
    ada = service.user("ada")
    refs = service.gallery.references("nike")
    with pytest.raises(IprVisionError, match="right holders rita are assigned"):
        service.remove_brand(ada, "nike", "licence ended")
    with pytest.raises(IprVisionError, match="say why"):
        service.remove_brand(ada, "nike", " ")
    assert service.gallery.references("nike") == refs
    service.edit_user(ada, "rita", "officer")
    with pytest.raises(PermissionDenied):
        service.remove_brand(service.user("olga"), "nike", "licence ended")

    assert service.remove_brand(ada, "nike", "licence ended") == 4
    assert "nike" not in service.gallery.brands()
    kept = service.gallery.removed("nike")
    assert sorted(r.reference.id for r in kept) == sorted(r.id for r in refs)
    assert all(r.reason == "licence ended" and r.removed_by == "ada" for r in kept)
    assert all(r.reference.path.is_file() for r in kept)  # photos kept until purged
    assert service.gallery.store.integrity_problems() == []
    actions = [(e.action, e.brand) for e in service.audit.entries(actor="ada")]
    assert actions[-2:] == [("references_remove", "nike"), ("brand_remove", "nike")]
    assert service.audit.verify().ok
    # The name can be used again, for a brand that starts empty.
    service.add_brand(ada, "nike")
    assert service.gallery.products("nike") == [] and service.gallery.references("nike") == []


def test_a_brand_named_by_signed_packages_is_refused_whole(service: Service,
                                                          tmp_path: Path) -> None:
    _, public = SigningKey.generate().write(tmp_path / "keys", "empty")
    service.gallery.trust_key(public, brand="empty", name="Empty Corp")
    with pytest.raises(GalleryError, match="signed-package records"):
        service.remove_brand(service.user("ada"), "empty", "licence ended")
    assert "empty" in service.gallery.brands() and service.gallery.products("empty") == ["box"]


def test_the_store_deletes_only_an_empty_brand(service: Service) -> None:
    store = service.gallery.store
    with pytest.raises(GalleryError, match="still holds references"):
        store.delete_brand("nike")
    assert store.delete_brand("nobody") is False
    assert store.delete_brand("empty") is True
    assert "empty" not in store.brands()


def test_nothing_is_recorded_for_a_brand_without_references(service: Service,
                                                            photo_folder: Path) -> None:
    olga = service.user("olga")
    photo = sorted((photo_folder / "boot" / "genuine").glob("*.jpg"))[-1]
    with pytest.raises(GalleryError, match="no reference photos yet"):
        service.inspect(olga, "empty", None, [photo])
    with pytest.raises(GalleryError, match="unknown brand"):
        service.inspect(olga, "nobrand", None, [photo])
    assert service.log.inspections() == []
    assert [e.action for e in service.audit.entries(actor="olga")] == []
    assert service.inspect(olga, "nike", None, [photo]).inspection.officer == "olga"


def test_a_quiz_leaves_out_photos_already_shown(service: Service) -> None:
    ada = service.user("ada")
    refs = service.gallery.references("nike", "boot")
    shown = {refs[0].id, refs[-1].id}  # one genuine, one fake
    for seed in range(10):
        drawn = service.quiz(ada, "nike", "boot", 4, seed, exclude=shown)
        assert drawn and not {r.id for r in drawn} & shown
