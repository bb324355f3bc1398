"""The photo quality gate: real photos pass, deliberately degraded copies fail with a hint, and
a failing photo never gets a confident verdict."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from ipr_vision import read_photo
from ipr_vision.core.quality import assess_quality
from tests.support import nike_rows, synthetic_photo


def failed(image: Image.Image, size: tuple[int, int] | None = None) -> set[str]:
    return {check.name for check in assess_quality(image, size).failed}


@pytest.fixture(scope="module")
def real_photos(nike_dir: Path) -> list[Image.Image]:
    rows = nike_rows(nike_dir)[::25]  # about 120 photos across products and labels
    return [Image.open(nike_dir / row["path"]).convert("RGB") for row in rows]


def test_real_photos_pass(real_photos: list[Image.Image]) -> None:
    failures = [failed(photo) for photo in real_photos]
    assert np.mean([not f for f in failures]) >= 0.95
    assert np.mean(["blur" in f for f in failures]) <= 0.02
    assert np.mean(["dark" in f for f in failures]) <= 0.02


@pytest.mark.parametrize(("degrade", "check"), [
    (lambda im: im.filter(ImageFilter.GaussianBlur(2)), "blur"),
    (lambda im: ImageEnhance.Brightness(im).enhance(0.2), "dark"),
    (lambda im: im.resize((120, 120)), "resolution"),
])
def test_degraded_real_photos_fail(real_photos: list[Image.Image], degrade, check: str) -> None:
    caught = [check in failed(degrade(photo)) for photo in real_photos]
    assert np.mean(caught) >= 0.95


def test_each_check_on_generated_photos() -> None:
    sharp = synthetic_photo("boot", "genuine", 1)
    assert failed(sharp) == set()
    assert failed(sharp.filter(ImageFilter.GaussianBlur(4))) == {"blur"}
    assert "dark" in failed(ImageEnhance.Brightness(sharp).enhance(0.1))
    assert "overexposed" in failed(ImageEnhance.Brightness(sharp).enhance(4.0))
    glare = np.asarray(sharp).copy()
    glare[100:220, 100:220] = 255  # a specular reflection over 14 % of the photo
    assert failed(Image.fromarray(glare)) == {"glare"}
    assert failed(sharp.resize((900, 300))) == {"framing"}
    assert failed(sharp.resize((200, 200))) == {"resolution"}
    report = assess_quality(sharp.resize((200, 200)))
    assert "200x200" in report.failed[0].hint_en and "200x200" in report.failed[0].hint_zh


def test_size_as_taken_survives_draft_decoding_and_rotation() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # shot sideways
    Image.new("RGB", (2400, 1200), (120, 90, 60)).save(buffer, "JPEG", exif=exif)
    photo = read_photo(buffer.getvalue(), draft_size=224)
    assert max(photo.image.size) < 2400  # decoded at reduced scale ...
    assert photo.original_size == (1200, 2400)  # ... but judged at the size it was taken


def test_a_poor_photo_gets_no_confident_verdict(tmp_path: Path, embedder, photo_folder) -> None:
    from ipr_vision import Gallery

    gallery = Gallery(tmp_path / "g", embedder=embedder)
    gallery.import_folder(photo_folder, brand="acme")
    sharp = tmp_path / "sharp.png"
    synthetic_photo("boot", "fake", 31_337).save(sharp)
    assert gallery.inspect(sharp, brand="acme").verdict == "counterfeit"
    blurred = tmp_path / "blurred.png"
    Image.open(sharp).filter(ImageFilter.GaussianBlur(4)).save(blurred)
    suggestion = gallery.inspect(blurred, brand="acme")
    assert suggestion.verdict == "inconclusive"
    assert suggestion.reason.startswith("photo quality: The photo is blurred")
    assert suggestion.quality is not None and not suggestion.quality.ok
    data = suggestion.to_dict()["quality"]
    assert data["ok"] is False and {c["name"] for c in data["checks"] if not c["ok"]} == {"blur"}
