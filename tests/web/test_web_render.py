"""Pieces of the page that need no browser: reference thumbnails, typed text shown as text,
CSV exports that no spreadsheet runs as formulas."""

from __future__ import annotations

import csv
import html
import re
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from ipr_vision.app.web.api import in_words
from ipr_vision.app.web.common import md, plain, shown
from ipr_vision.app.web.explain_view import heat_legend
from ipr_vision.app.web.i18n import t
from ipr_vision.app.web.render import (
    CSS,
    compare_strip,
    html_table,
    match_items,
    thumbnail,
    verdict_card,
    verdict_text,
    write_csv,
)
from ipr_vision.core.heatmap import HeatMap
from ipr_vision.core.reasons import (
    ANOTHER_VIEW,
    GLOSSARY,
    HEAT_WORDS,
    QUALITY_HINTS,
    QUALITY_PREFIX,
    RETAKE,
    VERDICT_WORDS,
    because,
)
from ipr_vision.domain import Label, Verdict
from ipr_vision.errors import GalleryError
from ipr_vision.results import Explanation, Match, Suggestion


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


def suggestion(verdict: Verdict, p: float | None, reason: str = "", *,
               proposed: bool = False) -> Suggestion:
    """A suggestion as the engine makes them, for the cards (the fields the page reads)."""
    return Suggestion(
        photo="x.jpg", photo_sha256="0" * 64, brand="nike", product="jordan_1",
        product_proposed=proposed,
        product_candidates=[("jordan_1", 0.91), ("air_force_1", 0.84)] if proposed else [],
        verdict=verdict, p_counterfeit=p, calibrated=True, reason=reason, score=0.1,
        mode=None, nearest_genuine=[], nearest_fake=[],
        operating_point={"max_genuine_flagged": 0.01, "expected_fake_recall": 0.5},
        model="m", gallery_revision=1)


def visible_text(card: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", card))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cant_tell_shows_why_and_what_settles_it_never_a_confident_chance(lang: str) -> None:
    """A blurred photo scored 96.8 % counterfeit is still "can't tell": the card must not show
    that number or the bar's marker beside it."""
    reason = f"{QUALITY_PREFIX}{QUALITY_HINTS['blur'][0]}"
    card = verdict_card(lang, suggestion(Verdict.INCONCLUSIVE, 0.968, reason))
    text = visible_text(card)
    assert "ipr-bar" not in card and "96.8" not in text and "%" not in text
    assert t(lang, "verdict_inconclusive") in text and t(lang, "p_withheld") in text
    assert t(lang, "why_cant_tell") in text and QUALITY_HINTS["blur"][lang == "zh"] in text
    assert (RETAKE.zh if lang == "zh" else RETAKE.en) in text
    confident = verdict_card(lang, suggestion(Verdict.COUNTERFEIT, 0.968))
    assert "ipr-bar" in confident and "96.8 %" in visible_text(confident)
    assert t(lang, "why_cant_tell") not in visible_text(confident)


def test_a_proposed_product_is_shown_as_used_with_the_alternatives() -> None:
    card = visible_text(verdict_card("en", suggestion(Verdict.GENUINE, 0.02, proposed=True)))
    assert "jordan_1, proposed by the app (also close: air_force_1)" in card
    chosen = visible_text(verdict_card("zh", suggestion(Verdict.GENUINE, 0.02)))
    assert "比对产品：jordan_1" in chosen and "系统推荐" not in chosen


def test_verdicts_have_one_wording_on_the_page_and_in_the_pdf() -> None:
    for verdict, (en, zh) in VERDICT_WORDS.items():
        assert (verdict_text("en", verdict), verdict_text("zh", verdict)) == (en, zh)
    assert verdict_text("en", None) == t("en", "unreadable")


def test_tables_become_cards_that_name_each_cell() -> None:
    table = html_table(["photo", "suggestion"], [["<a>.jpg", "CAN'T TELL"]])
    assert '<td data-label="photo">&lt;a&gt;.jpg</td>' in table
    assert '<td data-label="suggestion">CAN&#x27;T TELL</td>' in table
    assert "@media (max-width: 640px)" in CSS and "attr(data-label)" in CSS


def test_the_photo_stands_beside_its_nearest_references(tmp_path: Path) -> None:
    reference = tmp_path / "ref.jpg"
    Image.new("RGB", (300, 200), (20, 160, 40)).save(reference)
    match = Match(35, 0.8812, "jordan_1", Label.GENUINE, "ref.jpg", "check the heel",
                  str(reference))
    shown = replace(suggestion(Verdict.GENUINE, 0.02), nearest_genuine=[match])
    strip = compare_strip("en", Image.new("RGB", (640, 480)), shown)
    assert strip.count("<img") == 2 and "data:image/jpeg;base64," in strip
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", strip)
    assert captions == ["Your photo", "Nearest genuine: #35, similarity 0.88: check the heel"]
    assert t("en", "compare_none_fake") in strip
    caption = match_items("zh", [match])[0][1]
    assert caption == "#35 正品，相似度 0.88: check the heel"


def test_the_heat_map_is_explained_in_words() -> None:
    heat = np.zeros((7, 7))
    for value, key in ((0.0, "calm"), (0.5, "some"), (1.0, "strong")):
        heat[3, 3] = value
        explanation = Explanation(suggestion(Verdict.GENUINE, 0.02), HeatMap(heat, heat),
                                  Image.new("RGB", (8, 8)), 40)
        legend = heat_legend("en", explanation)
        assert legend.startswith(HEAT_WORDS[key][0].format(n=40)) and "ovelty" not in legend


def test_scripts_get_the_screen_words_beside_the_technical_fields() -> None:
    words = in_words(suggestion(Verdict.INCONCLUSIVE, 0.9, because("between")))
    assert (words["en"]["verdict"], words["zh"]["verdict"]) == VERDICT_WORDS["inconclusive"]
    assert words["en"]["reasons"] == [GLOSSARY["between"].en]
    assert words["zh"]["reasons"] == [GLOSSARY["between"].zh]
    assert words["zh"]["settle"] == [ANOTHER_VIEW.zh]
    assert in_words(suggestion(Verdict.COUNTERFEIT, 0.9))["en"] == {
        "verdict": "LIKELY COUNTERFEIT", "reasons": [], "settle": []}
