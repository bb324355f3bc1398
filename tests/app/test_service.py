"""The web app's operations, each checked against the user's role, with the real MobileNetV2 on
generated photos: who may see, inspect, curate, train and administer which brand (a refusal
changes nothing), what an inspection records, outcomes, quizzes, evidence packs; and the pure
parts beneath (inspection log, quiz drawing and grading, confusable pairs, new gallery calls)."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from ipr_vision import Gallery
from ipr_vision.app.accounts import Accounts
from ipr_vision.app.actors import web_actor
from ipr_vision.app.service import Service
from ipr_vision.domain import AuditAction, Label, Outcome, User
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError, IprVisionError, PermissionDenied, PhotoError
from ipr_vision.intake.photo import Photo
from ipr_vision.packages import SigningKey
from ipr_vision.results import Suggestion
from tests.conftest import new_database
from tests.support import given, query_photo

query = partial(query_photo, suffix=".jpg")
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
PASSWORD = "correct horse battery"
#: name: (role, brands); two officers so "own inspections" means something.
PEOPLE = {
    "olga": ("officer", ()), "oscar": ("officer", ()),
    "rita": ("right_holder", ("nike",)), "ron": ("right_holder", ("acme",)),
    "tom": ("trainer", ()), "ada": ("admin", ()),
}


def build(location: str | Path, embedder: MobileNetV2Embedder, photo_folder: Path) -> None:
    """Brands nike and acme (48 generated photos each), everyone in PEOPLE, one
    identification point per brand. Built once per backend; tests work on copies."""
    service = Service(Gallery(location, embedder=embedder),
                      users=Accounts.open(location, hasher=FAST))
    for brand in ("nike", "acme"):
        report = service.gallery.import_folder(photo_folder, brand=brand, added_by="setup")
        assert len(report.added) == 48 and not report.failed
        first = service.gallery.references(brand, "boot")[0]
        service.gallery.add_point(first.id, (10, 10, 60, 60), "the stitching", added_by="setup")
    for name, (role, brands) in PEOPLE.items():
        service.users.add(name, role, PASSWORD, brands)
    service.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
          photo_folder: Path) -> Path:
    path = tmp_path_factory.mktemp("service") / "g"
    build(path, embedder, photo_folder)
    return path


@pytest.fixture(scope="module")
def built_postgres(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
                   photo_folder: Path, postgres: str) -> str:
    url = new_database(postgres, tmp_path_factory.mktemp("service-pg") / "g")
    build(url, embedder, photo_folder)
    return url


def open_copy(built: Path, path: Path, embedder: MobileNetV2Embedder) -> Service:
    """A service over a copy of the built gallery: copying is much cheaper than embedding."""
    shutil.copytree(built, path)
    return Service(Gallery(path, embedder=embedder), users=Accounts.open(path, hasher=FAST))


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path, built: Path,
            embedder: MobileNetV2Embedder) -> Iterator[Service]:
    """A private copy of the built gallery, which the test may change: on each backend."""
    if request.param == "sqlite":
        opened = open_copy(built, tmp_path / "g", embedder)
    else:
        url = new_database(request.getfixturevalue("postgres"), tmp_path / "g",
                           template=request.getfixturevalue("built_postgres"))
        opened = Service(Gallery(url, embedder=embedder), users=Accounts.open(url, hasher=FAST))
    yield opened
    opened.close()




def snapshot(service: Service) -> dict[str, Any]:
    """Everything a refused operation must leave as it was: rows and files."""
    gallery, brands = service.gallery, service.gallery.brands()
    root = gallery.path
    return {
        "brands": brands,
        "products": {b: gallery.products(b) for b in brands},
        "refs": [(r.id, r.brand, r.product, r.label, r.note) for r in gallery.references()],
        "points": [(p.id, p.ref_id, p.box, p.note) for p in gallery.store.points()],
        "operating_points": {b: gallery.store.max_genuine_flagged(b) for b in brands},
        "models": {b: gallery.store.brand_model(b) for b in brands},
        "revisions": {b: gallery.store.revision(b) for b in brands},
        "users": service.users.users(),
        "inspections": [(i.id, i.outcome, i.outcome_by) for i in service.log.inspections()],
        "files": sorted(str(p.relative_to(root)) for p in root.rglob("*")
                        if ".sqlite" not in p.name),
    }


# -- the refusal matrix ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """What the operations act on, per brand: a reference, its point, a recorded inspection
    and the photo and suggestion it made."""

    photo: Path
    download: Path
    package: Path  # a signed package of acme, for the import that admins alone may run
    ref: dict[str, int]
    point: dict[str, int]
    inspection: dict[str, str]
    found: dict[str, tuple[Photo, Suggestion]]


Op = Callable[[Service, User, Ctx, str], object]

SEE: dict[str, Op] = {
    "products": lambda s, u, c, b: s.products(u, b),
    "references": lambda s, u, c, b: s.references(u, b),
    "references_of_product": lambda s, u, c, b: s.references(u, b, "boot"),
    "reference": lambda s, u, c, b: s.reference(u, c.ref[b]),
    "photo": lambda s, u, c, b: s.photo(u, c.ref[b]),
    "points": lambda s, u, c, b: s.points(u, c.ref[b]),
    "health": lambda s, u, c, b: s.health(u, b, "boot"),
    "compare_models": lambda s, u, c, b: s.compare_models(u, b),
}
INSPECT: dict[str, Op] = {
    "inspect": lambda s, u, c, b: s.inspect(u, b, None, [c.photo]),
    "explain": lambda s, u, c, b: s.explain(u, *c.found[b]),
    "evidence_pack": lambda s, u, c, b: s.evidence_pack(u, c.inspection[b], *c.found[b], None,
                                                        c.download),
}
MANAGE: dict[str, Op] = {
    "upload": lambda s, u, c, b: s.upload(u, b, "boot", "genuine", [c.photo]),
    "add_product": lambda s, u, c, b: s.add_product(u, b, "cap"),
    "remove": lambda s, u, c, b: s.remove(u, [c.ref[b]]),
    "remove_with_own": lambda s, u, c, b: s.remove(u, [c.ref["acme"], c.ref["nike"]]),
    "set_note": lambda s, u, c, b: s.set_note(u, c.ref[b], "looks real"),
    "add_point": lambda s, u, c, b: s.add_point(u, c.ref[b], (1, 1, 20, 20), "the logo"),
    "remove_point": lambda s, u, c, b: s.remove_point(u, c.ref[b], c.point[b]),
    "set_operating_point": lambda s, u, c, b: s.set_operating_point(u, b, 0.05),
    "set_model": lambda s, u, c, b: s.set_model(u, b, "imagenet"),
    "compare_models_computing": lambda s, u, c, b: s.compare_models(u, b, compute=True),
    "removed": lambda s, u, c, b: s.removed(u, b),
    "adopt_inspection": lambda s, u, c, b: s.adopt_inspection(u, c.inspection[b]),
}
#: Signed packages: a brand's right holder (and admins) export them and see its keys and
#: packages; officers and trainers have no part in them.
PACKAGES: dict[str, Op] = {
    "export_package": lambda s, u, c, b: s.export_package(u, b, c.download),
    "trusted_keys": lambda s, u, c, b: s.trusted_keys(u, b),
    "packages": lambda s, u, c, b: s.packages(u, b),
}
WORKSHOP: dict[str, Op] = {
    "quiz": lambda s, u, c, b: s.quiz(u, b, None, 4, 0),
    "grade_quiz": lambda s, u, c, b: s.grade_quiz(u, [c.ref[b]], ["genuine"]),
    "confusable_pairs": lambda s, u, c, b: s.confusable_pairs(u, b, "boot"),
}
RECORDS: dict[str, Op] = {
    "inspection": lambda s, u, c, b: s.inspection(u, c.inspection[b]),
    "confirm": lambda s, u, c, b: s.set_outcome(u, c.inspection[b], "confirmed_fake"),
    "seize": lambda s, u, c, b: s.set_outcome(u, c.inspection[b], "seized"),
}
ADMIN: dict[str, Op] = {
    "add_brand": lambda s, u, c, b: s.add_brand(u, "puma"),
    "add_user": lambda s, u, c, b: s.add_user(u, "mallory", "admin", PASSWORD),
    "remove_user": lambda s, u, c, b: s.remove_user(u, "ada"),
    "list_users": lambda s, u, c, b: s.list_users(u),
    "purge": lambda s, u, c, b: s.purge(u, [c.ref[b]]),
    "audit_entries": lambda s, u, c, b: s.audit_entries(u),
    "verify_audit": lambda s, u, c, b: s.verify_audit(u),
    "import_package": lambda s, u, c, b: s.import_package(u, c.package),
    "edit_user": lambda s, u, c, b: s.edit_user(u, "olga", "admin"),
    "reset_password": lambda s, u, c, b: s.reset_password(u, "ada", "a new long password"),
    "remove_brand": lambda s, u, c, b: s.remove_brand(u, b, "licence ended"),
}
OPS = {**SEE, **INSPECT, **MANAGE, **PACKAGES, **WORKSHOP, **RECORDS, **ADMIN}
EVERYTHING = (SEE, INSPECT, MANAGE, PACKAGES, WORKSHOP, RECORDS, ADMIN)

#: (user, brand the operation is about, operations that must be refused). The nike
#: inspection is olga's, the acme one oscar's.
REFUSALS = [
    ("ron", "nike", EVERYTHING),  # another brand's right holder: nothing at all
    ("rita", "acme", EVERYTHING),
    ("olga", "nike", (MANAGE, PACKAGES, ADMIN)),  # officers inspect, they do not curate
    ("olga", "acme", (RECORDS,)),  # another officer's inspection
    ("tom", "nike", (INSPECT, MANAGE, PACKAGES, RECORDS, ADMIN)),  # trainers only train
    ("rita", "nike", (ADMIN, {"seize": RECORDS["seize"]})),  # confirms, never seizes
]
REFUSED = [(user, brand, op) for user, brand, groups in REFUSALS
           for group in groups for op in group]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, built: Path,
           embedder: MobileNetV2Embedder) -> Iterator[tuple[Service, Ctx]]:
    """One service for the refusal matrix: a refusal must change nothing, so none of these
    tests may leave a trace for the next (each checks that it did not)."""
    root = tmp_path_factory.mktemp("shared")
    service = open_copy(built, root / "g", embedder)
    service.signing_keys = root / "keys"
    for brand in ("nike", "acme"):
        SigningKey.generate().write(service.signing_keys, brand)
    package = service.gallery.export_package("acme", service.signing_keys / "acme.key",
                                             root / "acme-1.zip").path
    photo = query(root / "in", "boot", "fake", 80_001)
    found, inspection, ref, point = {}, {}, {}, {}
    for brand, officer in (("nike", "olga"), ("acme", "oscar")):
        outcome = service.inspect(service.user(officer), brand, None, [photo])
        inspection[brand] = outcome.inspection.id
        inspected = outcome.inspected(0)
        assert not isinstance(inspected, str), inspected
        found[brand] = inspected
        point[brand] = service.gallery.store.points(brand=brand)[0].id
        ref[brand] = service.gallery.store.points(brand=brand)[0].ref_id
    yield service, Ctx(photo, root / "downloads", Path(package), ref, point, inspection,
                       found)
    service.close()


@pytest.mark.parametrize(("name", "brand", "op"), REFUSED,
                         ids=[f"{n}-{b}-{o}" for n, b, o in REFUSED])
def test_refused_and_nothing_changes(shared: tuple[Service, Ctx], name: str, brand: str,
                                     op: str) -> None:
    service, ctx = shared
    before = snapshot(service)
    with pytest.raises(PermissionDenied):
        OPS[op](service, service.user(name), ctx, brand)
    assert snapshot(service) == before
    assert not ctx.download.exists()


def test_the_refusal_matrix_covers_every_operation() -> None:
    """A new Service method must be added to the matrix (or here, with the reason), those it
    inherits (the signed packages') included."""
    public = {name for cls in Service.__mro__ for name in vars(cls) if not name.startswith("_")}
    covered = {{"remove_with_own": "remove", "compare_models_computing": "compare_models"}.get(
        op, op) for op in OPS}
    covered |= {"set_outcome", "references"}
    not_per_brand = {"open", "close", "login", "login_refused", "user", "brands", "inspections",
                     "stocked_brands",  # filtered by the user, as brands is
                     "has_users", "location", "reembed_stale",  # the server start, no user
                     "settle_interrupted_writes",  # the server start too
                     "identify",  # searches only the brands the user may inspect
                     "audit",  # the trail itself, for the app's own entries
                     "item_verdict"}  # of a record the caller already holds
    assert public - covered - not_per_brand == set()


def test_who_may_see_which_brand(shared: tuple[Service, Ctx]) -> None:
    service, ctx = shared
    assert service.brands(service.user("rita")) == ["nike"]
    assert service.brands(service.user("ron")) == ["acme"]
    for name in ("olga", "tom", "ada"):
        assert service.brands(service.user(name)) == ["acme", "nike"]
    for name in ("olga", "oscar", "tom", "ada", "ron"):  # officers and trainers read all
        assert service.reference(service.user(name), ctx.ref["acme"]).brand == "acme"
    assert service.products(service.user("tom"), "nike") == ["bag", "boot"]


def test_unknown_or_removed_users_have_no_access(service: Service) -> None:
    for name in (None, "", "ghost"):
        with pytest.raises(PermissionDenied, match="please log in again"):
            service.user(name)
    assert service.login("olga", PASSWORD) and not service.login("olga", "wrong password")
    assert not service.login("ghost", PASSWORD)
    ada = service.user("ada")
    assert service.remove_user(ada, "olga") is True
    with pytest.raises(PermissionDenied):
        service.user("olga")  # a session that is still open gets nothing more
    assert not service.login("olga", PASSWORD)
    assert service.remove_user(ada, "olga") is False


# -- what each role may do -------------------------------------------------------------------


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


# -- inspecting and recording ----------------------------------------------------------------


def test_inspect_records_officer_photos_and_verdicts(service: Service, tmp_path: Path) -> None:
    olga = service.user("olga")
    fake, genuine = query(tmp_path, "boot", "fake", 4), query(tmp_path, "bag", "genuine", 5)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    calls: list[tuple[int, int]] = []
    outcome = service.inspect(olga, "nike", None, [fake, broken, genuine],
                              progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    record = service.log.get(outcome.inspection.id)
    assert record == outcome.inspection
    assert (record.officer, record.brand, record.product, record.outcome) == (
        "olga", "nike", None, None)
    assert [p.name for p in record.photos] == ["q-boot-fake-4.jpg", "broken.jpg",
                                               "q-bag-genuine-5.jpg"]
    first, bad, last = record.photos
    assert (first.verdict, first.product) == ("counterfeit", "boot")
    assert (last.verdict, last.product) == ("genuine", "bag")
    assert given(first.p_counterfeit) > 0.5 > given(last.p_counterfeit)
    assert given(first.suggestion)["verdict"] == "counterfeit"
    assert given(first.suggestion)["brand"] == "nike"
    assert bad.error and "broken.jpg" in bad.error and bad.verdict is None
    assert bad.sha256 is None and bad.path is None and bad.suggestion is None
    for photo, source in ((first, fake), (last, genuine)):
        data = source.read_bytes()
        assert photo.sha256 == hashlib.sha256(data).hexdigest() and photo.error is None
        assert given(photo.path).read_bytes() == data
        assert given(photo.path).parent == service.gallery.path / "inspections" / photo.sha256[:2]
    assert isinstance(outcome.results[1][1], PhotoError)
    assert isinstance(outcome.results[0][0], Photo)
    assert outcome.results[0][1].verdict == "counterfeit"
    # The same photo inspected again is stored once.
    again = service.inspect(olga, "nike", "boot", [fake])
    assert again.inspection.photos[0].path == first.path
    assert len(list((service.gallery.path / "inspections").rglob("*.jpg"))) == 2


def test_inspect_needs_photos_and_a_real_product(service: Service, tmp_path: Path) -> None:
    olga = service.user("olga")
    with pytest.raises(IprVisionError, match="no photos to inspect"):
        service.inspect(olga, "nike", None, [])
    with pytest.raises(GalleryError, match="no product 'cap'"):
        service.inspect(olga, "nike", "cap", [query(tmp_path, "boot", "fake", 6)])
    with pytest.raises(GalleryError, match="unknown brand"):
        service.inspect(olga, "puma", None, [query(tmp_path, "boot", "fake", 6)])
    assert service.log.inspections() == []


def test_outcomes_by_role(service: Service, tmp_path: Path) -> None:
    photo = query(tmp_path, "boot", "fake", 7)
    user = service.user
    olgas = service.inspect(user("olga"), "nike", None, [photo]).inspection.id
    oscars = service.inspect(user("oscar"), "acme", None, [photo]).inspection.id

    def outcome(inspection_id: str) -> tuple[str | None, str | None, str]:
        found = service.log.get(inspection_id)
        return found.outcome, found.outcome_by, found.outcome_note

    service.set_outcome(user("olga"), olgas, "seized", "  200 pairs  ")
    assert outcome(olgas) == ("seized", "olga", "200 pairs")
    refused = [("oscar", olgas, "released"), ("olga", oscars, "seized"),
               ("rita", olgas, "seized"), ("rita", oscars, "confirmed_genuine"),
               ("olga", olgas, "confirmed_fake"), ("tom", olgas, "seized"),
               ("ron", olgas, "confirmed_fake"), ("ada", olgas, "burned"),
               ("olga", olgas, "")]
    for name, inspection_id, result in refused:
        with pytest.raises(IprVisionError):
            service.set_outcome(user(name), inspection_id, result)
        assert outcome(olgas) == ("seized", "olga", "200 pairs"), (name, result)
        assert outcome(oscars) == (None, None, ""), (name, result)
    service.set_outcome(user("rita"), olgas, "confirmed_fake")  # a second fact, not a change
    assert outcome(olgas) == ("confirmed_fake", "rita", "")
    record = service.log.get(olgas)
    assert [(e.outcome, e.by, e.role) for e in record.history] == [
        ("seized", "olga", "officer"), ("confirmed_fake", "rita", "right_holder")]
    assert record.decision is not None and record.decision.by == "olga"  # still the officer's
    service.set_outcome(user("ron"), oscars, "confirmed_genuine", "original")
    service.set_outcome(user("ada"), oscars, "released")
    assert outcome(oscars) == ("released", "ada", "")
    audited = [(e.actor, e.target, e.detail["outcome"])
               for e in service.audit.entries() if e.action == "outcome"]
    assert audited == [("olga", olgas, "seized"), ("rita", olgas, "confirmed_fake"),
                       ("ron", oscars, "confirmed_genuine"), ("ada", oscars, "released")]
    with pytest.raises(IprVisionError, match="no inspection 'nope'"):
        service.set_outcome(user("ada"), "nope", "seized")


def test_a_confirmed_inspection_becomes_references_once_with_its_provenance(
        service: Service, tmp_path: Path) -> None:
    user = service.user
    photos = [query(tmp_path, "boot", "fake", 11), query(tmp_path, "boot", "fake", 12)]
    made = service.inspect(user("olga"), "nike", "boot", photos).inspection
    with pytest.raises(GalleryError, match="no confirmation"):
        service.adopt_inspection(user("rita"), made.id)
    service.set_outcome(user("olga"), made.id, "seized")
    with pytest.raises(GalleryError, match="no confirmation"):  # a decision is not a label
        service.adopt_inspection(user("rita"), made.id)
    service.set_outcome(user("rita"), made.id, "confirmed_fake")
    before = snapshot(service)
    for name in ("olga", "ron", "tom"):  # an officer, another brand's holder, a trainer
        with pytest.raises(PermissionDenied):
            service.adopt_inspection(user(name), made.id)
    assert snapshot(service) == before

    report = service.adopt_inspection(user("rita"), made.id)
    assert [name for name, _ in report.added] == [p.name for p in photos]
    adopted = service.gallery.references(ids=[ref for _, ref in report.added])
    assert {(r.brand, r.product, r.label, r.photo_group) for r in adopted} == {
        ("nike", "boot", "fake", f"group:inspection-{made.id}")}
    assert all(f"inspection {made.id}" in r.note and "officer olga" in r.note
               and "confirmed_fake by rita" in r.note for r in adopted)
    again = service.adopt_inspection(user("ada"), made.id)  # nothing twice
    assert not again.added and len(again.duplicates) == 2
    # The next inspection of the same item finds it among the fakes.
    found = service.inspect(user("oscar"), "nike", "boot", photos[:1]).results[0][1]
    assert isinstance(found, Suggestion)
    assert found.nearest_fake[0].ref in {ref for _, ref in report.added}
    assert found.nearest_fake[0].similarity > 0.99
    notes = [e for e in service.audit.entries(action=AuditAction.NOTE)
             if e.actor == "rita" and made.id in e.detail.get("note", "")]
    assert len(notes) == 2


def test_an_unnamed_item_is_matched_among_the_brands_the_user_may_inspect(
        service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = query(tmp_path, "bag", "genuine", 13)
    embedded: list[int] = []
    real = MobileNetV2Embedder.embed

    def counted(self: MobileNetV2Embedder, images: Any) -> Any:
        embedded.append(len(images))
        return real(self, images)

    monkeypatch.setattr(MobileNetV2Embedder, "embed", counted)
    found = service.identify(service.user("olga"), photo)
    assert len(found) == 3 and found[0].product == "bag"
    # Then judged under the brand proposed: the photo is not embedded a second time.
    judged = service.inspect(service.user("olga"), found[0].brand, found[0].product, [photo])
    assert isinstance(judged.results[0][1], Suggestion) and embedded == [1]
    monkeypatch.undo()
    assert [c.similarity for c in found] == sorted((c.similarity for c in found), reverse=True)
    assert {c.brand for c in found} <= {"nike", "acme"}
    assert {c.brand for c in service.identify(service.user("rita"), photo)} == {"nike"}
    with pytest.raises(GalleryError, match="no brand you may inspect"):
        service.identify(service.user("tom"), photo)  # a trainer inspects nothing


class StoppedBeforeCommit(BaseException):
    """What a process killed between the audit entry and the record's commit leaves, raised
    where the kill would land (not an Exception, as a kill is not one either)."""


def test_writes_are_audited_before_they_commit_and_settled_when_they_never_do(
        service: Service, tmp_path: Path) -> None:
    """An entry whose write never committed is said so in the trail (record_lost), once; a
    record nobody audited is named, never settled; and the chain stays sound."""
    from ipr_vision.app.record_trail import settle, unsettled

    olga, ada = service.user("olga"), service.user("ada")
    made = service.inspect(olga, "nike", None, [query(tmp_path, "boot", "fake", 9)]).inspection
    service.set_outcome(olga, made.id, "seized")
    assert unsettled(service.log, service.audit) == []

    def killed(target: str) -> None:
        service.audit.append(web_actor(olga), AuditAction.OUTCOME, brand="nike", target=target,
                             outcome="released", note="")
        raise StoppedBeforeCommit

    with pytest.raises(StoppedBeforeCommit):
        service.log.add_outcome(made.id, Outcome.RELEASED, "olga", "officer",
                                before_commit=killed)
    assert [e.outcome for e in service.log.get(made.id).history] == ["seized"]
    assert [(u.photos, u.outcomes) for u in unsettled(service.log, service.audit)] == [(0, 1)]
    assert service.verify_audit(ada).ok  # settles first
    lost = service.audit.entries(action=AuditAction.RECORD_LOST)
    assert [(e.actor, e.target, e.detail) for e in lost] == [
        ("ipr-vision", made.id, {"photos": 0, "outcomes": 1})]
    assert settle(service.log, service.audit) == []  # once
    assert len(service.audit.entries(action=AuditAction.RECORD_LOST)) == 1

    # A record with no entry (never written by ipr-vision) is named and left for a person.
    service.log.add_outcome(made.id, Outcome.RELEASED, "olga", "officer")
    assert [(u.inspection_id, u.outcomes) for u in settle(service.log, service.audit)] == [
        (made.id, -1)]
    assert "no audit entry" in unsettled(service.log, service.audit)[0].describe()
    assert len(service.audit.entries(action=AuditAction.RECORD_LOST)) == 1
    assert service.audit.verify().ok


def test_inspections_each_role_sees(service: Service, tmp_path: Path) -> None:
    photo = query(tmp_path, "bag", "genuine", 8)
    made = [service.inspect(service.user(officer), brand, None, [photo]).inspection.id
            for officer, brand in (("olga", "nike"), ("oscar", "acme"), ("oscar", "nike"))]
    olga_nike, oscar_acme, oscar_nike = made
    expected = {  # newest first
        "olga": [olga_nike], "oscar": [oscar_nike, oscar_acme],
        "rita": [oscar_nike, olga_nike], "ron": [oscar_acme], "tom": [],
        "ada": [oscar_nike, oscar_acme, olga_nike],
    }
    for name, ids in expected.items():
        user = service.user(name)
        assert [i.id for i in service.inspections(user)] == ids, name
        for inspection_id in made:
            if inspection_id in ids:
                assert service.inspection(user, inspection_id).id == inspection_id
            else:
                with pytest.raises(PermissionDenied):
                    service.inspection(user, inspection_id)
    assert [i.id for i in service.inspections(service.user("ada"), limit=1)] == [oscar_nike]


def test_evidence_pack_is_kept_and_offered_as_a_zip(service: Service, tmp_path: Path) -> None:
    olga = service.user("olga")
    outcome = service.inspect(olga, "nike", None, [query(tmp_path, "boot", "fake", 9)])
    inspected = outcome.inspected(0)
    assert not isinstance(inspected, str), inspected
    photo, suggestion = inspected
    archive = service.evidence_pack(olga, outcome.inspection.id, photo, suggestion, None,
                                    tmp_path / "dl")
    assert archive.parent == tmp_path / "dl" and archive.suffix == ".zip"
    kept = list((service.gallery.path / "evidence" / "olga").iterdir())
    assert len(kept) == 1 and kept[0].is_dir()
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        sums = zipped.read(f"{kept[0].name}/SHA256SUMS").decode()
    assert {f"{kept[0].name}/{n}" for n in ("evidence.json", "evidence.pdf", "SHA256SUMS")} \
        <= names
    assert names == {f"{kept[0].name}/{p.relative_to(kept[0])}"
                     for p in kept[0].rglob("*") if p.is_file()}
    assert archive.name == f"evidence-{kept[0].name}.zip"
    assert kept[0].name.startswith(outcome.inspection.id)  # the pack names its record
    document = json.loads((kept[0] / "evidence.json").read_text())
    assert document["inspection"] == outcome.inspection.id
    [entry] = service.audit.entries(actor="olga")[-1:]
    assert (entry.action, entry.target, entry.detail["pack"]) == (
        "evidence_pack", outcome.inspection.id, kept[0].name)
    assert "evidence.pdf" in sums and "evidence.json" in sums
    assert (kept[0] / "photo.jpg").read_bytes() == photo.data


# -- quizzes and confusable pairs ------------------------------------------------------------


def test_quiz_through_the_service(service: Service) -> None:
    tom = service.user("tom")
    items = service.quiz(tom, "nike", "boot", 6, 3)
    assert [r.id for r in items] == [r.id for r in service.quiz(tom, "nike", "boot", 6, 3)]
    assert [r.label for r in items].count(Label.FAKE) == 3 and len(items) == 6
    assert {(r.brand, r.product) for r in items} == {("nike", "boot")}
    assert len({r.photo_group for r in items}) == 6
    ids = [r.id for r in items]
    perfect = service.grade_quiz(tom, ids, [r.label for r in items])
    assert (perfect.score, perfect.total) == (6, 6)
    lazy = service.grade_quiz(tom, ids, ["fake"] * 6)
    assert (lazy.score, lazy.total) == (3, 6)
    skipped = service.grade_quiz(tom, ids, [None] * 6)
    assert skipped.score == 0 and [a.answer for a in skipped.answers] == [None] * 6
    with pytest.raises(IprVisionError, match="5 answers for 6 quiz photos"):
        service.grade_quiz(tom, ids, ["fake"] * 5)
    assert len(service.quiz(tom, "nike", "boot", 1000, 0)) == 24  # 12 groups of each
    service.remove(service.user("ada"), [ids[2]])
    with pytest.raises(IprVisionError, match="removed from the gallery meanwhile"):
        service.grade_quiz(tom, ids, [r.label for r in items])


def test_confusable_pairs_of_a_product(service: Service) -> None:
    pairs = service.confusable_pairs(service.user("rita"), "nike", "boot", 3)
    assert len(pairs) == 3
    assert all(g.label == "genuine" and f.label == "fake" for g, f, _ in pairs)
    assert all((g.brand, g.product, f.product) == ("nike", "boot", "boot") for g, f, _ in pairs)
    sims = [s for _, _, s in pairs]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
    used = [r.id for g, f, _ in pairs for r in (g, f)]
    assert len(used) == len(set(used))
    assert len(service.gallery.confusable_pairs("nike", "boot", 100)) == 12
    with pytest.raises(GalleryError, match="no product 'cap'"):
        service.gallery.confusable_pairs("nike", "cap")
    with pytest.raises(GalleryError, match="unknown brand"):
        service.gallery.confusable_pairs("puma", "boot")


# -- the new Gallery calls -------------------------------------------------------------------


def test_gallery_add_brand_and_product(service: Service, tmp_path: Path) -> None:
    gallery = service.gallery
    with pytest.raises(GalleryError, match="a brand needs a name"):
        gallery.add_brand("   ")
    gallery.add_brand(" puma ")
    gallery.add_brand("puma")  # twice is fine
    assert gallery.brands() == ["acme", "nike", "puma"] and gallery.products("puma") == []
    with pytest.raises(GalleryError, match="unknown brand 'adidas'"):
        gallery.add_product("adidas", "shoe")
    assert "adidas" not in gallery.brands()
    with pytest.raises(GalleryError, match="a product needs a name"):
        gallery.add_product("puma", " ")
    gallery.add_product("puma", " shoe ")
    assert gallery.products("puma") == ["shoe"]
    assert gallery.health("puma", "shoe").genuine == 0


def test_a_new_product_of_a_loaded_brand_is_usable_at_once(service: Service,
                                                           tmp_path: Path) -> None:
    """The brand's index was loaded before the product existed (by an inspection)."""
    gallery = service.gallery
    photo = query(tmp_path, "boot", "fake", 10)
    gallery.inspect(photo, brand="nike")
    gallery.add_product("nike", "cap")
    health = gallery.health("nike", "cap")
    assert (health.genuine, health.fake, health.mode) == (0, 0, None)
    assert gallery.confusable_pairs("nike", "cap") == []
    assert gallery.inspect(photo, brand="nike", product="cap").verdict == "inconclusive"
    assert gallery.health("nike", "boot").genuine == 12  # the others are still calibrated
    assert gallery.inspect(photo, brand="nike").product == "boot"


def test_gallery_references_by_ids(service: Service) -> None:
    gallery = service.gallery
    nike, acme = gallery.references("nike"), gallery.references("acme")
    assert gallery.references(ids=[]) == []
    assert gallery.references(ids=[999_999]) == []
    picked = gallery.references(ids=iter([acme[3].id, nike[5].id, 999_999, nike[5].id]))
    assert picked == sorted([nike[5], acme[3]], key=lambda r: r.id)
    assert gallery.references("nike", ids=[acme[3].id, nike[5].id]) == [nike[5]]
    assert gallery.references("nike", "bag", ids=[r.id for r in nike]) == [
        r for r in nike if r.product == "bag"]


def test_more_photos_of_one_item_join_its_inspection_once(service: Service,
                                                          tmp_path: Path) -> None:
    olga, oscar = service.user("olga"), service.user("oscar")
    front, side = query(tmp_path, "boot", "fake", 8), query(tmp_path, "boot", "fake", 9)
    first = service.inspect(olga, "nike", None, [front])
    again = service.inspect(olga, "nike", None, [front, side],
                            inspection_id=first.inspection.id)
    assert again.inspection.id == first.inspection.id
    assert [p.name for p in again.inspection.photos] == [front.name, side.name]
    assert len(again.results) == 1  # only the new view was inspected
    nothing = service.inspect(olga, "nike", None, [side, front],
                              inspection_id=first.inspection.id)
    assert nothing.results == [] and len(nothing.inspection.photos) == 2
    assert len(service.log.inspections()) == 1
    with pytest.raises(PermissionDenied):  # another officer's item
        service.inspect(oscar, "nike", None, [side], inspection_id=first.inspection.id)
    with pytest.raises(IprVisionError, match="start a new inspection"):  # another brand
        service.inspect(olga, "acme", None, [side], inspection_id=first.inspection.id)
    entries = [e for e in service.audit.entries() if e.action == "inspection"]
    assert [(e.target, e.detail["added_to_earlier"], len(e.detail["photos"]))
            for e in entries] == [(first.inspection.id, False, 1), (first.inspection.id, True, 1)]
