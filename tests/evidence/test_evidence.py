"""Evidence packs with the real MobileNetV2 on generated photos: every file hashed and listed,
the photo kept byte for byte, a readable bilingual PDF, problems noted rather than fatal, nothing
half-written left behind, and ``inspect --evidence`` end to end."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from ipr_vision import EvidenceFigure, Gallery, IprVisionError, Suggestion, write_evidence_pack
from ipr_vision.core.quality import assess_quality
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.evidence import DISCLAIMER_EN, DISCLAIMER_ZH
from ipr_vision.evidence import pack as evidence_module
from ipr_vision.intake.photo import HEIC_SUPPORTED
from tests.support import synthetic_photo

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
            photo_folder: Path) -> Gallery:
    """Built once per module: packs only read the gallery (48 photos, 12 per cell)."""
    path = tmp_path_factory.mktemp("evidence") / "g"
    gallery = Gallery(path, embedder=embedder)
    report = gallery.import_folder(photo_folder, brand="acme", added_by="tester")
    assert len(report.added) == 48 and not report.failed
    return gallery


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("upload") / "suspect.jpg"
    synthetic_photo("boot", "fake", 55_001).save(path, quality=90)
    return path


@pytest.fixture(scope="module")
def suggestion(gallery: Gallery, upload: Path) -> Suggestion:
    return gallery.inspect(upload, brand="acme")


def manifest(folder: Path) -> dict[str, str]:
    """``SHA256SUMS`` as {file: sha256}, in the format ``sha256sum -c`` reads."""
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mapped_characters(pdf: bytes) -> set[str]:
    """The characters the PDF's embedded font subsets can show (from their ToUnicode maps).

    A subset holds only the glyphs drawn, so a character here was written on some page.
    """
    chunks = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            continue
    chars: set[str] = set()
    for chunk in chunks:
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", chunk, re.S):
            for target in re.findall(rb"<[0-9A-Fa-f]+>\s*<([0-9A-Fa-f]+)>", block):
                chars.add(bytes.fromhex(target.decode()).decode("utf-16-be"))
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", chunk, re.S):
            for low, high, start in re.findall(
                    rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                first = int(start, 16)
                chars.update(chr(first + i) for i in range(int(high, 16) - int(low, 16) + 1))
    return chars


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_pack_lists_and_hashes_every_file(suggestion: Suggestion, upload: Path,
                                          tmp_path: Path) -> None:
    pack = write_evidence_pack(suggestion, upload, tmp_path / "out", officer="Officer Wang 王",
                               created_at=CREATED)
    sha = hashlib.sha256(upload.read_bytes()).hexdigest()
    assert pack.folder.name == f"20260102T030405Z-{sha[:12]}"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [pack.folder.name]  # no leftovers
    assert pack.json.is_file() and pack.pdf.is_file() and pack.manifest.name == "SHA256SUMS"

    sums = manifest(pack.folder)
    on_disk = {p.relative_to(pack.folder).as_posix() for p in pack.folder.rglob("*")
               if p.is_file()}
    assert set(sums) == on_disk - {"SHA256SUMS"}
    assert {"evidence.json", "evidence.pdf", "photo.jpg"} <= set(sums)
    assert all(sha256(pack.folder / name) == digest for name, digest in sums.items())

    data = json.loads(pack.json.read_text())
    # The photo as received: its bytes and sha256 are the upload's.
    assert (pack.folder / data["photo"]["file"]).read_bytes() == upload.read_bytes()
    assert data["photo"]["sha256"] == sha == suggestion.photo_sha256 == sums["photo.jpg"]
    matches = suggestion.nearest_genuine + suggestion.nearest_fake
    assert len(data["references"]) == len(matches) >= 2
    for ref, match in zip(data["references"], matches, strict=True):
        assert ref["ref"] == match.ref and ref["problem"] == ""
        assert ref["sha256"] == sha256(pack.folder / ref["file"]) == sha256(Path(match.path))
        assert sums[ref["file"]] == ref["sha256"]

    assert data["suggestion"] == json.loads(json.dumps(suggestion.to_dict()))
    assert data["suggestion"]["verdict"] == suggestion.verdict == "counterfeit"
    assert data["suggestion"]["model"].startswith("mobilenet_v2@b03531047ffacf1e")
    assert data["suggestion"]["gallery_revision"] == suggestion.gallery_revision
    assert data["officer"] == "Officer Wang 王" and data["created_at"] == "2026-01-02T03:04:05Z"
    assert data["disclaimer"] == {"en": DISCLAIMER_EN, "zh": DISCLAIMER_ZH}
    assert "not a legal determination" in DISCLAIMER_EN and "不构成法律认定" in DISCLAIMER_ZH
    assert data["notes"] == []


def test_pdf_is_a4_and_shows_the_chinese_disclaimer(suggestion: Suggestion, upload: Path,
                                                    tmp_path: Path) -> None:
    assert evidence_module.cjk_font() is not None, "pylopdf-fonts-zh-cn is a declared dependency"
    pack = write_evidence_pack(suggestion, upload.read_bytes(), tmp_path, officer="tester",
                               created_at=CREATED)
    pdf = pack.pdf.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pages(pdf) >= 1
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4 in points
    assert b"NotoSansSC" in pdf and b"/FontFile3" in pdf  # the CJK font is embedded
    shown = mapped_characters(pdf)
    chinese = {c for c in DISCLAIMER_ZH if "\u4e00" <= c <= "\u9fff"}
    assert chinese <= shown, sorted(chinese - shown)
    assert set("判定摘要检查员") <= shown  # bilingual labels


def test_missing_or_unreadable_references_are_noted(suggestion: Suggestion, upload: Path,
                                                    tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    genuine = dataclasses.replace(suggestion.nearest_genuine[0], path=str(tmp_path / "gone.jpg"),
                                  note="鞋头缝线均匀")
    fake = dataclasses.replace(suggestion.nearest_fake[0], path=str(broken))
    damaged = dataclasses.replace(suggestion, nearest_genuine=[genuine],
                                  nearest_fake=[fake, *suggestion.nearest_fake[1:]])
    pack = write_evidence_pack(damaged, upload, tmp_path / "out", officer="tester")
    data = json.loads(pack.json.read_text())
    missing, unreadable = data["references"][0], data["references"][1]
    assert missing["file"] is None and missing["sha256"] is None
    assert "cannot read" in missing["problem"] and "gone.jpg" in missing["problem"]
    assert unreadable["sha256"] == hashlib.sha256(b"not a photo").hexdigest()
    assert (pack.folder / unreadable["file"]).read_bytes() == b"not a photo"
    assert "cannot be shown" in unreadable["problem"]
    assert len(data["notes"]) == 2 and f"#{genuine.ref}" in data["notes"][0]
    assert all(sha256(pack.folder / name) == digest
               for name, digest in manifest(pack.folder).items())
    assert pages(pack.pdf.read_bytes()) >= 1


@pytest.mark.skipif(not HEIC_SUPPORTED, reason="pillow-heif is a declared dependency")
def test_heic_and_huge_photos_are_kept_whole_and_drawn_small(gallery: Gallery,
                                                             tmp_path: Path) -> None:
    buffer = io.BytesIO()
    synthetic_photo("bag", "genuine", 55_002).save(buffer, "HEIF", quality=90)
    heic = buffer.getvalue()
    pack = write_evidence_pack(gallery.inspect(heic, brand="acme"), heic, tmp_path,
                               officer="tester", created_at=CREATED)
    assert (pack.folder / "photo.heic").read_bytes() == heic
    assert b"/DCTDecode" in pack.pdf.read_bytes()  # drawn as JPEG, which every reader shows

    huge = tmp_path / "huge.jpg"  # a 27 MP camera photo
    synthetic_photo("bag", "genuine", 55_003, size=400).resize((6000, 4500)).save(huge)
    pack = write_evidence_pack(gallery.inspect(huge, brand="acme"), huge, tmp_path / "huge",
                               officer="tester")
    assert (pack.folder / "photo.jpg").read_bytes() == huge.read_bytes()
    widths = [int(w) for w in re.findall(rb"/Width (\d+)", pack.pdf.read_bytes())]
    assert widths and max(widths) <= 1000  # drawn downscaled, not whole


def test_quality_report_and_extra_figures(suggestion: Suggestion, upload: Path,
                                          tmp_path: Path) -> None:
    blurred = Image.open(upload).convert("RGB").filter(ImageFilter.GaussianBlur(6))
    report = assess_quality(blurred)
    assert [check.name for check in report.failed] == ["blur"]
    poor = dataclasses.replace(suggestion, quality=report)
    heatmap = Image.new("RGBA", (64, 48), (255, 0, 0, 128))
    figures: list[EvidenceFigure | tuple[str, Image.Image]] = [
        ("Heatmap", heatmap), EvidenceFigure("Points", heatmap, "caption")]
    pack = write_evidence_pack(poor, upload, tmp_path, officer="tester", extra_figures=figures)
    data = json.loads(pack.json.read_text())
    blur = data["suggestion"]["quality"]["checks"][1]
    assert blur["name"] == "blur" and not blur["ok"]
    # The quality section was drawn: the blur hint's characters are in the embedded font.
    assert set("拿稳手机") <= mapped_characters(pack.pdf.read_bytes())
    stored = data["figures"]
    assert [f["title"] for f in stored] == ["Heatmap", "Points"]
    assert stored[0]["file"] == "figures/01-heatmap.png"
    sums = manifest(pack.folder)
    assert all(sums[f["file"]] == f["sha256"] == sha256(pack.folder / f["file"])
               for f in stored)


def test_english_only_without_a_cjk_font(suggestion: Suggestion, upload: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence_module, "cjk_font", lambda: None)
    noted = dataclasses.replace(suggestion.nearest_fake[0], note="假冒：字体过细")
    pack = write_evidence_pack(dataclasses.replace(suggestion, nearest_fake=[noted]), upload,
                               tmp_path, officer="王 officer")
    pdf = pack.pdf.read_bytes()
    assert pdf.startswith(b"%PDF-") and pages(pdf) >= 1 and b"NotoSansSC" not in pdf
    data = json.loads(pack.json.read_text())
    assert "English only" in data["notes"][-1] and data["software"]["pdf_font"] is None
    assert data["disclaimer"]["zh"] == DISCLAIMER_ZH  # the JSON keeps the Chinese


def test_refusals_and_failures_leave_nothing_behind(suggestion: Suggestion, upload: Path,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    other = io.BytesIO()
    synthetic_photo("boot", "fake", 55_004).save(other, "PNG")
    with pytest.raises(IprVisionError, match="not the photo this suggestion was made for"):
        write_evidence_pack(suggestion, other.getvalue(), out, officer="tester")
    with pytest.raises(ValueError, match="time zone"):
        write_evidence_pack(suggestion, upload, out, officer="tester",
                            created_at=datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="officer"):
        write_evidence_pack(suggestion, upload, out, officer="  ")

    def crash(*args: object) -> bytes:
        raise KeyboardInterrupt  # killed while drawing the PDF, after the photos were copied

    monkeypatch.setattr(evidence_module, "render_pdf", crash)
    with pytest.raises(KeyboardInterrupt):
        write_evidence_pack(suggestion, upload, out, officer="tester")
    assert list(out.iterdir()) == []


def test_two_packs_of_one_photo_in_one_second_are_both_kept(suggestion: Suggestion,
                                                            upload: Path,
                                                            tmp_path: Path) -> None:
    first = write_evidence_pack(suggestion, upload, tmp_path, officer="a", created_at=CREATED)
    second = write_evidence_pack(suggestion, upload, tmp_path, officer="b",
                                 created_at=CREATED.astimezone(timezone(timedelta(hours=8))))
    assert second.folder.name == first.folder.name + "-2"
    assert json.loads(second.json.read_text())["created_at"] == "2026-01-02T03:04:05Z"
    assert json.loads(first.json.read_text())["officer"] == "a"


def test_cli_inspect_writes_a_pack_per_photo(gallery: Gallery, upload: Path,
                                             tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ipr_vision", "inspect", str(upload), "--gallery",
         str(gallery.path), "--brand", "acme", "--evidence", str(tmp_path / "packs"),
         "--officer", "Officer Li", "--json"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    folder = Path(line["evidence"])
    assert folder.parent == tmp_path / "packs" and folder.name.endswith(line["photo_sha256"][:12])
    data = json.loads((folder / "evidence.json").read_text())
    assert data["officer"] == "Officer Li" and data["suggestion"]["verdict"] == line["verdict"]
    assert all(sha256(folder / name) == digest for name, digest in manifest(folder).items())
    heat = [name for name in manifest(folder) if name.startswith("figures/")]
    assert len(heat) == 1 and "differs" in heat[0]  # the heat map of where the photo differs
    assert Image.open(folder / heat[0]).size == Image.open(upload).size


def test_half_packs_of_dead_writers_are_removed(suggestion: Suggestion, upload: Path,
                                                tmp_path: Path) -> None:
    dead = tmp_path / ".partial-999999999-20260101T000000Z-abc-123456"
    dead.mkdir()
    (dead / "photo.jpg").write_bytes(b"half")
    mine = tmp_path / f".partial-{os.getpid()}-20260101T000000Z-abc-654321"
    mine.mkdir()  # a pack this (living) process is still writing
    write_evidence_pack(suggestion, upload, tmp_path, officer="tester")
    assert not dead.exists() and mine.exists()
