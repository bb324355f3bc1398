"""The photo quality gate: real photos pass, deliberately degraded copies fail with a hint, and
a failing photo never gets a confident verdict; studio photos of the real items (cut out onto
white, grey or transparent ground) pass, and are refused once washed out, glared, blurred or
darkened."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from ipr_vision import Gallery, read_photo
from ipr_vision.core.quality import (
    ITEM_CLOSING,
    NEUTRAL_GREY,
    _closed,
    assess_quality,
    flatten_transparency,
)
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from tests.support import nike_rows, synthetic_photo
from training.studio_set import SIDE, cut_out, studio_frame, variants

#: Real photos whose items GrabCut cuts out cleanly: a white Air Force 1 and a coloured Jordan 1.
STUDIO_SOURCES = ("genuine/air_force_1/2413_jpg.rf.70e83cf861812cfe2985940d8283b680.jpg",
                  "fake/jordan_1/1815_jpg.rf.4659de8927bb6898a9fbefc5d4ac98b1.jpg")


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
    # Judged on the item: x4 blows its white lines (glare) but leaves the red pink, not white.
    assert failed(ImageEnhance.Brightness(sharp).enhance(4.0)) == {"glare"}
    assert "overexposed" in failed(ImageEnhance.Brightness(sharp).enhance(8.0))
    # On the dark-lined pattern: the white-lined one is a third near-white already, so a
    # reflection big enough to count as glare would make it washed out too.
    glare = np.asarray(synthetic_photo("boot", "fake", 1)).copy()
    glare[100:190, 100:190] = 255  # a specular reflection over a sixth of the item
    assert failed(Image.fromarray(glare)) == {"glare"}
    assert failed(sharp.resize((900, 300))) == {"framing"}
    assert failed(sharp.resize((200, 200))) == {"resolution"}
    report = assess_quality(sharp.resize((200, 200)))
    assert "200x200" in report.failed[0].hint_en and "200x200" in report.failed[0].hint_zh
    # Stored with each inspection as JSON: plain bools and floats, never NumPy's.
    assert json.loads(json.dumps(report.to_dict()))["checks"][0]["name"] == "resolution"


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


def encode(image: Image.Image) -> bytes:
    """The photo as a catalogue serves it: JPEG, or PNG when it has transparency."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG" if image.mode == "RGBA" else "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def studio(nike_dir: Path) -> list[dict[str, Image.Image]]:
    """Each source photo's studio photos and degraded copies, decoded as intake decodes them."""
    cv2.setRNGSeed(0)  # GrabCut's colour models start from k-means: the same cut every run
    made = []
    for source in STUDIO_SOURCES:
        rgb = np.asarray(read_photo(nike_dir / source).image.resize((SIDE, SIDE)))
        alpha = cut_out(rgb)
        assert alpha is not None, source
        made.append({variant: read_photo(encode(image)).image for variant, image in
                     variants(*studio_frame(rgb, alpha), zlib.crc32(source.encode())).items()})
    return made


@pytest.mark.parametrize("variant", ["white", "grey", "shadow", "transparent"])
def test_studio_photos_pass(studio: Sequence[dict[str, Image.Image]], variant: str) -> None:
    for photos in studio:
        assert failed(photos[variant]) == set(), variant


@pytest.mark.parametrize(("variant", "checks"), [
    ("washed_out", {"overexposed", "glare"}),  # a blown item is glare where it is white
    ("glare", {"glare"}),
    ("blurred", {"blur"}),
    ("dark", {"dark"}),
])
def test_degraded_studio_photos_fail(studio: Sequence[dict[str, Image.Image]], variant: str,
                                     checks: set[str]) -> None:
    for photos in studio:
        assert failed(photos[variant]) & checks, variant


def white_item_on_white(gain: float = 1.0) -> Image.Image:
    """A generated white item (leather shading, grain, a darker sole and seams) on pure white,
    its exposure multiplied by ``gain``."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:320, :320]
    leather = 215.0 - 0.2 * (rows - 160) + rng.normal(0, 4, (320, 320))
    leather[(rows - 150) % 24 < 2] -= 60  # seams
    leather[rows > 215] = 120  # the sole's edge
    inside = ((cols - 160) / 120) ** 2 + ((rows - 160) / 70) ** 2 <= 1
    photo = np.where(inside, np.clip(leather * gain, 0, 255), 255.0)
    return Image.fromarray(np.repeat(photo[..., None], 3, axis=2).astype(np.uint8))


def test_a_white_item_on_white_passes_until_it_is_washed_out() -> None:
    """Its blown leather meets the white backdrop; the item's seams and sole hold it apart."""
    assert failed(white_item_on_white()) == set()
    assert failed(white_item_on_white(1.3)) & {"overexposed", "glare"}


def cut_out_png(seed: int) -> bytes:
    """A generated item on a transparent background, as an RGBA PNG with a feathered edge."""
    alpha = Image.new("L", (320, 320), 0)
    ImageDraw.Draw(alpha).ellipse((50, 70, 270, 250), fill=255)
    item = synthetic_photo("bag", "fake", seed).convert("RGBA")
    item.putalpha(alpha.filter(ImageFilter.GaussianBlur(1)))
    buffer = io.BytesIO()
    item.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_transparent_photo_is_judged_on_neutral_grey_as_intake_decodes_it() -> None:
    data = cut_out_png(7)
    photo = read_photo(data)
    assert photo.image.getpixel((2, 2)) == NEUTRAL_GREY
    assert np.array_equal(np.asarray(photo.image),
                          np.asarray(flatten_transparency(Image.open(io.BytesIO(data)))))
    as_given, as_decoded = assess_quality(Image.open(io.BytesIO(data))), assess_quality(
        photo.image)
    assert as_given.ok and as_given == as_decoded


class Recording:
    """The real model, keeping the images it is asked to embed."""

    def __init__(self, model: MobileNetV2Embedder) -> None:
        self.model, self.input_size = model, model.input_size
        self.seen: list[Image.Image] = []

    @property
    def model_id(self) -> str:
        return self.model.model_id

    @property
    def dim(self) -> int:
        return self.model.dim

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        self.seen.extend(images)
        return self.model.embed(images)


def test_a_transparent_photo_is_embedded_on_the_grey_it_was_judged_on(
        tmp_path: Path, embedder: MobileNetV2Embedder, photo_folder: Path) -> None:
    model = Recording(embedder)
    gallery = Gallery(tmp_path / "g", embedder=model)
    gallery.import_folder(photo_folder, brand="acme")
    suggestion = gallery.inspect(cut_out_png(11), brand="acme")
    assert suggestion.quality is not None and suggestion.quality.ok
    assert model.seen[-1].getpixel((2, 2)) == NEUTRAL_GREY


def test_the_item_is_closed_as_by_the_ellipse_itself() -> None:
    """The gate closes the item by the ellipse's rectangles, for speed: the same pixels as
    OpenCV's closing by the ellipse, on masks from sparse specks to solid blobs, at the edge
    too."""
    ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ITEM_CLOSING + 1,) * 2)
    rng = np.random.default_rng(7)
    for trial in range(40):
        mask = rng.random((160 + trial, 200)) < rng.uniform(0.002, 0.5)
        if trial % 2:
            mask = cv2.dilate(mask.view(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        expected = cv2.morphologyEx(mask.view(np.uint8), cv2.MORPH_CLOSE, ellipse)
        np.testing.assert_array_equal(_closed(mask), expected)
