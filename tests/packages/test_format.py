"""The package format on its own: keys, the manifest's strict parsing, the archive's layout
rules. (Applying packages to galleries: tests/gallery/test_packages.py.)"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from ipr_vision.domain import Label, MarkedPoint
from ipr_vision.errors import PackageError
from ipr_vision.packages import (
    FULL,
    Manifest,
    PackagedReference,
    PackageReader,
    PublicKey,
    SigningKey,
    parse,
    peek,
    write_package,
)
from ipr_vision.packages.keys import PASSPHRASE_ENV

SHA = "ab" * 32


def _manifest(key: SigningKey, **changes: object) -> Manifest:
    entry = PackagedReference(SHA, ".jpg", 3, "boot", Label.GENUINE, "g1", "a.jpg", "note",
                              "alice", "2026-12-01T00:00:00+00:00",
                              (MarkedPoint((0.1, 0.1, 0.5, 0.5), "logo", "alice", "t"),))
    fields: dict[str, object] = dict(
        brand="acme", chain="c" * 32, sequence=1, previous=None, kind=FULL, since=None,
        since_hash=None, created_by="alice", created_at="2026-12-01T00:00:00+00:00",
        key=key.public.fingerprint, products=("boot",), references=(entry,))
    fields.update(changes)
    return Manifest(**fields)  # type: ignore[arg-type]


def test_keys_round_trip_sign_and_verify(tmp_path: Path) -> None:
    key = SigningKey.generate()
    private, public = key.write(tmp_path, "acme")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600  # owner only, from the start
    again = SigningKey.read(private)
    signature = again.sign(b"message")
    loaded = PublicKey.read(public)
    assert loaded.fingerprint == key.public.fingerprint == again.public.fingerprint
    assert loaded.verify(signature, b"message")
    assert not loaded.verify(signature, b"messagE")
    assert not PublicKey(SigningKey.generate().public.raw).verify(signature, b"message")
    with pytest.raises(PackageError, match="exists"):
        key.write(tmp_path, "acme")  # never over a key


def test_encrypted_key_needs_its_passphrase(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse")
    private, _ = SigningKey.generate().write(tmp_path, "k")
    assert b"ENCRYPTED" in private.read_bytes()
    assert SigningKey.read(private).sign(b"x")
    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    with pytest.raises(PackageError, match="passphrase"):
        SigningKey.read(private)
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(PackageError, match="encrypted"):
        SigningKey.read(private)


def test_a_public_key_file_must_be_an_ed25519_pem(tmp_path: Path) -> None:
    (tmp_path / "x.pub").write_text("ssh-ed25519 AAAA… someone@host\n")
    with pytest.raises(PackageError, match="not a PEM public key"):
        PublicKey.read(tmp_path / "x.pub")
    with pytest.raises(PackageError, match="cannot read"):
        PublicKey.read(tmp_path / "missing.pub")


def test_manifest_round_trips_and_is_canonical() -> None:
    key = SigningKey.generate()
    manifest = _manifest(key)
    data = manifest.to_bytes()
    assert parse(data) == manifest
    assert parse(data).to_bytes() == data  # the bytes signed are reproducible
    assert peek(data) == ("acme", key.public.fingerprint)


@pytest.mark.parametrize(("change", "message"), [
    (lambda m: m.update(format="ipr-vision-brand-package/9"), "unknown package format"),
    (lambda m: m.update(extra=1), "unexpected or missing fields"),
    (lambda m: m["references"][0].update(sha256="../../etc/passwd"), "not a sha256"),
    (lambda m: m["references"][0].update(extension=".exe"), "photo extension"),
    (lambda m: m["references"][0].update(label="maybe"), "neither genuine nor fake"),
    (lambda m: m["references"][0].update(product="../boot"), "product"),
    (lambda m: m["references"][0]["points"][0].update(box=[0.5, 0.1, 0.2, 0.9]), "outside"),
    (lambda m: m["references"].append(dict(m["references"][0])), "twice"),
    (lambda m: m.update(kind="delta"), "since"),
    (lambda m: m.update(sequence=0), "sequence"),
    (lambda m: m.update(brand="a\nb"), "brand"),
])
def test_manifest_parsing_is_strict(change: object, message: str) -> None:
    raw = json.loads(_manifest(SigningKey.generate()).to_bytes())
    change(raw)  # type: ignore[operator]
    with pytest.raises(PackageError, match=message):
        parse(json.dumps(raw).encode())


def test_manifest_that_is_not_json_is_refused() -> None:
    for data in (b"\xff\xfe", b"[1, 2]", b'{"a": NaN}', b"{" * 100_000):
        with pytest.raises(PackageError):
            parse(data)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_reader_refuses_any_member_outside_the_layout(tmp_path: Path) -> None:
    base = {"manifest.json": b"{}", "manifest.sig": b"s" * 64}
    for name in ("../x", "/etc/passwd", "photos/../../x.jpg", "photos/abc.jpg", "run.py",
                 f"photos/{SHA}.exe", "photos/"):
        package = _zip(tmp_path / "p.zip", {**base, name: b"x"})
        with pytest.raises(PackageError, match=r"unexpected file|not a plain file"):
            PackageReader(package)
    with pytest.raises(PackageError, match="not a signed package"):
        PackageReader(_zip(tmp_path / "q.zip", {"manifest.json": b"{}"}))
    (tmp_path / "junk.zip").write_bytes(os.urandom(1000))
    with pytest.raises(PackageError, match="not a readable package"):
        PackageReader(tmp_path / "junk.zip")


def test_reader_refuses_links_and_members_past_their_bounds(tmp_path: Path) -> None:
    link = zipfile.ZipInfo(f"photos/{SHA}.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "l.zip", "w") as archive:
        archive.writestr("manifest.json", b"{}")
        archive.writestr("manifest.sig", b"s" * 64)
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(PackageError, match="not a plain file"):
        PackageReader(tmp_path / "l.zip")
    bomb = tmp_path / "b.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"{}")
        archive.writestr("manifest.sig", b"s" * 64)
        archive.writestr(f"photos/{SHA}.jpg", b"\0" * (8 * 1024**2))
    with PackageReader(bomb) as package, pytest.raises(PackageError, match="inflate"):
        package.read(f"photos/{SHA}.jpg")
    with PackageReader(bomb) as package, pytest.raises(PackageError, match="larger than"):
        package.read(f"photos/{SHA}.jpg", limit=1000)


def test_written_package_is_deterministic_and_complete(tmp_path: Path) -> None:
    key = SigningKey.generate()
    manifest = _manifest(key)
    for name in ("a.zip", "b.zip"):
        write_package(tmp_path / name, manifest, key.sign(manifest.to_bytes()),
                      [(f"photos/{SHA}.jpg", b"abc")], None)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert not list(tmp_path.glob(".*partial"))
    with PackageReader(tmp_path / "a.zip") as package:
        assert package.members == {"manifest.json", "manifest.sig", f"photos/{SHA}.jpg"}
        assert package.manifest == manifest.to_bytes()
        assert key.public.verify(package.signature, package.manifest)
