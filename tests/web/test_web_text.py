"""Every text the web app shows exists in English and Chinese (fast; no browser)."""

from __future__ import annotations

import importlib.util
import re

from ipr_vision.app.web.auth import language_of
from ipr_vision.app.web.common import Refused, bilingual, said, warning
from ipr_vision.app.web.gradio_strings import gradio_i18n, pairs
from ipr_vision.app.web.i18n import TEXT, t
from ipr_vision.domain import AuditAction, Role
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
        used |= set(re.findall(r"\b(?:said|Refused)\(\s*\"(\w+)\"", code))
    assert used, "the scan found no keys: the pattern no longer matches the code"
    missing = sorted(used - TEXT.keys())
    assert not missing, missing


def test_placeholders_are_filled() -> None:
    assert t("zh", "quiz_score", score=3, total=4) == "得分：3 / 4。"
    assert t("en", "quiz_score", score=3, total=4) == "Score: 3 of 4."


def test_every_kind_of_audit_entry_and_every_role_has_words() -> None:
    for action in AuditAction:
        assert f"action_{action}" in TEXT, action
    for role in [*Role, "operator", ""]:  # "operator": the command line; "": not recorded
        assert f"role_{role}" in TEXT, role


def test_gradios_own_strings_have_chinese() -> None:
    for en, zh in pairs():
        assert en.isascii() and re.search(r"[\u4e00-\u9fff]", zh), (en, zh)
    i18n = gradio_i18n()
    assert i18n.translations_dict["zh-CN"]["upload_text.drop_file"] == "将文件拖放到此处"
    assert i18n.translations_dict["en"]["common.complete"] == "Done"


def test_a_message_travels_in_both_languages() -> None:
    text = said("user_added", name="li_*ming*")
    assert '<div class="ipr-lang-en" lang="en">' in text and "User li\\_\\*ming\\* added." in text
    assert '<div class="ipr-lang-zh" lang="zh">' in text and "已添加用户 li\\_\\*ming\\*。" in text
    assert bilingual(lambda lang: "") == ""
    assert "Could not do that: Choose a brand first\\." in warning(Refused("choose_brand"))
    assert "请先选择品牌。" in warning(Refused("choose_brand"))


def test_the_language_chosen_last_wins() -> None:
    assert language_of("zh", "en", "en-GB") == "zh"  # just chosen on the login page
    assert language_of(None, "zh", "en-GB") == "zh"  # kept from the last choice
    assert language_of(None, None, "zh-CN,zh;q=0.9") == "zh"  # the browser's
    assert language_of("fr", "xx", "de-DE") == "en"


def test_the_demos_login_hint_names_each_role_in_both_languages() -> None:
    """The demo lists its accounts on the login page, before a language is chosen: each role
    by its name in English and Chinese, never an id like ``right_holder``."""
    spec = importlib.util.spec_from_file_location("run_demo", REPO / "demo" / "run_demo.py")
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    hint = demo.login_hint([("holder", "right_holder", "pw1"), ("officer", "officer", "pw2")])
    assert "right_holder" not in hint
    assert "holder / pw1 (right holder, 权利人)" in hint and "(officer, 执法人员)" in hint
