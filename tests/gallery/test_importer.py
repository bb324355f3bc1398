"""The importer with the real model on generated photos: what a folder scan reports, duplicates
within one import, and commits in batches (each moves the brand's revision once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipr_vision.core.scoring import Policy
from ipr_vision.domain import Label
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError
from ipr_vision.gallery.brands import BrandCache
from ipr_vision.gallery.importer import Importer, scan_folder
from ipr_vision.gallery.models import Models
from ipr_vision.intake.labelled import LabelledPhoto, named_group
from ipr_vision.storage import SqliteGalleryStore
from tests.support import query_photo, synthetic_photo


def test_a_folder_scan_reports_what_it_cannot_import(tmp_path: Path) -> None:
    for relative in ("boot/genuine/a.png", "boot/Fake/b.png", "boot/genuine/deep/c.png"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        synthetic_photo("boot", "genuine", len(relative)).save(tmp_path / relative)
    (tmp_path / "boot" / "genuine" / "notes.txt").write_text("not a photo")
    (tmp_path / "boot" / "genuine" / ".hidden.png").write_bytes(b"")
    (tmp_path / "loose.png").write_bytes(b"")
    (tmp_path / "boot" / "maybe").mkdir()
    (tmp_path / "boot" / "maybe" / "d.png").write_bytes(b"")
    items, report = scan_folder(tmp_path)
    assert sorted((i.source.name, i.product, i.label) for i in items) == [
        ("a.png", "boot", Label.GENUINE), ("b.png", "boot", Label.FAKE),
        ("c.png", "boot", Label.GENUINE)]
    reasons = {Path(file).name: reason for file, reason in report.failed}
    assert reasons == {"notes.txt": "not a photo file type (.txt)",
                       "loose.png": "not under <product>/<genuine|fake>/",
                       "d.png": "not under <product>/<genuine|fake>/"}
    (tmp_path / "empty").mkdir()
    with pytest.raises(GalleryError, match="no photos found"):
        scan_folder(tmp_path / "empty")
    with pytest.raises(GalleryError, match="is not a folder"):
        scan_folder(tmp_path / "loose.png")


def test_batches_duplicates_and_unreadable_photos(tmp_path: Path,
                                                  embedder: MobileNetV2Embedder) -> None:
    store = SqliteGalleryStore(tmp_path / "g")
    importer = Importer(store, BrandCache(store, Models(lambda: embedder), Policy()))
    photos = [query_photo(tmp_path / "in", "boot", "genuine", seed) for seed in range(40)]
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    items = [LabelledPhoto(p, "boot", Label.GENUINE, named_group(p.stem)) for p in photos]
    items.insert(5, LabelledPhoto(photos[0], "boot", Label.GENUINE))  # the same photo again
    items.append(LabelledPhoto(tmp_path / "in" / "broken.jpg", "boot", Label.GENUINE))
    report = importer.run(items, "acme", "tester")
    assert len(report.added) == 40 and report.duplicates == [(str(photos[0]), -1)]
    assert [Path(f).name for f, _ in report.failed] == ["broken.jpg"]
    # 40 new photos, 32 per transaction: two commits, each moving the revision by one.
    assert store.revision("acme") == 2
    refs = store.references("acme")
    assert {r.photo_group for r in refs} == {f"group:{p.stem}" for p in photos}
    assert {r.added_by for r in refs} == {"tester"}
    again = importer.run(items[:3], "acme", "tester")
    assert [ref for _, ref in again.duplicates] == [dict(report.added)[str(p)]
                                                    for p in photos[:3]]
    assert store.revision("acme") == 2 and store.integrity_problems() == []


def test_links_loops_and_hidden_files_are_reported_never_silently_dropped(
        tmp_path: Path) -> None:
    photos = tmp_path / "in" / "boot" / "genuine"
    photos.mkdir(parents=True)
    synthetic_photo("boot", "genuine", 1).save(photos / "a.png")
    (photos / "loop.jpg").symlink_to(photos / "loop.jpg")
    (photos / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    (photos / "link.png").symlink_to(photos / "a.png")  # a link to a file is followed
    (tmp_path / "elsewhere").mkdir()
    (photos / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (photos / ".DS_Store").write_bytes(b"finder")
    items, report = scan_folder(tmp_path / "in")
    assert [i.source.name for i in items] == ["a.png", "link.png"]
    assert {Path(f).name: r for f, r in report.failed} == {
        "dangling.jpg": "not a readable file (a broken link or a loop?)",
        "loop.jpg": "not a readable file (a broken link or a loop?)"}
    assert {Path(f).name: r for f, r in report.skipped} == {
        ".DS_Store": "a hidden file", "more": "a link to a folder, not followed"}


@pytest.mark.parametrize(("name", "message"), [
    ("", "a brand needs a name"), ("  ", "a brand needs a name"),
    ("a/b", "no '/'"), ("..", "not '.' or '..'"), ("nike\nadidas", "no line breaks"),
    ("x" * 65, "at most 64 characters"),
])
def test_brand_names_are_checked_before_anything_is_stored(
        tmp_path: Path, embedder: MobileNetV2Embedder, name: str, message: str) -> None:
    store = SqliteGalleryStore(tmp_path / "g")
    importer = Importer(store, BrandCache(store, Models(lambda: embedder), Policy()))
    photo = query_photo(tmp_path, "boot", "genuine", 1)
    with pytest.raises(GalleryError, match=message):
        importer.run([LabelledPhoto(photo, "boot", Label.GENUINE)], name, "tester")
    assert store.brands() == []


def test_a_product_without_a_usable_name_is_that_photos_error(
        tmp_path: Path, embedder: MobileNetV2Embedder) -> None:
    store = SqliteGalleryStore(tmp_path / "g")
    importer = Importer(store, BrandCache(store, Models(lambda: embedder), Policy()))
    good, bad = (query_photo(tmp_path, "boot", "genuine", seed) for seed in (1, 2))
    report = importer.run([LabelledPhoto(good, "air max 1", Label.GENUINE),
                           LabelledPhoto(bad, "../etc", Label.GENUINE)], " nike ", "tester")
    assert [Path(f).name for f, _ in report.added] == [good.name]
    assert report.failed == [(str(bad), "product name '../etc': no '/' or '\\', and not '.' "
                                        "or '..'")]
    assert store.brands() == ["nike"] and store.products("nike") == ["air max 1"]
