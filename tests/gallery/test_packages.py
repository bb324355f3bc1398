"""Signed brand packages between two real galleries (real model, generated photos): a round
trip, deltas, withdrawals, and every tamper case refused with the target left unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ipr_vision import Gallery, write_evidence_pack
from ipr_vision.domain import AuditAction
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import PackageError
from ipr_vision.packages import Manifest, SigningKey, parse, write_package
from ipr_vision.packages.archive import MAX_PHOTO_BYTES


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
           photo_folder: Path) -> tuple[Path, Path]:
    """A right holder's gallery with notes and points, its key, and its first package."""
    root = tmp_path_factory.mktemp("source")
    SigningKey.generate().write(root / "keys", "acme")
    with Gallery(root / "g", embedder=embedder) as gallery:
        gallery.import_folder(photo_folder, brand="acme", added_by="alice")
        refs = gallery.references("acme")
        gallery.set_note(refs[0].id, "stitching: 8 per cm")
        gallery.add_point(refs[0].id, (20, 30, 120, 140), "logo edge")
        gallery.export_package("acme", root / "keys" / "acme.key", root / "p1.zip")
    return root, root / "p1.zip"


@pytest.fixture
def parties(tmp_path: Path, source: tuple[Path, Path],
            embedder: MobileNetV2Embedder) -> tuple[Gallery, Gallery, Path]:
    """Private copies: the right holder's gallery, and a customs gallery trusting its key."""
    root, _ = source
    shutil.copytree(root, tmp_path / "rh")
    rh = Gallery(tmp_path / "rh" / "g", embedder=embedder)
    customs = Gallery(tmp_path / "customs", embedder=embedder)
    customs.trust_key(tmp_path / "rh" / "keys" / "acme.pub", brand="acme", name="Acme Corp")
    return rh, customs, tmp_path / "rh"


def contents(gallery: Gallery) -> str:
    """A hash of everything the gallery holds: every row of its database and every photo."""
    digest = hashlib.sha256()
    with sqlite3.connect(gallery.path / "gallery.sqlite") as db:
        for line in db.iterdump():
            digest.update(line.encode())
    for file in sorted((gallery.path / "photos").rglob("*")):
        digest.update(str(file.relative_to(gallery.path)).encode())
        if file.is_file():
            digest.update(file.read_bytes())
    return digest.hexdigest()


def facts(gallery: Gallery) -> list[tuple[object, ...]]:
    """What a reference is, whichever gallery holds it (ids and paths differ)."""
    points: dict[int, list[tuple[object, ...]]] = {}
    for point in gallery.points(brand="acme"):
        points.setdefault(point.ref_id, []).append((point.box, point.note, point.added_by))
    return sorted((r.sha256, hashlib.sha256(r.path.read_bytes()).hexdigest(), r.product,
                   r.label, r.photo_group, r.source_name, r.note, r.added_by, r.added_at,
                   sorted(points.get(r.id, []))) for r in gallery.references("acme"))


def test_round_trip_gives_identical_references_notes_points_and_photos(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path],
        tmp_path: Path) -> None:
    rh, customs, _ = parties
    report = customs.import_package(source[1])
    assert report.status == "applied" and len(report.added) == 48 and not report.reembedded
    assert facts(customs) == facts(rh)
    ref = customs.references("acme")[0]
    assert ref.origin is not None and ref.origin.sequence == 1
    exported = [e for e in rh.audit.entries() if e.action == AuditAction.PACKAGE_EXPORT]
    assert ref.origin.key == report.key and ref.origin.signed_by == exported[0].actor
    assert customs.products("acme") == rh.products("acme")
    # The package's vectors are the source's own (same model): searches behave identically.
    photo = customs.references("acme")[5].path
    ours, theirs = customs.inspect(photo, brand="acme"), rh.inspect(photo, brand="acme")
    assert ours.verdict == theirs.verdict
    assert ours.nearest_genuine[0].similarity == pytest.approx(
        theirs.nearest_genuine[0].similarity, abs=1e-5)
    assert {m.origin for m in ours.nearest_genuine + ours.nearest_fake} == {ref.origin}
    # The evidence a court sees names the right holder's package behind each reference.
    pack = write_evidence_pack(ours, photo, tmp_path / "evidence", officer="tester")
    document = json.loads(pack.json.read_text())
    assert {r["origin"]["hash"] for r in document["references"]} == {report.hash}
    entry = customs.audit.entries()[-1]
    assert entry.action == AuditAction.PACKAGE_IMPORT and entry.detail["key"] == report.key
    assert entry.detail["file_sha256"] == hashlib.sha256(source[1].read_bytes()).hexdigest()
    assert customs.audit.verify().ok


def test_importing_the_same_package_again_changes_nothing(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path]) -> None:
    _, customs, _ = parties
    customs.import_package(source[1])
    before = contents(customs)
    assert customs.import_package(source[1]).status == "already imported"
    assert contents(customs) == before


def test_a_delta_adds_changes_and_withdraws_and_withdrawn_stop_answering(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path],
        tmp_path: Path, photo_folder: Path) -> None:
    rh, customs, keys = parties
    customs.import_package(source[1])
    refs = rh.references("acme")
    gone = refs[7]
    rh.remove([gone.id], reason="photo of a grey-market item")
    rh.set_note(refs[3].id, "sole pattern")
    rh.add_point(refs[4].id, (5, 5, 60, 60), "tag font")
    new_photo = tmp_path / "extra" / "boot" / "fake"
    new_photo.mkdir(parents=True)
    shutil.copy(photo_folder / "boot" / "fake" / "000.jpg", new_photo / "a.jpg")
    (new_photo / "a.jpg").write_bytes((new_photo / "a.jpg").read_bytes() + b"\0")  # new bytes
    rh.import_folder(tmp_path / "extra", brand="acme")
    written = rh.export_package("acme", keys / "keys" / "acme.key", tmp_path / "p2.zip",
                                since=1)
    assert (written.kind, written.sequence, written.references, written.withdrawn) == (
        "delta", 2, 3, 1)
    report = customs.import_package(tmp_path / "p2.zip")
    assert (len(report.added), len(report.changed), len(report.withdrawn)) == (1, 2, 1)
    assert facts(customs) == facts(rh)
    removed = customs.removed("acme")
    assert [r.reference.sha256 for r in removed] == [gone.sha256]
    assert "grey-market" in removed[0].reason and "acme #2" in removed[0].reason
    hit = customs.inspect(gone.path, brand="acme")
    assert gone.sha256 not in {Path(m.path).stem for m in hit.nearest_genuine + hit.nearest_fake}
    assert all(m.similarity < 0.999 for m in hit.nearest_genuine + hit.nearest_fake)


def test_a_full_package_withdraws_what_it_no_longer_lists(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path],
        tmp_path: Path) -> None:
    rh, customs, keys = parties
    customs.import_package(source[1])
    gone = rh.references("acme")[:2]
    rh.remove([r.id for r in gone], reason="wrong labels")
    rh.export_package("acme", keys / "keys" / "acme.key", tmp_path / "p2.zip")
    assert len(customs.import_package(tmp_path / "p2.zip").withdrawn) == 2
    assert facts(customs) == facts(rh)


def test_a_relabelled_reference_is_replaced(parties: tuple[Gallery, Gallery, Path],
                                            source: tuple[Path, Path], tmp_path: Path) -> None:
    rh, customs, keys = parties
    customs.import_package(source[1])
    wrong = rh.references("acme")[0]
    rh.remove([wrong.id], reason="was a fake")
    rh.add_photos([wrong.path], brand="acme", product=wrong.product, label="fake",
                  group=wrong.photo_group)
    rh.export_package("acme", keys / "keys" / "acme.key", tmp_path / "p2.zip", since=1)
    customs.import_package(tmp_path / "p2.zip")
    now = {r.sha256: r for r in customs.references("acme")}[wrong.sha256]
    assert now.label == "fake" and now.origin is not None and now.origin.sequence == 2


def test_without_embeddings_the_importer_embeds_the_photos(
        parties: tuple[Gallery, Gallery, Path], tmp_path: Path) -> None:
    rh, customs, keys = parties
    written = rh.export_package("acme", keys / "keys" / "acme.key", tmp_path / "p.zip",
                                embeddings=False)
    assert written.embeddings is None
    report = customs.import_package(tmp_path / "p.zip")
    assert report.reembedded and len(report.added) == 48
    assert facts(customs) == facts(rh)


# -- refusals: each leaves the target exactly as it was, and is recorded ------------------------


def _rewrite(package: Path, out: Path, *, members: Callable[[str, bytes], bytes] | None = None,
             extra: dict[str, bytes] | None = None) -> Path:
    """A copy of ``package`` with members changed (as an attacker would, without the key)."""
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, members(info.filename, data) if members else data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out


def _resign(package: Path, out: Path, key: SigningKey,
            change: Callable[[Manifest], Manifest],
            photos: Callable[[str, bytes], tuple[str, bytes]] = lambda n, d: (n, d)) -> Path:
    """A package re-made and signed by ``key`` (a holder of the key, or one who stole it)."""
    with zipfile.ZipFile(package) as source:
        manifest = change(parse(source.read("manifest.json")))
        names = [n for n in source.namelist() if n.startswith("photos/")]
        files = [photos(n, source.read(n)) for n in names]
        vectors = source.read("embeddings.f32") if manifest.embeddings else None
    write_package(out, manifest, key.sign(manifest.to_bytes()), files, vectors)
    return out


def _flip(data: bytes, at: int = -100) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def refused(customs: Gallery, package: Path, message: str, brand: str | None = None) -> None:
    before, entries = contents(customs), len(customs.audit.entries())
    with pytest.raises(PackageError, match=message) as caught:
        customs.import_package(package, brand=brand)
    assert "\n" not in str(caught.value)
    assert contents(customs) == before
    last = customs.audit.entries()
    assert len(last) == entries + 1 and last[-1].action == AuditAction.PACKAGE_REFUSED
    assert customs.audit.verify().ok


@pytest.mark.parametrize(("name", "tamper", "message"), [
    ("a byte of a photo", lambda p, o: _rewrite(
        p, o, members=lambda n, d: _flip(d) if n.startswith("photos/") else d),
     "does not match its hash"),
    ("the manifest", lambda p, o: _rewrite(
        p, o, members=lambda n, d: d.replace(b"8 per cm", b"9 per cm")
        if n == "manifest.json" else d), "signature does not match"),
    ("the signature", lambda p, o: _rewrite(
        p, o, members=lambda n, d: _flip(d, 5) if n == "manifest.sig" else d),
     "signature does not match"),
    ("no signature", lambda p, o: _rewrite(
        p, o, members=lambda n, d: b"" if n == "manifest.sig" else d),
     "signature does not match"),
    ("a path ../x inside", lambda p, o: _rewrite(p, o, extra={"../x": b"x"}),
     "unexpected file '../x'"),
    ("an unlisted photo", lambda p, o: _rewrite(p, o, extra={"photos/" + "0" * 64 + ".jpg":
                                                             b"x"}), "does not list"),
    ("the embeddings", lambda p, o: _rewrite(
        p, o, members=lambda n, d: _flip(d) if n == "embeddings.f32" else d),
     "embeddings.f32 does not match"),
])
def test_tampered_packages_are_refused_and_change_nothing(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path], tmp_path: Path,
        name: str, tamper: Callable[[Path, Path], Path], message: str) -> None:
    _, customs, _ = parties
    refused(customs, tamper(source[1], tmp_path / "bad.zip"), message)


def test_a_package_signed_by_another_key_is_refused(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path],
        tmp_path: Path) -> None:
    _, customs, _ = parties
    stranger = SigningKey.generate()
    own_name = _resign(source[1], tmp_path / "a.zip", stranger,
                       lambda m: replace(m, key=stranger.public.fingerprint))
    refused(customs, own_name, "does not trust")
    claims_trusted = _resign(source[1], tmp_path / "b.zip", stranger, lambda m: m)
    refused(customs, claims_trusted, "signature does not match")


def test_a_package_for_another_brand_is_refused(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path], tmp_path: Path,
        embedder: MobileNetV2Embedder) -> None:
    _, customs, keys = parties
    refused(customs, source[1], "for brand 'acme', not 'other'", brand="other")
    elsewhere = Gallery(tmp_path / "elsewhere", embedder=embedder)
    elsewhere.trust_key(keys / "keys" / "acme.pub", brand="other")  # trusted for another brand
    refused(elsewhere, source[1], "does not trust for brand 'acme'")


def test_a_replayed_old_package_and_a_gap_are_refused(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path],
        tmp_path: Path) -> None:
    rh, customs, keys = parties
    key = keys / "keys" / "acme.key"
    refs = rh.references("acme")
    rh.set_note(refs[1].id, "two")
    rh.export_package("acme", key, tmp_path / "p2.zip", since=1)
    rh.set_note(refs[1].id, "three")
    rh.export_package("acme", key, tmp_path / "p3.zip", since=2)
    rh.set_note(refs[1].id, "four")
    rh.export_package("acme", key, tmp_path / "p4.zip")  # full
    customs.import_package(source[1])
    refused(customs, tmp_path / "p3.zip", "package #2 is missing")
    customs.import_package(tmp_path / "p4.zip")  # a full package fills the gap
    assert {r.sha256: r.note for r in customs.references("acme")}[refs[1].sha256] == "four"
    refused(customs, tmp_path / "p2.zip", "older than #4")
    assert customs.import_package(source[1]).status == "already imported"


def test_a_revoked_key_is_refused_and_cannot_be_trusted_again(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path]) -> None:
    _, customs, keys = parties
    fingerprint = customs.trusted_keys("acme")[0].fingerprint
    assert customs.revoke_key(fingerprint, brand="acme", reason="laptop stolen")
    refused(customs, source[1], "revoked for acme.*laptop stolen")
    with pytest.raises(PackageError, match="cannot be trusted again"):
        customs.trust_key(keys / "keys" / "acme.pub", brand="acme")
    actions = [e.action for e in customs.audit.entries()]
    assert AuditAction.KEY_TRUST in actions and AuditAction.KEY_REVOKE in actions


def test_an_oversized_member_is_refused_even_when_signed(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path],
        tmp_path: Path) -> None:
    _, customs, keys = parties
    key = SigningKey.read(keys / "keys" / "acme.key")
    big = b"\xff\xd8" + bytes(MAX_PHOTO_BYTES)  # one byte over the limit, honestly declared
    grown: list[str] = []

    def swell(manifest: Manifest) -> Manifest:
        entry = manifest.references[0]
        grown.extend([entry.member, f"photos/{hashlib.sha256(big).hexdigest()}.jpg"])
        swollen = replace(entry, sha256=hashlib.sha256(big).hexdigest(), extension=".jpg",
                          bytes=len(big))
        return replace(manifest, references=(swollen, *manifest.references[1:]),
                       embeddings=None)

    def photos(name: str, data: bytes) -> tuple[str, bytes]:
        return (grown[1], big) if name == grown[0] else (name, data)

    package = _resign(source[1], tmp_path / "big.zip", key, swell, photos)
    refused(customs, package, "larger than 50 MB")


def test_vectors_that_do_not_belong_to_the_photos_are_refused(
        parties: tuple[Gallery, Gallery, Path], source: tuple[Path, Path],
        tmp_path: Path) -> None:
    _, customs, keys = parties
    key = SigningKey.read(keys / "keys" / "acme.key")
    with zipfile.ZipFile(source[1]) as archive:
        manifest = parse(archive.read("manifest.json"))
        vectors = np.frombuffer(archive.read("embeddings.f32"), dtype="<f4").reshape(
            manifest.embeddings.rows, manifest.embeddings.dim)  # type: ignore[union-attr]
        files = [(n, archive.read(n)) for n in archive.namelist() if n.startswith("photos/")]
    shuffled = np.ascontiguousarray(vectors[::-1])
    assert manifest.embeddings is not None
    manifest = replace(manifest, embeddings=replace(
        manifest.embeddings, sha256=hashlib.sha256(shuffled.tobytes()).hexdigest()))
    write_package(tmp_path / "v.zip", manifest, key.sign(manifest.to_bytes()), files,
                  shuffled.tobytes())
    refused(customs, tmp_path / "v.zip", "embeddings do not match its photos")


def test_export_records_its_chain_and_a_delta_needs_a_known_base(
        parties: tuple[Gallery, Gallery, Path], tmp_path: Path) -> None:
    rh, _, keys = parties
    imported, exported = rh.packages("acme")
    assert not imported and [p.sequence for p in exported] == [1]
    with pytest.raises(Exception, match="no package acme #7"):
        rh.export_package("acme", keys / "keys" / "acme.key", tmp_path / "x.zip", since=7)
    assert not (tmp_path / "x.zip").exists()
    second = rh.export_package("acme", keys / "keys" / "acme.key", tmp_path / "p2.zip",
                               since=1)
    assert second.references == 0 and second.sequence == 2
    with zipfile.ZipFile(tmp_path / "p2.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["previous"] == exported[0].hash and manifest["since_hash"] == exported[0].hash


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.03])
def test_a_killed_import_leaves_all_or_nothing(parties: tuple[Gallery, Gallery, Path],
                                               tmp_path: Path, embedder: MobileNetV2Embedder,
                                               delay: float) -> None:
    """Killed while it writes the photos (after minutes of checking and embedding), an import
    leaves the package either wholly applied or not at all, and no stray files."""
    rh, customs, keys = parties
    rh.export_package("acme", keys / "keys" / "acme.key", tmp_path / "p.zip", embeddings=False)
    customs.close()
    env = {**os.environ, "IPR_VISION_MODEL": "imagenet"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ipr_vision", "package", "import", str(tmp_path / "p.zip"),
         "--gallery", str(customs.path)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any((customs.path / "photos").rglob("*.jpg")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with Gallery(customs.path, embedder=embedder) as reopened:
        assert reopened.store.integrity_problems() == []
        assert not any((customs.path / "tmp").iterdir())
        held = len(reopened.references("acme"))
        assert held in (0, 48)
        again = reopened.import_package(tmp_path / "p.zip")
        assert again.status == ("applied" if held == 0 else "already imported")
        assert facts(reopened) == facts(rh) and reopened.store.integrity_problems() == []
