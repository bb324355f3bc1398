"""Pieces of the page that need no browser: reference thumbnails, typed text shown as text,
CSV exports that no spreadsheet runs as formulas."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import gradio as gr
import pytest
from PIL import Image

from ipr_vision.app.web.common import md, plain, shown
from ipr_vision.app.web.render import thumbnail, write_csv
from ipr_vision.errors import GalleryError


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


HOSTILE = '<img src=x onerror="alert(1)"> **bold** [link](javascript:alert(2)) =cmd|x'


def test_typed_text_is_escaped_for_markdown_and_html() -> None:
    shown = plain(HOSTILE)
    assert "<" not in shown and ">" not in shown  # no element can start
    assert "\\*\\*bold\\*\\*" in shown and "\\[link\\]\\(javascript:alert\\(2\\)\\)" in shown
    assert html.unescape(re.sub(r"\\(.)", r"\1", shown)) == HOSTILE  # reads as typed
    line = md("en", "point_unplaced", n=1, note=HOSTILE, reason="<b>why</b>")
    assert "<img" not in line and "<b>" not in line and "&lt;b&gt;why&lt;/b&gt;" in line


def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    rows = [["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "plain", 0.5, -1.0]]
    path = write_csv(tmp_path / "out.csv", ["=h", "photo"], rows)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header, row = list(csv.reader(handle))
    assert header == ["'=h", "photo"]
    assert row == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "plain",
                   "0.5", "-1.0"]  # numbers stay numbers


def test_errors_quote_input_as_text_on_the_page_and_as_is_to_scripts() -> None:
    refused = GalleryError("unknown brand '<img src=x onerror=alert(1)>'")
    with pytest.raises(gr.Error) as on_page, shown("en"):
        raise refused
    assert "<img" not in on_page.value.message and "&lt;img src=x" in on_page.value.message
    with pytest.raises(gr.Error) as to_script, shown("en", page=False):
        raise refused
    assert to_script.value.message.endswith("unknown brand '<img src=x onerror=alert(1)>'")
