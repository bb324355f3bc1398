"""Every text the web app shows exists in English and Chinese (fast; no browser)."""

from __future__ import annotations

import re

from ipr_vision.app.web.i18n import TEXT, t
from tests.support import REPO

WEB = REPO / "ipr_vision" / "app" / "web"


def test_every_text_has_both_languages() -> None:
    for key, (en, zh) in TEXT.items():
        assert en.strip() and zh.strip(), key
        assert sorted(re.findall(r"{(\w+)", en)) == sorted(re.findall(r"{(\w+)", zh)), key
        words = re.sub(r"{[^}]*}", "", en)
        if re.search(r"[A-Za-z]{3}", words):
            assert re.search(r"[\u4e00-\u9fff]", zh), f"{key}: no Chinese in {zh!r}"


def test_every_key_the_code_uses_is_translated() -> None:
    """A typo in a key would show a KeyError to a user; catch it here instead."""
    used: set[str] = set()
    for source in WEB.glob("*.py"):
        code = source.read_text(encoding="utf-8")
        used |= set(re.findall(
            r"\b(?:t|md)\(\s*(?:lang|language|\"en\"|'en'|\"zh\"),\s*\"(\w+)\"", code))
        used |= set(re.findall(r"ui\.text\([^\n]*?,\s*\"(\w+)\"(?:,\s*\"\w+\")?\)", code))
    assert used, "the scan found no keys: the pattern no longer matches the code"
    missing = sorted(used - TEXT.keys())
    assert not missing, missing


def test_placeholders_are_filled() -> None:
    assert t("zh", "quiz_score", score=3, total=4) == "得分：3 / 4。"
    assert t("en", "quiz_score", score=3, total=4) == "Score: 3 of 4."
