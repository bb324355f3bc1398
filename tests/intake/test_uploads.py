"""A right holder's upload: loose photos and zip files from anywhere. Zip members are extracted
defensively (no path leaves the staging folder, limits on size and count, one bad member does
not stop the rest) and every file ends up in the per-file report under a name people know."""

from __future__ import annotations

import io
import os
import shutil
import uuid
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from ipr_vision import Gallery
from ipr_vision.app import service as service_module
from ipr_vision.app.accounts import Accounts
from ipr_vision.app.service import Service
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError, PermissionDenied
from ipr_vision.intake import uploads
from ipr_vision.intake.uploads import Unpacked, expand_uploads
from tests.support import synthetic_photo

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
PASSWORD = "correct horse battery"


def jpeg(product: str, label: str, seed: int) -> bytes:
    """A generated photo as JPEG bytes (a new seed gives a photo no gallery holds yet)."""
    out = io.BytesIO()
    synthetic_photo(product, label, seed, size=320).save(out, "JPEG", quality=90)
    return out.getvalue()


def png(product: str, label: str, seed: int) -> bytes:
    """Like :func:`jpeg`, in another format (the upload must not care)."""
    out = io.BytesIO()
    synthetic_photo(product, label, seed, size=320).save(out, "PNG")
    return out.getvalue()


def make_zip(path: Path, members: Sequence[tuple[str, bytes | None]],
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A zip with these members in this order (None: a folder entry; names may repeat)."""
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression) as out:
        warnings.simplefilter("ignore")  # "Duplicate name" is what some tests want
        for name, data in members:
            if data is None:
                out.writestr(zipfile.ZipInfo(name), b"")
            else:
                out.writestr(name, data)
    return path


def _local_header(data: bytes, name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        return zipped.getinfo(name).header_offset


def corrupt_member(path: Path, name: str) -> None:
    """Overwrite the start of a deflated member's data: a reserved block type for zlib."""
    data = bytearray(path.read_bytes())
    offset = _local_header(bytes(data), name)
    name_len = int.from_bytes(data[offset + 26:offset + 28], "little")
    extra_len = int.from_bytes(data[offset + 28:offset + 30], "little")
    start = offset + 30 + name_len + extra_len
    data[start:start + 4] = b"\xff" * 4
    path.write_bytes(bytes(data))


def mark_encrypted(path: Path, name: str) -> None:
    """Set the 'encrypted' flag of a member, as a password-protected zip has it."""
    data = bytearray(path.read_bytes())
    data[_local_header(bytes(data), name) + 6] |= 1
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = int.from_bytes(data[central + 28:central + 30], "little")
        if data[central + 46:central + 46 + name_len] == name.encode():
            data[central + 8] |= 1
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` really lies in ``folder`` once links and '..' are resolved."""
    return path.resolve().is_relative_to(folder.resolve())


# -- expand_uploads, no model ----------------------------------------------------------------


def test_loose_files_pass_through_and_non_photos_are_reported(tmp_path: Path) -> None:
    photo, upper = tmp_path / "a.jpg", tmp_path / "B.JPEG"
    photo.write_bytes(b"jpeg bytes")
    upper.write_bytes(b"jpeg bytes too")
    notes, bare = tmp_path / "notes.txt", tmp_path / "README"
    notes.write_text("stitching looks off")
    bare.write_text("no suffix")
    unpacked = expand_uploads([photo, notes, upper, bare], tmp_path / "dest")
    photos, failed = unpacked.photos, unpacked.failed
    assert photos == [(photo, "a.jpg"), (upper, "B.JPEG")]  # not copied: used where they lie
    assert failed == [("notes.txt", "not a photo or zip file (.txt)"),
                      ("README", "not a photo or zip file (no type)")]


def test_zip_members_are_extracted_with_archive_names(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "Photos.ZIP", [
        ("inner/", None),
        ("inner/path.jpg", b"one"),
        ("inner/deeper/two.PNG", b"two"),
        ("./dot/./three.jpg", b"three"),
        ("inner/readme.txt", b"text"),
        ("__MACOSX/inner/._path.jpg", b"apple double"),
        ("__MACOSX/inner/path.jpg", b"resource fork"),
        ("inner/.DS_Store", b"finder"),
        (".hidden.jpg", b"hidden"),
    ])
    dest = tmp_path / "dest"
    unpacked = expand_uploads([archive], dest)
    photos, failed = unpacked.photos, unpacked.failed
    assert [name for _, name in photos] == [
        "Photos.ZIP/inner/path.jpg", "Photos.ZIP/inner/deeper/two.PNG", "Photos.ZIP/dot/three.jpg"]
    assert [path.read_bytes() for path, _ in photos] == [b"one", b"two", b"three"]
    assert [path.name for path, _ in photos] == ["path.jpg", "two.PNG", "three.jpg"]
    assert all(inside(path, dest) for path, _ in photos)
    # A text file is refused; archivers' metadata and hidden files are listed as skipped.
    assert failed == [("Photos.ZIP/inner/readme.txt", "not a photo file type")]
    assert unpacked.skipped == [
        ("Photos.ZIP/__MACOSX/inner/._path.jpg", "archiver metadata, not a photo"),
        ("Photos.ZIP/__MACOSX/inner/path.jpg", "archiver metadata, not a photo"),
        ("Photos.ZIP/inner/.DS_Store", "a hidden file"),
        ("Photos.ZIP/.hidden.jpg", "a hidden file")]


def test_path_traversal_never_leaves_the_destination(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    archive = make_zip(tmp_path / "a.zip", [
        (f"../../../../../../evil-{tag}.jpg", b"up"),
        (f"/tmp/abs-{tag}.jpg", b"absolute"),
        (f"..\\..\\win-{tag}.jpg", b"backslashes"),
        (f"ok/../../side-{tag}.jpg", b"sideways"),
    ])
    dest = tmp_path / "deep" / "dest"
    unpacked = expand_uploads([archive], dest)
    photos, failed = unpacked.photos, unpacked.failed
    assert failed == []
    assert [name for _, name in photos] == [
        f"a.zip/evil-{tag}.jpg", f"a.zip/tmp/abs-{tag}.jpg", f"a.zip/win-{tag}.jpg",
        f"a.zip/ok/side-{tag}.jpg"]
    assert all(inside(path, dest) for path, _ in photos)
    assert [p.read_bytes() for p, _ in photos] == [b"up", b"absolute", b"backslashes",
                                                  b"sideways"]
    written = {p for p in tmp_path.parent.rglob(f"*{tag}*") if p.is_file()}
    assert written == {path for path, _ in photos}
    assert not Path(f"/tmp/abs-{tag}.jpg").exists() and not Path(f"/evil-{tag}.jpg").exists()


def test_each_zip_has_its_own_folder(tmp_path: Path) -> None:
    first = make_zip(tmp_path / "first.zip", [("x.jpg", b"first")])
    (tmp_path / "second").mkdir()
    second = make_zip(tmp_path / "second" / "first.zip", [("x.jpg", b"second")])
    unpacked = expand_uploads([first, second], tmp_path / "dest")
    photos, failed = unpacked.photos, unpacked.failed
    assert not failed
    assert [(p.read_bytes(), name) for p, name in photos] == [(b"first", "first.zip/x.jpg"),
                                                              (b"second", "first.zip/x.jpg")]


def test_members_that_share_a_name_are_all_kept(tmp_path: Path) -> None:
    """A zip may hold one name twice, and dropping '..' can make two names meet: neither
    member may overwrite the other before it is imported."""
    archive = make_zip(tmp_path / "a.zip", [
        ("x.jpg", b"first x"), ("x.jpg", b"second x"),
        ("a/b.jpg", b"plain"), ("../a/b.jpg", b"climbing"),
    ])
    unpacked = expand_uploads([archive], tmp_path / "dest")
    photos, failed = unpacked.photos, unpacked.failed
    assert not failed
    assert [(p.read_bytes(), name) for p, name in photos] == [
        (b"first x", "a.zip/x.jpg"), (b"second x", "a.zip/x.jpg"),
        (b"plain", "a.zip/a/b.jpg"), (b"climbing", "a.zip/a/b.jpg")]
    assert len({p for p, _ in photos}) == 4


def test_a_file_and_a_folder_of_one_name_do_not_stop_the_archive(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [
        ("a.jpg", b"file"), ("a.jpg/b.jpg", b"under a folder named like the file"),
        (f"{'x' * 300}/long.jpg", b"folder name longer than the file system allows"),
        (f"{'y' * 300}.jpg", b"file name longer than the file system allows"),
        ("c.jpg", b"last"),
    ])
    unpacked = expand_uploads([archive], tmp_path / "dest")
    photos, failed = unpacked.photos, unpacked.failed
    assert failed == [(f"a.zip/{'y' * 300}.jpg", failed[0][1])]
    assert failed[0][1].startswith("cannot be unpacked")
    assert [p.read_bytes() for p, _ in photos] == [
        b"file", b"under a folder named like the file",
        b"folder name longer than the file system allows", b"last"]


def test_damaged_and_encrypted_members_are_reported_the_rest_extracted(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("good1.jpg", b"g1" * 500),
                                            ("damaged.jpg", b"d" * 5000),
                                            ("locked.jpg", b"l" * 500),
                                            ("good2.jpg", b"g2" * 500)])
    corrupt_member(archive, "damaged.jpg")
    mark_encrypted(archive, "locked.jpg")
    dest = tmp_path / "dest"
    unpacked = expand_uploads([archive], dest)
    photos, failed = unpacked.photos, unpacked.failed
    assert [name for _, name in photos] == ["a.zip/good1.jpg", "a.zip/good2.jpg"]
    assert [p.read_bytes() for p, _ in photos] == [b"g1" * 500, b"g2" * 500]
    reasons = dict(failed)
    assert set(reasons) == {"a.zip/damaged.jpg", "a.zip/locked.jpg"}
    assert all(reason.startswith("cannot be unpacked") for reason in reasons.values())
    assert "encrypted" in reasons["a.zip/locked.jpg"]
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == ["good1.jpg", "good2.jpg"]


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really", b"\xff\xd8\xff a jpeg"],
                         ids=["empty", "truncated", "jpeg"])
def test_unreadable_zip_is_one_failed_entry(tmp_path: Path, content: bytes) -> None:
    broken, photo = tmp_path / "broken.zip", tmp_path / "p.jpg"
    broken.write_bytes(content)
    photo.write_bytes(b"photo")
    unpacked = expand_uploads([broken, photo], tmp_path / "dest")
    photos, failed = unpacked.photos, unpacked.failed
    assert photos == [(photo, "p.jpg")]
    assert len(failed) == 1 and failed[0][0] == "broken.zip"
    assert failed[0][1].startswith("not a readable zip file")


def test_member_over_the_size_limit_is_refused(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 1000)
    archive = make_zip(tmp_path / "a.zip", [("big.jpg", b"b" * 1001), ("small.jpg", b"s" * 1000)])
    dest = tmp_path / "dest"
    unpacked = expand_uploads([archive], dest)
    photos, failed = unpacked.photos, unpacked.failed
    assert [name for _, name in photos] == ["a.zip/small.jpg"]
    assert [name for name, _ in failed] == ["a.zip/big.jpg"]
    assert failed[0][1].startswith("larger than")
    assert not list(dest.rglob("big.jpg"))  # refused before a byte is written


def test_too_many_members_refuses_the_archive(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_MEMBERS", 3)
    ok = make_zip(tmp_path / "ok.zip", [("d/", None), *[(f"d/{i}.jpg", b"x") for i in range(3)]])
    many = make_zip(tmp_path / "many.zip", [(f"{i}.jpg", b"x") for i in range(4)])
    dest = tmp_path / "dest"
    unpacked = expand_uploads([ok, many], dest)
    photos, failed = unpacked.photos, unpacked.failed
    assert len(photos) == 3  # folder entries do not count
    assert failed == [("many.zip", "4 files; at most 3 per zip file")]
    assert not (dest / "1").exists()  # nothing of the refused archive was written


def test_too_many_bytes_refuses_the_archive(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_ARCHIVE_BYTES", 100)
    archive = make_zip(tmp_path / "bomb.zip", [("a.jpg", b"\0" * 60), ("b.jpg", b"\0" * 60)])
    unpacked = expand_uploads([archive], tmp_path / "dest")
    photos, failed = unpacked.photos, unpacked.failed
    assert photos == []
    assert failed == [("bomb.zip", "more than 4 GB once unpacked")]


def zero_members(path: Path, members: int, size: int) -> Path:
    """A small zip whose members unpack to ``size`` zero bytes each: the disk-filling attack."""
    return make_zip(path, [(f"{n}.jpg", bytes(size)) for n in range(members)])


def test_zip_bombs_are_refused_before_a_byte_is_written(tmp_path: Path) -> None:
    """Three small zips of 20 zero-filled members each (20 x 50 MB in the attack; 20 x 4 MB
    here, the same ratio): nothing is extracted, each member is reported."""
    archives = [zero_members(tmp_path / f"bomb{n}.zip", 20, 4 * 1024**2) for n in range(3)]
    assert all(a.stat().st_size < 200_000 for a in archives)
    dest = tmp_path / "dest"
    unpacked = expand_uploads(archives, dest)
    assert unpacked.photos == [] and len(unpacked.failed) == 60
    assert all("a zip bomb?" in reason for _, reason in unpacked.failed)
    assert sum(p.stat().st_size for p in dest.rglob("*") if p.is_file()) == 0


def test_the_whole_upload_has_one_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 5000)
    loose = tmp_path / "loose.jpg"
    loose.write_bytes(b"l" * 1000)
    first = make_zip(tmp_path / "first.zip", [("a.jpg", b"a" * 3000)])
    second = make_zip(tmp_path / "second.zip", [("b.jpg", b"b" * 1500)])
    unpacked = expand_uploads([loose, first, second], tmp_path / "dest")
    assert [name for _, name in unpacked.photos] == ["loose.jpg", "first.zip/a.jpg"]
    assert unpacked.failed == [(
        "second.zip", "the upload would unpack to more than 5,000 bytes in all")]


def lie_about_size(path: Path, name: str, declared: int) -> None:
    """Make the central directory (what zipfile trusts) understate a member's unpacked size."""
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = int.from_bytes(data[central + 28:central + 30], "little")
        if data[central + 46:central + 46 + name_len] == name.encode():
            data[central + 24:central + 28] = declared.to_bytes(4, "little")
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_a_lying_header_gets_no_more_than_it_declared(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "liar.zip", [("big.jpg", bytes(range(256)) * 4000),
                                               ("fine.jpg", b"f" * 100)])
    lie_about_size(archive, "big.jpg", 1000)
    dest = tmp_path / "dest"
    unpacked = expand_uploads([archive], dest)
    assert [name for _, name in unpacked.photos] == ["liar.zip/fine.jpg"]
    [(name, reason)] = unpacked.failed
    assert name == "liar.zip/big.jpg" and reason.startswith("cannot be unpacked")
    assert not list(dest.rglob("big.jpg"))  # its first 1000 bytes were not kept either


# -- Service.upload with the real model ------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
          photo_folder: Path) -> Path:
    """Brands nike (the generated photos) and acme (empty), with their right holders."""
    path = tmp_path_factory.mktemp("uploads") / "g"
    service = Service(Gallery(path, embedder=embedder), users=Accounts.open(path, hasher=FAST))
    service.gallery.import_folder(photo_folder, brand="nike", added_by="setup")
    service.gallery.add_brand("acme")
    service.gallery.add_product("acme", "boot")
    service.users.add("rita", "right_holder", PASSWORD, ["nike"])
    service.users.add("ron", "right_holder", PASSWORD, ["acme"])
    service.users.add("olga", "officer", PASSWORD)
    service.close()
    return path


@pytest.fixture
def service(tmp_path: Path, built: Path, embedder: MobileNetV2Embedder) -> Iterator[Service]:
    """A private copy of the built gallery, which each test may change."""
    path = tmp_path / "g"
    shutil.copytree(built, path)
    opened = Service(Gallery(path, embedder=embedder), users=Accounts.open(path, hasher=FAST))
    yield opened
    opened.close()


def staging_left(service: Service) -> list[Path]:
    """What uploads left in GALLERY/tmp (nothing, once each upload is over)."""
    return list((service.gallery.path / "tmp").iterdir())


def test_upload_reports_every_file_and_imports_the_photos(
        service: Service, tmp_path: Path, photo_folder: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    staged: list[Path] = []

    def expand_and_note_where(files: Sequence[Path], dest: Path) -> Unpacked:
        """The real expand_uploads, noting the staging folder it was given."""
        staged.append(dest)
        return expand_uploads(files, dest)

    monkeypatch.setattr(service_module, "expand_uploads", expand_and_note_where)
    rita = service.user("rita")
    existing = service.gallery.references("nike")
    known = photo_folder / "boot" / "genuine" / "000.jpg"
    known_id = next(r.id for r in existing if r.source_name == "000.jpg"
                    and r.product == "boot" and r.label == "genuine")
    tag = uuid.uuid4().hex
    loose, notes = tmp_path / "loose.jpg", tmp_path / "notes.txt"
    loose.write_bytes(jpeg("boot", "genuine", 70_001))
    notes.write_text("bought at the fair")
    archive = make_zip(tmp_path / "archive.zip", [
        ("inner/", None),
        ("inner/path.jpg", jpeg("boot", "genuine", 70_002)),
        ("inner/deeper/two.png", png("boot", "genuine", 70_003)),
        ("dup-of-existing.jpg", known.read_bytes()),
        ("inner/broken.jpg", b"\xff\xd8\xff\xe0 this is no jpeg"),
        ("readme.txt", b"text"),
        ("__MACOSX/inner/._path.jpg", b"apple double"),
        ("__MACOSX/inner/path.jpg", b"resource fork"),
        (f"../../../../../../evil-{tag}.jpg", jpeg("boot", "genuine", 70_004)),
    ])
    report = service.upload(rita, "nike", "boot", "genuine", [loose, archive, notes])

    added = dict(report.added)
    assert set(added) == {"loose.jpg", "archive.zip/inner/path.jpg",
                          "archive.zip/inner/deeper/two.png", f"archive.zip/evil-{tag}.jpg"}
    assert report.duplicates == [("archive.zip/dup-of-existing.jpg", known_id)]
    failed = dict(report.failed)
    assert set(failed) == {"notes.txt", "archive.zip/readme.txt", "archive.zip/inner/broken.jpg"}
    assert failed["notes.txt"] == "not a photo or zip file (.txt)"
    assert failed["archive.zip/readme.txt"] == "not a photo file type"
    assert failed["archive.zip/inner/broken.jpg"]  # the decoder's reason
    shown = [name for name, _ in [*report.added, *report.duplicates, *report.failed]]
    assert not any("MACOSX" in name or str(service.gallery.path) in name for name in shown)
    assert report.skipped == [  # listed, not lost in silence
        ("archive.zip/__MACOSX/inner/._path.jpg", "archiver metadata, not a photo"),
        ("archive.zip/__MACOSX/inner/path.jpg", "archiver metadata, not a photo")]

    refs = service.gallery.references(ids=added.values())
    assert len(refs) == 4 and len(service.gallery.references("nike")) == len(existing) + 4
    assert {(r.brand, r.product, r.label, r.added_by) for r in refs} == {
        ("nike", "boot", "genuine", "rita")}
    assert sorted(r.source_name for r in refs) == sorted(
        ["loose.jpg", "path.jpg", "two.png", f"evil-{tag}.jpg"])
    assert all(r.path.is_file() and inside(r.path, service.gallery.path) for r in refs)
    # The traversal member went nowhere but the gallery's own photo store.
    assert not [p for p in tmp_path.parent.rglob(f"*{tag}*")]
    assert staging_left(service) == []
    # Staged inside the gallery, named after this process so crash recovery can tell when
    # it is abandoned; and gone now.
    [staging] = staged
    assert staging.parent == service.gallery.path / "tmp"
    assert staging.name.startswith(f"{os.getpid()}.upload-") and not staging.exists()
    # Usable at once: the uploaded photo is its own nearest genuine reference.
    nearest = service.gallery.inspect(loose, brand="nike", product="boot").nearest_genuine[0]
    assert nearest.ref == added["loose.jpg"] and nearest.similarity == pytest.approx(1, abs=1e-4)

    again = service.upload(rita, "nike", "boot", "genuine", [archive])
    assert not again.added and len(again.duplicates) == 4
    assert dict(again.duplicates)["archive.zip/inner/path.jpg"] == added[
        "archive.zip/inner/path.jpg"]


def test_corrupt_zip_is_one_failed_entry_and_the_rest_imports(service: Service,
                                                             tmp_path: Path) -> None:
    broken, photo = tmp_path / "broken.zip", tmp_path / "good.jpg"
    broken.write_bytes(b"PK\x03\x04 and then nothing useful")
    photo.write_bytes(jpeg("bag", "fake", 70_101))
    report = service.upload(service.user("rita"), "nike", "bag", "fake", [broken, photo])
    assert [name for name, _ in report.added] == ["good.jpg"]
    assert [name for name, _ in report.failed] == ["broken.zip"]
    assert report.failed[0][1].startswith("not a readable zip file")
    assert service.gallery.references(ids=[report.added[0][1]])[0].label == "fake"
    assert staging_left(service) == []


def test_zip_with_one_name_twice_imports_both_photos(service: Service, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "twice.zip", [("x.jpg", jpeg("bag", "genuine", 70_201)),
                                                ("x.jpg", jpeg("bag", "genuine", 70_202))])
    report = service.upload(service.user("rita"), "nike", "bag", "genuine", [archive])
    assert [name for name, _ in report.added] == ["twice.zip/x.jpg", "twice.zip/x.jpg"]
    assert not report.duplicates and not report.failed
    assert len({r.sha256 for r in service.gallery.references(
        ids=[i for _, i in report.added])}) == 2


def test_upload_to_a_missing_product_is_refused_clearly(service: Service,
                                                        tmp_path: Path) -> None:
    rita = service.user("rita")
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg("boot", "genuine", 70_301))
    before = len(service.gallery.references())
    with pytest.raises(GalleryError, match="brand 'nike' has no product 'cap'; create it first"):
        service.upload(rita, "nike", "cap", "genuine", [photo])
    assert len(service.gallery.references()) == before and staging_left(service) == []
    service.add_product(rita, "nike", " cap ")
    report = service.upload(rita, "nike", "cap", "genuine", [photo])
    assert len(report.added) == 1
    assert service.gallery.references("nike", "cap")[0].id == report.added[0][1]


def test_a_refused_upload_leaves_no_staging_folder(service: Service, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", [("a.jpg", jpeg("boot", "fake", 70_401))])
    before = len(service.gallery.references())
    with pytest.raises(GalleryError, match="label must be genuine or fake"):
        service.upload(service.user("rita"), "nike", "boot", "maybe", [archive])
    assert staging_left(service) == []
    with pytest.raises(PermissionDenied):  # another brand's right holder
        service.upload(service.user("ron"), "nike", "boot", "fake", [archive])
    with pytest.raises(PermissionDenied):  # officers inspect, they do not curate
        service.upload(service.user("olga"), "nike", "boot", "fake", [archive])
    assert len(service.gallery.references()) == before and staging_left(service) == []


def test_upload_with_nothing_to_import_reports_only(service: Service, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("nothing to see")
    report = service.upload(service.user("ron"), "acme", "boot", "genuine", [notes])
    assert report.added == [] and report.duplicates == []
    assert report.failed == [("notes.txt", "not a photo or zip file (.txt)")]
    assert service.gallery.references("acme") == [] and staging_left(service) == []

