"""Signed brand packages through the web app's service, with the real MobileNetV2 on generated
photos: a right holder's server signs packages of their brand with the key it keeps, a customs
server's admin imports them, and each reference then says which package brought it. Who may do
which is checked here from both sides; the refusal matrix of ``test_service_refusals`` covers
the rest."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipr_vision import Gallery
from ipr_vision.app.accounts import Accounts
from ipr_vision.app.service import Service
from ipr_vision.domain import Actor
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError, IprVisionError, PackageError, PermissionDenied
from ipr_vision.packages import MANIFEST, SigningKey
from tests.app.conftest import FAST, PASSWORD, snapshot
from tests.support import query_photo, write_photo_folder

PEOPLE = {"rita": ("right_holder", ("nike",)), "ron": ("right_holder", ("acme",)),
          "olga": ("officer", ()), "tom": ("trainer", ()), "ada": ("admin", ())}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder) -> Path:
    """``holder/``: the right holder's server (nike, 12 generated photos; acme, empty) with the
    brand's key in ``keys/``; ``customs/``: an empty gallery that trusts that key for nike.
    Both have everyone in PEOPLE. Built once; tests work on copies."""
    root = tmp_path_factory.mktemp("packages")
    photos = write_photo_folder(root / "photos", per_cell=3)
    _, public = SigningKey.generate().write(root / "keys", "nike")
    for side in ("holder", "customs"):
        service = Service(Gallery(root / side, embedder=embedder),
                          users=Accounts.open(root / side, hasher=FAST))
        service.gallery.add_brand("acme")
        if side == "holder":
            report = service.gallery.import_folder(photos, brand="nike", added_by="rita")
            assert len(report.added) == 12
        else:
            service.gallery.trust_key(public, brand="nike", name="Nike Inc.")
        for name, (role, brands) in PEOPLE.items():
            service.users.add(name, role, PASSWORD, brands)
        service.close()
    return root


def opened(built: Path, copy: Path, side: str, embedder: MobileNetV2Embedder) -> Service:
    if not copy.exists():
        shutil.copytree(built, copy)
    return Service(Gallery(copy / side, embedder=embedder),
                   users=Accounts.open(copy / side, hasher=FAST), signing_keys=copy / "keys")


@pytest.fixture
def sides(tmp_path: Path, built: Path,
          embedder: MobileNetV2Embedder) -> Iterator[tuple[Service, Service]]:
    """The right holder's service and the customs one, over private copies."""
    holder = opened(built, tmp_path / "copy", "holder", embedder)
    customs = opened(built, tmp_path / "copy", "customs", embedder)
    yield holder, customs
    holder.close()
    customs.close()


def test_right_holder_downloads_signed_packages_of_their_brand(
        sides: tuple[Service, Service], tmp_path: Path) -> None:
    holder, _ = sides
    rita = holder.user("rita")
    full = holder.export_package(rita, "nike", tmp_path / "dl" / "1")
    assert Path(full.path) == tmp_path / "dl" / "1" / "package-nike-1.zip"
    assert (full.sequence, full.kind, full.since, full.references) == (1, "full", None, 12)
    with zipfile.ZipFile(full.path) as package:
        assert MANIFEST in package.namelist()
    key = SigningKey.read(holder.location.parent / "keys" / "nike.key")
    assert full.key == key.public.fingerprint
    ref = holder.references(rita, "nike")[0]
    holder.set_note(rita, ref.id, "stitching: 8 per inch")
    delta = holder.export_package(rita, "nike", tmp_path / "dl" / "2", since=1)
    assert (delta.sequence, delta.kind, delta.since, delta.references) == (2, "delta", 1, 1)
    assert Path(delta.path).name == "package-nike-2.zip"
    _, written = holder.packages(rita, "nike")
    assert [p.sequence for p in written] == [1, 2]
    assert [p.created_by for p in written] == ["rita", "rita"]
    exports = [e for e in holder.audit.entries() if e.action == "package_export"]
    assert [(e.actor, e.role, e.via, e.target) for e in exports] == [
        ("rita", "right_holder", "web", "#1"), ("rita", "right_holder", "web", "#2")]
    # An admin may export too (under their own name); nobody else.
    assert holder.export_package(holder.user("ada"), "nike", tmp_path / "dl" / "3").sequence == 3
    before = snapshot(holder)
    for name in ("ron", "olga", "tom"):
        with pytest.raises(PermissionDenied, match="may not export packages of brand 'nike'"):
            holder.export_package(holder.user(name), "nike", tmp_path / "refused")
    assert snapshot(holder) == before and not (tmp_path / "refused").exists()
    assert len(holder.packages(rita, "nike")[1]) == 3


def test_export_needs_the_brands_key_on_the_server(sides: tuple[Service, Service],
                                                    tmp_path: Path) -> None:
    holder, _ = sides
    ada = holder.user("ada")
    with pytest.raises(IprVisionError, match="no signing key for brand 'acme' on this server"):
        holder.export_package(ada, "acme", tmp_path / "dl")  # the folder holds nike.key only
    with pytest.raises(GalleryError, match="unknown brand"):
        holder.export_package(ada, "../keys/nike", tmp_path / "dl")
    holder.signing_keys = None
    with pytest.raises(IprVisionError, match="--signing-keys"):
        holder.export_package(holder.user("rita"), "nike", tmp_path / "dl")
    assert holder.packages(ada, "nike")[1] == []


def test_admin_imports_a_package_and_references_say_where_they_came_from(
        sides: tuple[Service, Service], tmp_path: Path) -> None:
    holder, customs = sides
    package = Path(holder.export_package(holder.user("rita"), "nike", tmp_path / "dl").path)
    before = snapshot(customs)
    for name in ("rita", "ron", "olga", "tom"):
        with pytest.raises(PermissionDenied, match="only an admin imports"):
            customs.import_package(customs.user(name), package)
    assert snapshot(customs) == before

    ada = customs.user("ada")
    done = customs.import_package(ada, package)
    assert (done.status, done.brand, done.sequence, done.signed_by) == ("applied", "nike", 1,
                                                                        "rita")
    assert len(done.added) == 12 and not done.changed and not done.withdrawn
    refs = customs.references(ada, "nike")
    assert {r.origin.sequence if r.origin else None for r in refs} == {1}
    assert {r.origin.signed_by if r.origin else None for r in refs} == {"rita"}
    [imported], [] = customs.packages(ada, "nike")
    assert (imported.sequence, imported.imported_by, imported.key) == (1, "ada", done.key)
    [entry] = [e for e in customs.audit.entries() if e.action == "package_import"]
    assert (entry.actor, entry.via, entry.target) == ("ada", "web", "#1")
    assert customs.import_package(ada, package).status == "already imported"

    # An officer's suggestion names the package behind each nearest reference.
    olga = customs.user("olga")
    outcome = customs.inspect(olga, "nike", None, [query_photo(tmp_path, "boot", "fake", 7)])
    inspected = outcome.inspected(0)
    assert not isinstance(inspected, str), inspected
    nearest = [*inspected[1].nearest_genuine, *inspected[1].nearest_fake]
    assert nearest and all(m.origin is not None and m.origin.sequence == 1 for m in nearest)


def test_a_refused_package_changes_nothing_and_says_why(sides: tuple[Service, Service],
                                                        tmp_path: Path) -> None:
    holder, customs = sides
    package = Path(holder.export_package(holder.user("rita"), "nike", tmp_path / "dl").path)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(tampered, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == MANIFEST:
                data = data.replace(b'"rita"', b'"mallory"')
            out.writestr(item, data)
    before = snapshot(customs)
    with pytest.raises(PackageError, match="signature does not match") as refused:
        customs.import_package(customs.user("ada"), tampered)
    assert "\n" not in str(refused.value)
    assert snapshot(customs) == before
    [entry] = [e for e in customs.audit.entries() if e.action == "package_refused"]
    assert (entry.actor, entry.target) == ("ada", "tampered.zip")
    # A key the gallery does not trust for the brand is refused the same way.
    untrusted = holder.gallery.export_package("nike", SigningKey.generate(),
                                              tmp_path / "other.zip", by=Actor("x", "", "test"))
    with pytest.raises(PackageError, match="does not trust"):
        customs.import_package(customs.user("ada"), Path(untrusted.path))
    assert snapshot(customs) == before


def test_keys_and_packages_are_shown_to_admins_and_the_brands_right_holder(
        sides: tuple[Service, Service]) -> None:
    _, customs = sides
    [key] = customs.trusted_keys(customs.user("ada"))
    assert (key.brand, key.name, key.active) == ("nike", "Nike Inc.", True)
    assert customs.trusted_keys(customs.user("rita")) == [key]
    assert customs.trusted_keys(customs.user("rita"), "nike") == [key]
    assert customs.trusted_keys(customs.user("ron")) == []  # acme's keys: none
    with pytest.raises(PermissionDenied):
        customs.trusted_keys(customs.user("ron"), "nike")
    for name in ("olga", "tom"):
        with pytest.raises(PermissionDenied, match="signing keys of any brand"):
            customs.trusted_keys(customs.user(name))
    assert customs.packages(customs.user("rita"), "nike") == ([], [])
