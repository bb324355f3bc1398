"""The app in Chinese, in a real browser (the app, Chromium and login of test_web.py, started
afresh for this module; its login fails a test on any console error or warning).

Every tab of every role, after the actions that fill it (an inspection, an outcome, a
selected reference and its health figures, a quiz to its end, the audit trail), at a desk's
1366x900 and a phone's 390x844: no visible text, tooltip or placeholder may be English, Gradio's
own strings included, but what no translation applies to (:data:`ALLOWED`: ids, names, file
names, numbers and units). The language switch in the page turns Gradio's strings and what is
on screen (status lines too) into the other language and back; the login page's switch
carries into the app and into the next visit.

Screenshots: ``artifacts/screenshots/zh-<role>-<tab>-<desk|phone>.png`` and ``switch-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ipr_vision.app.web.gradio_strings import LANGUAGE_COOKIE, pairs
from ipr_vision.app.web.i18n import t
from ipr_vision.core.roles import tabs
from tests.web import test_web
from tests.web.test_web import (
    DESK,
    PHONE,
    TIMEOUT_MS,
    USERS,
    Login,
    Server,
    choose,
    password,
    query_photo,
    shoot,
    table_cell,
    watch_console,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

server, browser, login = test_web.server, test_web.browser, test_web.login

pytestmark = pytest.mark.slow


#: Every text a person can see on the page: text nodes, tooltips (title) and placeholders of
#: elements shown (not hidden by display, visibility or opacity, and with a size: the
#: visually hidden live regions that screen readers read are not "seen").
SEEN_TEXTS = """() => {
  const seen = element => {
    for (let e = element; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.display === "none" || style.visibility === "hidden" || style.opacity === "0")
        return false;
    }
    const box = element.getBoundingClientRect();
    return box.width > 1 && box.height > 1;
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || ["SCRIPT", "STYLE", "NOSCRIPT"].includes(parent.tagName)) continue;
    if (node.nodeValue.trim() && seen(parent)) texts.push(node.nodeValue.trim());
  }
  for (const element of document.querySelectorAll("[title], [placeholder]")) {
    if (!seen(element)) continue;
    for (const name of ["title", "placeholder"]) {
      const value = (element.getAttribute(name) || "").trim();
      if (value) texts.push(value);
    }
  }
  return texts;
}"""

#: Names people and right holders chose: users, brands, the gallery's importer.
NAMES = (*USERS, "nike", "acme", "anvil", "test")
#: What may stay in Latin letters on a Chinese page: the app's name, the switch's "English",
#: user, brand and product names, inspection and reference ids, file names, key fingerprints,
#: times, numbers with their units, and the audit trail's own record (entry kinds, JSON).
ALLOWED = re.compile(r"""^(?:
    ipr-vision | English | UTC | AUROC | ipr-vision\s.+        # a command to type
  | (?:""" + "|".join(NAMES) + r""")
  | [a-z0-9]+(?:_[a-z0-9]+)+                                  # product ids, entry kinds
  | \#?\d+ | \d{8}-\d{6}-[0-9a-f]{6}                           # reference and inspection ids
  | [\w.-]+\.(?:jpe?g|png|heic|heif|webp|csv|zip|pdf|json)    # file names
  | [0-9a-f]{16,64}…?                                         # key fingerprints, hashes
  | \d{4}-\d\d-\d\d(?:[T\s][\d:.]+)?(?:\+00:00|Z)?(?:\sUTC)?  # times
  | [\d\s.,:/%+-]*(?:s|ms|px|kB|MB|KB|B|GB)?                   # numbers and units
  | web\s\S+ | api\s\S+ | cli\s\S+ | python\s\S+ | web | api | cli   # how an entry came
  | \{.*\}                                                    # an entry's details (JSON)
)$""", re.VERBOSE)


def english_left(page: Page) -> list[str]:
    """The texts on screen that are English words but no id, name or number."""
    texts = page.evaluate(SEEN_TEXTS)
    return sorted({text for text in texts if text.isascii() and re.search("[A-Za-z]", text)
                   and not ALLOWED.match(text)})


def idle(page: Page) -> None:
    """Wait until no event runs (Gradio greys what an event will update until it ends)."""
    page.wait_for_function(
        "() => document.querySelectorAll('.pending, .generating').length === 0")
    page.wait_for_timeout(300)


def check_both_sizes(page: Page, role: str, tab: str, left: dict[str, list[str]]) -> None:
    """English left on the tab at a desk and on a phone, and a screenshot of each."""
    for viewport, size in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(viewport)
        idle(page)
        found = english_left(page)
        if found:
            left[f"{role} {tab} {size}"] = found
        shoot(page, f"zh-{role}-{tab}-{size}", full_page=size == "desk")
    page.set_viewport_size(DESK)


def fill_inspect(page: Page) -> None:
    photo, _ = query_photo("fake")
    choose(page, "inspect-brand", "nike")
    page.locator("#inspect-photos input[type=file]").set_input_files(str(photo))
    page.locator("#inspect-photos").get_by_text(photo.stem, exact=True).wait_for()
    page.locator("#inspect-run").click()
    page.locator("#inspect-verdict .ipr-verdict").wait_for()
    page.locator("#inspect-run:not([disabled])").wait_for()
    page.locator("#inspect-evidence").click()
    page.locator("#inspect-evidence-file a:visible").wait_for()


def fill_records(page: Page, outcome: str) -> None:
    """Record an outcome of the newest inspection the user sees (each role here made one)."""
    page.locator("#records-refresh").click()
    idle(page)
    page.locator("#records-outcome").get_by_text(t("zh", f"outcome_{outcome}"),
                                                 exact=True).click()
    page.locator("#records-save").click()
    page.locator("#records-status").get_by_text("已记录").wait_for()


def fill_gallery(page: Page) -> None:
    choose(page, "gallery-brand", "nike")
    choose(page, "gallery-product", "jordan_1")
    page.locator("#gallery-grid .thumbnail-lg").first.click()
    page.locator("#gallery-info").get_by_text("参考 #").wait_for()
    page.locator("#gallery-health").click()
    page.locator("#gallery-health-text").get_by_text("正品参考").first.wait_for()
    page.locator("#package-export-box").get_by_text(t("zh", "export_title")).click()


def fill_workshop(page: Page) -> None:
    choose(page, "workshop-brand", "nike")
    choose(page, "workshop-product", "air_force_1")
    page.locator("#workshop-find").click()
    page.locator("#workshop-left img").wait_for()
    size = page.locator("#workshop-size input[type=number]")
    size.fill("2")
    size.press("Enter")
    page.locator("#workshop-start").click()
    for n in (1, 2):
        page.locator("#workshop-question").get_by_text(f"第 {n} / 2 张").wait_for()
        page.locator("#workshop-shot img").wait_for()
        page.locator("#workshop-genuine").click()
    page.locator("#workshop-score .ipr-score").wait_for()


def fill_users(page: Page) -> None:
    page.locator("#audit").get_by_text(t("zh", "audit_title")).first.click()
    page.locator("#audit-user").get_by_role("textbox").fill("admin")
    page.locator("#audit-show").click()
    table_cell(page, "audit-table", t("zh", "action_login")).wait_for()
    page.locator("#audit-verify").click()
    page.locator("#audit-status").get_by_text("审计日志完整").wait_for()
    page.locator("#packages").get_by_text(t("zh", "packages_title")).first.click()


FILL = {"inspect": fill_inspect, "gallery": fill_gallery, "workshop": fill_workshop,
        "users": fill_users}
#: The outcome each role records (an officer decides, a right holder confirms).
OUTCOME = {"officer": "seized", "admin": "seized", "holder": "confirmed_fake"}


@pytest.mark.parametrize("name", ["officer", "holder", "trainer", "admin"])
def test_every_tab_in_chinese_leaves_no_english(server: Server, login: Login,
                                                name: str) -> None:
    """A Chinese browser: each of the role's tabs, filled, has no English left on screen."""
    service, _ = server
    page = login(name, locale="zh-CN", viewport=DESK)
    page.locator("#who").get_by_text("当前用户").wait_for()
    left: dict[str, list[str]] = {}
    for tab in tabs(service.user(name)):
        page.get_by_role("tab", name=t("zh", f"tab_{tab}"), exact=True).click()
        if tab == "records":
            fill_records(page, OUTCOME[name])
        else:
            FILL[tab](page)
        check_both_sizes(page, name, tab, left)
    assert not left, "English left on Chinese pages:\n" + "\n".join(
        f"{where}: {found}" for where, found in left.items())


def test_the_switch_turns_what_is_on_screen_and_gradios_strings(login: Login) -> None:
    """An English browser inspects and records an outcome; switching to 中文 turns the result,
    the status line and Gradio's own strings to Chinese at once, and back."""
    page = login("officer", locale="en-GB", viewport=DESK)
    gradio = {en: zh for en, zh in pairs()}
    drop = page.locator("#inspect-photos")
    drop.get_by_text("Drop File Here").wait_for()
    page.locator("#inspect-camera").get_by_text("Click to Access Webcam").wait_for()
    fill_inspect(page)
    page.get_by_role("tab", name="Inspection records", exact=True).click()
    idle(page)
    page.locator("#records-outcome").get_by_text("seized", exact=True).click()
    page.locator("#records-save").click()
    status = page.locator("#records-status")
    status.get_by_text("recorded").wait_for()
    shoot(page, "switch-records-en")

    page.locator("#lang").get_by_text("中文").click()
    status.get_by_text(t("zh", "outcome_seized")).wait_for()
    assert "recorded" not in status.inner_text()
    page.locator("#records-table").get_by_text(t("zh", "col_decision")).wait_for()
    assert english_left(page) == []
    shoot(page, "switch-records-zh")
    page.get_by_role("tab", name=t("zh", "tab_inspect"), exact=True).click()
    page.locator("#inspect-verdict .ipr-label").filter(has_text=re.compile("[疑无]")).wait_for()
    page.locator("#inspect-camera").get_by_text(gradio["Click to Access Webcam"]).wait_for()
    page.locator("footer").get_by_text(gradio["Built with Gradio"]).wait_for()
    assert page.locator("footer").get_by_text("设置").count() == 0  # one language switch
    assert english_left(page) == []
    shoot(page, "switch-inspect-zh")

    page.locator("#lang").get_by_text("English").click()
    page.get_by_role("tab", name="Inspection records", exact=True).click()
    status.get_by_text("recorded").wait_for()
    page.get_by_role("tab", name="Inspect", exact=True).click()
    page.locator("#inspect-camera").get_by_text("Click to Access Webcam").wait_for()
    # The verdict is drawn again after Gradio's own strings: on a busy machine, a moment later.
    from playwright.sync_api import expect

    expect(page.locator("body")).not_to_contain_text("请", timeout=15_000)


def test_the_login_pages_switch_carries_into_the_app(server: Server, browser: Browser) -> None:
    """A browser not asking for Chinese switches the login page to 中文; the app then opens in
    Chinese, and after logging out the login page is still Chinese."""
    _, url = server
    console: list[str] = []
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        watch_console(page, console)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.get_by_role("heading").get_by_text("Log in").wait_for()
        shoot(page, "switch-login-en-phone", full_page=False)
        page.get_by_role("link", name="中文").click()
        page.get_by_role("heading").get_by_text("登录").wait_for()
        shoot(page, "switch-login-zh-phone", full_page=False)
        page.locator("#username").fill("officer")
        page.locator("#password").fill(password("officer"))
        page.get_by_role("button", name="登录").click()
        page.get_by_role("tab", name=t("zh", "tab_inspect"), exact=True).wait_for()
        page.locator("#inspect-camera").get_by_text(
            dict(pairs())["Click to Access Webcam"]).wait_for()
        idle(page)
        assert english_left(page) == []
        kept = {c["name"]: c["value"] for c in context.cookies()}
        assert kept[LANGUAGE_COOKIE] == "zh"
        page.locator("#logout").click()
        page.get_by_role("heading").get_by_text("登录").wait_for()
    finally:
        context.close()
    assert not console, "browser console:\n" + "\n".join(console)


def test_a_refusal_from_below_the_page_is_said_in_chinese(login: Login, tmp_path: Path) -> None:
    """What the accounts, the gallery and the photo intake refuse (not the page itself) reaches
    a Chinese user in Chinese: an admin's user name and brand name, an officer's photo that is
    no photo. Nothing English is left in what they read but the names they typed."""
    page = login("admin", locale="zh-CN", viewport=DESK)
    page.get_by_role("tab", name=t("zh", "tab_users"), exact=True).click()
    page.locator("#users-name").get_by_role("textbox").fill("#1")
    page.locator("#users-password").get_by_role("textbox").fill("a-long-password")
    page.locator("#users-add").click()
    added = page.locator("#users-status")
    added.get_by_text("用户名").wait_for()
    page.locator("#users-new-brand").get_by_role("textbox").fill("..")
    page.locator("#users-create-brand").click()
    created = page.locator("#users-brand-status")
    created.get_by_text("品牌名称").wait_for()
    shoot(page, "zh-refused-admin")
    said = [added.inner_text(), created.inner_text()]

    officer = login("officer", locale="zh-CN", viewport=DESK)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"a text file, not a photo")
    choose(officer, "inspect-brand", "nike")
    officer.locator("#inspect-photos input[type=file]").set_input_files(str(broken))
    officer.locator("#inspect-photos").get_by_text("broken", exact=True).wait_for()
    officer.locator("#inspect-run").click()
    card = officer.locator("#inspect-verdict .ipr-verdict")
    card.get_by_text("不是图像").wait_for()
    idle(officer)  # the page's own start (its language switch) ran meanwhile and left it shown
    assert card.get_by_text("不是图像").is_visible()
    # Nothing was compared: no empty frames where references would be.
    assert officer.locator("#inspect-genuine").is_hidden()
    assert officer.locator("#inspect-fake").is_hidden()
    assert officer.locator("#inspect-heat").is_hidden() and officer.get_by_text(
        "与正品参考的差异位置").is_hidden()
    card.scroll_into_view_if_needed()
    shoot(officer, "zh-refused-photo", full_page=False)
    said.append(card.inner_text())

    for text in said:
        left = re.sub(r"'[^']*'|broken\.jpg|BMP|HEIF|JPEG|MPO|PNG|TIFF|WEBP", "", text)
        assert re.search("[\u4e00-\u9fff]", text) and not re.search("[A-Za-z]{2,}", left), text
    assert english_left(page) == [] and english_left(officer) == []
