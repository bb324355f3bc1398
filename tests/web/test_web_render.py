"""Pieces of the page that need no browser: reference thumbnails."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ipr_vision.app.web.render import thumbnail


def test_thumbnails_are_upright_and_bounded(tmp_path: Path) -> None:
    """A phone photo stored sideways (EXIF orientation 6) shows upright in the grid."""
    path = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.new("RGB", (800, 400), (200, 30, 30)).save(path, exif=exif)
    image = thumbnail(path, 200)
    assert image is not None and image.size == (100, 200)
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    assert thumbnail(tmp_path / "broken.jpg", 200) is None
