"""The refusal matrix: every operation of the service refused to each role and brand it is not
for, changing nothing; and who may see which brand, or log in at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipr_vision.app.service import Service
from ipr_vision.domain import User
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import PermissionDenied
from ipr_vision.intake.photo import Photo
from ipr_vision.packages import SigningKey
from ipr_vision.results import Suggestion
from tests.app.conftest import PASSWORD, open_copy, query, snapshot


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
