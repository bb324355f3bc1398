"""What the app says about a file it left out, in the user's language: the Gallery tab's upload
report (skipped, refused, unreadable, added though poor), what adopting an inspection refused,
and a photo the inspection log recorded as unreadable. The command line's and JSON's English
stays as it was (the real model on generated photos, no browser)."""

from __future__ import annotations

import copy
import dataclasses
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipr_vision import Gallery
from ipr_vision.app.accounts import Accounts
from ipr_vision.app.service import Service
from ipr_vision.app.web.gallery_tab import upload_report
from ipr_vision.app.web.records_tab import _adopted
from ipr_vision.app.web.render import recorded_error
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from tests.app.conftest import FAST, PASSWORD
from tests.support import synthetic_photo
from tests.web.test_web_errors import latin_words

#: What no translation applies to: the files' names and types, formats and units.
NAMES = ("good.jpg", "again.jpg", "tiny.jpg", "small.jpg", "bad.jpg", "notes.txt", "README",
         "photos.zip", "__MACOSX", ".hidden.jpg", "readme.md", "crushed.jpg", "txt", "zip",
         "MB", "GB", "BMP", "HEIF", "JPEG", "MPO", "PNG", "TIFF", "WEBP")


@pytest.fixture
def service(tmp_path: Path, embedder: MobileNetV2Embedder) -> Iterator[Service]:
    """Brand acme with product boot, its right holder ron and an officer olga."""
    gallery = Gallery(tmp_path / "g", create=True, embedder=embedder)
    gallery.add_brand("acme")
    gallery.add_product("acme", "boot")
    service = Service(gallery, users=Accounts.open(tmp_path / "g", hasher=FAST))
    service.users.add("ron", "right_holder", PASSWORD, ["acme"])
    service.users.add("olga", "officer", PASSWORD)
    yield service
    service.close()


def upload_files(folder: Path) -> list[Path]:
    """A photo, one too small to compare against, a file that is no photo, one of no type, a
    corrupt photo, and a zip of the same photo again, archiver metadata, a hidden file and
    notes."""
    folder.mkdir()
    good, tiny, bad = folder / "good.jpg", folder / "tiny.jpg", folder / "bad.jpg"
    synthetic_photo("boot", "genuine", 1).save(good, quality=92)
    synthetic_photo("boot", "genuine", 2, size=120).save(tiny, quality=92)
    bad.write_bytes(b"not a photo at all")
    (folder / "notes.txt").write_text("notes")
    (folder / "README").write_text("readme")
    with zipfile.ZipFile(folder / "photos.zip", "w") as zipped:
        zipped.write(good, "again.jpg")
        zipped.writestr("__MACOSX/._again.jpg", b"resource fork")
        zipped.writestr(".hidden.jpg", good.read_bytes())
        zipped.writestr("readme.md", "hello")
    return [good, tiny, bad, folder / "notes.txt", folder / "README", folder / "photos.zip"]


def details(update: dict[str, Any]) -> dict[str, str]:
    """The upload report's detail column by file."""
    return {name: detail for name, _, detail in update["value"]}


def test_the_upload_report_says_each_reason_in_chinese_and_the_cli_keeps_english(
        service: Service, tmp_path: Path) -> None:
    ron = service.user("ron")
    report = service.upload(ron, "acme", "boot", "genuine", upload_files(tmp_path / "up"))
    english = {entry["file"]: entry["reason"]
               for entry in [*report.to_dict()["failed"], *report.to_dict()["skipped"]]}
    assert english == {  # what the command line prints and JSON carries, unchanged
        "notes.txt": "not a photo or zip file (.txt)",
        "README": "not a photo or zip file (no type)",
        "bad.jpg": english["bad.jpg"],
        "tiny.jpg": english["tiny.jpg"],
        "photos.zip/__MACOSX/._again.jpg": "archiver metadata, not a photo",
        "photos.zip/.hidden.jpg": "a hidden file",
        "photos.zip/readme.md": "not a photo file type",
    }
    assert english["bad.jpg"].startswith("not an image, or an unsupported format")
    assert english["tiny.jpg"].startswith("poor quality for a reference: The photo is only "
                                          "120x120 pixels")
    assert english["tiny.jpg"].endswith("(to add it anyway: --allow-poor-quality; it is then "
                                        "recorded in the audit trail)")
    shown_en = details(upload_report("en", report))
    # The page says the CLI's words, but names its own checkbox where the CLI names its flag.
    assert all(shown_en[name] == reason for name, reason in english.items() if name != "tiny.jpg")
    assert shown_en["tiny.jpg"] == english["tiny.jpg"].replace(
        "--allow-poor-quality", "tick “Accept photos too small, blurred or dark”")
    assert "--" not in " ".join(shown_en.values())
    # The page keeps the report in a gr.State, which copies it: the keys go along.
    zh = details(upload_report("zh", copy.deepcopy(report)))
    assert zh["photos.zip/.hidden.jpg"] == "隐藏文件"
    assert zh["notes.txt"] == "不是照片或 zip 文件（.txt）"
    assert zh["tiny.jpg"].startswith("质量太差，不宜作为参考照片：照片只有 120x120 像素")
    for name, text in zh.items():
        assert not latin_words(text, *NAMES), (name, text)
    # What the Records tab says when adopting refuses (Markdown: names escaped).
    adopted = _adopted("zh", report).replace("\\", "")
    assert "隐藏" not in adopted and "不是图像" in adopted
    assert not latin_words(adopted, *NAMES), adopted


def test_a_photo_added_though_poor_says_why_in_chinese(service: Service, tmp_path: Path) -> None:
    small = tmp_path / "small.jpg"
    synthetic_photo("boot", "fake", 3, size=120).save(small, quality=92)
    report = service.upload(service.user("ron"), "acme", "boot", "fake", [small],
                            allow_poor_quality=True)
    (_, ref, why), = report.waived
    assert why.startswith("poor quality for a reference: The photo is only 120x120 pixels")
    assert report.to_dict()["poor_quality_allowed"] == [{"file": "small.jpg", "ref": ref,
                                                         "reason": why}]
    zh = details(upload_report("zh", report))["small.jpg"]
    assert zh.startswith(f"#{ref} (已接受低质量照片: 质量太差，不宜作为参考照片：照片只有 120x120")
    assert not latin_words(zh, *NAMES), zh


def test_a_recorded_unreadable_photo_is_said_in_chinese(service: Service,
                                                        tmp_path: Path) -> None:
    """The log keeps the English message; the page reads it back by the keys' English, so a
    record from before is said the same way, and a reason no key words is shown as it is."""
    folder = tmp_path / "photos"
    folder.mkdir()
    good = folder / "good.jpg"
    synthetic_photo("boot", "genuine", 4).save(good, quality=92)
    service.upload(service.user("ron"), "acme", "boot", "genuine", [good])
    crushed = folder / "crushed.jpg"
    crushed.write_bytes(b"not a photo at all")
    olga = service.user("olga")
    done = service.inspect(olga, "acme", None, [crushed])
    photo, = service.inspection(olga, done.inspection.id).photos
    assert photo.error is not None
    assert photo.error.startswith("crushed.jpg: not an image, or an unsupported format")
    assert recorded_error("en", photo) == photo.error
    zh = recorded_error("zh", photo)
    assert zh.startswith("crushed.jpg：不是图像，或格式不受支持（支持的格式：")
    assert not latin_words(zh, *NAMES), zh
    older = dataclasses.replace(photo, error="crushed.jpg: file is 40,000,000 bytes; the limit "
                                             "is 30,000,000 bytes")
    assert recorded_error("zh", older) == ("crushed.jpg：文件大小为 40,000,000 字节，上限为 "
                                           "30,000,000 字节")
    unknown = dataclasses.replace(photo, error="crushed.jpg: something no key words")
    assert recorded_error("zh", unknown) == "crushed.jpg: something no key words"
