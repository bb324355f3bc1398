"""Photo intake: every accepted format and mode becomes upright RGB; everything else is refused
with a PhotoError that says why, and one bad file never stops a batch."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from ipr_vision import PhotoError, read_photo
from ipr_vision.core.quality import NEUTRAL_GREY
from ipr_vision.intake.photo import HEIC_SUPPORTED, iter_photos


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def red_left_half(width: int = 40, height: int = 20) -> Image.Image:
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    return image


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    """An RGB pixel (the decoder's output is always RGB)."""
    value = image.getpixel(xy)
    assert isinstance(value, tuple), value
    return value


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF"])
def test_common_formats_open_as_rgb(fmt: str) -> None:
    photo = read_photo(encode(red_left_half(), fmt), name=f"x.{fmt.lower()}")
    assert photo.image.mode == "RGB"
    assert photo.image.size == (40, 20)
    left, right = pixel(photo.image, (5, 10)), pixel(photo.image, (35, 10))
    assert left[0] > 200 and left[2] < 60
    assert right[2] > 200 and right[0] < 60
    assert photo.format in {fmt, "MPO"}
    assert len(photo.sha256) == 64


@pytest.mark.skipif(not HEIC_SUPPORTED, reason="pillow-heif is a declared dependency")
def test_heic_from_phones_opens() -> None:
    data = encode(red_left_half(64, 32), "HEIF", quality=90)
    photo = read_photo(data, name="phone.heic")
    assert photo.format == "HEIF" and photo.extension == ".heic"
    assert photo.image.mode == "RGB" and photo.image.size == (64, 32)
    assert pixel(photo.image, (5, 16))[0] > 180


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees clockwise
    photo = read_photo(encode(red_left_half(), "JPEG", exif=exif, quality=95))
    assert photo.image.size == (20, 40)
    # The red left half ends up on top after a clockwise turn.
    assert pixel(photo.image, (10, 5))[0] > 200
    assert pixel(photo.image, (10, 35))[2] > 200


def test_broken_exif_keeps_the_photo() -> None:
    data = bytearray(encode(red_left_half(), "JPEG", exif=b"Exif\x00\x00MM\x00*garbage"))
    photo = read_photo(bytes(data))
    assert photo.image.size == (40, 20)


@pytest.mark.parametrize(("mode", "colour", "expected"), [
    ("L", 128, (128, 128, 128)),
    ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
    ("RGBA", (0, 0, 0, 0), NEUTRAL_GREY),  # transparent becomes the gate's grey, not black
    ("LA", (0, 255), (0, 0, 0)),
    ("LA", (255, 0), NEUTRAL_GREY),
    ("P", 3, None),
])
def test_any_mode_becomes_rgb(mode: str, colour: object, expected: tuple | None) -> None:
    image = Image.new(mode, (16, 16), colour)  # type: ignore[arg-type]
    # Palette images go through PNG: Pillow 12.3 writes a palette BMP it cannot read back.
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    photo = read_photo(encode(image, fmt))
    assert photo.image.mode == "RGB"
    if expected is not None:
        assert np.abs(np.subtract(pixel(photo.image, (8, 8)), expected)).max() <= 3


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    values = np.array([[0, 32768], [65535, 16384]], dtype=np.uint16).repeat(8, 0).repeat(8, 1)
    photo = read_photo(encode(Image.fromarray(values), "PNG"))
    pixels = np.asarray(photo.image)[:, :, 0]
    assert pixels[0, 0] == 0 and pixels[8, 0] == 255
    assert 120 <= pixels[0, 8] <= 135 and 60 <= pixels[8, 8] <= 68


def test_transparent_palette_png_composites_on_neutral_grey() -> None:
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0] * 256)
    photo = read_photo(encode(image, "PNG", transparency=0))
    assert pixel(photo.image, (4, 4)) == NEUTRAL_GREY


def test_half_transparent_pixels_blend_with_the_grey_and_keep_the_colour_profile(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A cut-out's feathered edge is a blend of item and grey, and an embedded colour profile
    is still applied once the transparency is flattened (compositing drops the image's info)."""
    converted: list[str] = []
    original = ImageCms.profileToProfile

    def spy(image: Image.Image, *args: Any, **options: Any) -> Image.Image | None:
        converted.append(image.mode)
        return original(image, *args, **options)

    monkeypatch.setattr(ImageCms, "profileToProfile", spy)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.new("RGBA", (8, 8), (255, 255, 255, 128))
    photo = read_photo(encode(image, "PNG", icc_profile=srgb))
    assert np.abs(np.subtract(pixel(photo.image, (4, 4)), (191, 191, 191))).max() <= 2
    assert converted == ["RGB"]


def test_draft_decodes_large_jpeg_at_reduced_scale() -> None:
    data = encode(Image.new("RGB", (2000, 1000), (10, 200, 10)), "JPEG")
    small = read_photo(data, draft_size=224).image
    assert 224 <= min(small.size) < 1000
    assert read_photo(data).image.size == (2000, 1000)


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width x height`` pixels."""
    base = encode(Image.new("L", (1, 1)), "PNG")
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    patched = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return base[:8] + patched + base[8 + 25:]


@pytest.mark.parametrize(("data", "fragment"), [
    (b"", "empty"),
    (b"hello, this is text and not a photo", "not an image"),
    (b"GIF89a" + encode(Image.new("P", (4, 4)), "GIF")[6:], "unsupported format GIF"),
    (bomb_png(100_000, 100_000), "too large"),
    (bomb_png(12_000, 12_000), "limit is 100,000,000 pixels"),
])
def test_refused_with_a_reason(data: bytes, fragment: str) -> None:
    with pytest.raises(PhotoError, match=fragment):
        read_photo(data, name="upload", max_pixels=100_000_000)


def test_truncated_jpeg_is_refused() -> None:
    data = encode(Image.effect_noise((256, 256), 60).convert("RGB"), "JPEG", quality=95)
    with pytest.raises(PhotoError, match="truncated or corrupt"):
        read_photo(data[: len(data) // 2])


def test_size_limits(tmp_path: Path) -> None:
    data = encode(Image.effect_noise((64, 64), 50), "PNG")
    with pytest.raises(PhotoError, match="limit is 100 bytes"):
        read_photo(data, max_bytes=100)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(PhotoError, match="limit is 100 bytes"):
        read_photo(path, max_bytes=100)
    with pytest.raises(PhotoError, match="limit is 500 pixels"):
        read_photo(path, max_pixels=500)


def test_path_problems(tmp_path: Path) -> None:
    with pytest.raises(PhotoError, match="file not found"):
        read_photo(tmp_path / "missing.jpg")
    with pytest.raises(PhotoError, match="not a file"):
        read_photo(tmp_path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(PhotoError, match="empty"):
        read_photo(tmp_path / "empty.jpg")


def test_batch_goes_on_after_a_bad_file(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(encode(red_left_half(), "PNG"))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really")
    results = list(iter_photos([good, bad, good]))
    assert [type(r).__name__ for r in results] == ["Photo", "PhotoError", "Photo"]
    assert str(bad) in str(results[1])


VALID = [encode(red_left_half(), fmt) for fmt in ("JPEG", "PNG", "WEBP", "BMP", "TIFF")]


def check_intake(data: bytes) -> None:
    """The property: a photo comes back as RGB, or PhotoError; never another exception."""
    try:
        photo = read_photo(data, max_pixels=1_000_000)
    except PhotoError:
        return
    assert photo.image.mode == "RGB"
    assert photo.image.width >= 1 and photo.image.height >= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_fuzz_random_bytes(data: bytes) -> None:
    check_intake(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                        max_size=8), st.integers(0, 10_000))
def test_fuzz_mutated_photos(base: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(base)
    for position, value in flips:
        data[position % len(data)] = value
    check_intake(bytes(data[: max(1, len(data) - cut % len(data))]))


def link_loop(folder: Path) -> Path:
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    return folder / "loop.jpg"


def inside_a_file(folder: Path) -> Path:
    (folder / "file.jpg").write_bytes(b"x")
    return folder / "file.jpg" / "x.jpg"


def name_too_long(folder: Path) -> Path:
    return folder / ("n" * 300 + ".jpg")


@pytest.mark.parametrize(("make", "reason"), [
    (link_loop, "cannot be read (Too many levels of symbolic links)"),
    (inside_a_file, "cannot be read (Not a directory)"),
    (name_too_long, "cannot be read (File name too long)"),
])
def test_a_path_the_system_refuses_is_that_photos_error(
        tmp_path: Path, make: Callable[[Path], Path], reason: str) -> None:
    with pytest.raises(PhotoError) as refused:
        read_photo(make(tmp_path))
    assert refused.value.reason == reason
