"""The right holder's, trainer's and admin's screens in a real browser (the app, Chromium and
login of test_web.py, started afresh for this module; its login fails a test on any console
error or warning): identification points drawn on the photo, removals that ask first, errors
beside the button that caused them, the health panel in words; a quiz that never asks about a
photo whose label was shown, marks each answer and ends cleanly; users edited, given a new
password and removed from a list, brands removed with their references kept on record.

Screenshots at 1366x900 and a phone's 390x844, in English and Chinese:
``artifacts/screenshots/roles-*.png``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.web import test_web
from tests.web.test_web import (
    DESK,
    PHONE,
    SAMPLE,
    Login,
    Server,
    choose,
    query_photo,
    shoot,
    table_cell,
    visible_tabs,
)

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, ViewportSize

server, browser, login = test_web.server, test_web.browser, test_web.login

pytestmark = pytest.mark.slow



#: True once every image of a gallery has loaded and lies whole inside the gallery's box (the
#: issue's "last row cut off"); a gallery not shown has nothing to cut.
WHOLE_ROWS = """id => {
  const gallery = document.getElementById(id);
  if (!gallery || gallery.offsetParent === null) return true;
  const bottom = gallery.getBoundingClientRect().bottom + 1;
  return [...gallery.querySelectorAll("img")].every(
    image => image.complete && image.getBoundingClientRect().bottom <= bottom);
}"""


#: True when no event is running: Gradio greys what an event will update until it ends.
IDLE = "() => document.querySelectorAll('.pending, .generating').length === 0"


def first_number(pattern: str | re.Pattern[str], text: str) -> int:
    """The number the pattern's first group finds in a text on the page (which must hold it)."""
    found = re.search(pattern, text)
    assert found, text
    return int(found.group(1))


def error_badges(page: Page) -> int:
    """Gradio's red "Error" badges: what an event that raised leaves on its outputs."""
    return page.locator(".error").filter(has_text=re.compile(r"^\s*Error\s*$")).count()


def near(page: Page, status: str, button: str, within: float = 160) -> bool:
    """Whether a status line is shown close below (or beside) the button that fills it."""
    a = page.locator(f"#{status}").bounding_box()
    b = page.locator(f"#{button}").bounding_box()
    assert a is not None and b is not None
    return abs(a["y"] - (b["y"] + b["height"])) < within


def to_chinese(page: Page, viewport: ViewportSize) -> None:
    page.set_viewport_size(viewport)
    page.locator("#lang").get_by_text("中文").click()
    page.locator("#who").get_by_text("当前用户").wait_for()


def click_photo(picture: Locator, x: float, y: float) -> None:
    """Click a shown photo at a share of its width and height."""
    box = picture.bounding_box()
    assert box is not None
    picture.click(position={"x": box["width"] * x, "y": box["height"] * y})


def test_right_holder_draws_points_and_removes_only_when_sure(server: Server,
                                                               login: Login) -> None:
    service, _ = server
    page = login("holder", viewport=DESK)
    page.get_by_role("tab", name="Gallery", exact=True).click()
    # The operating point is the brand's: set beside the brand, above any product.
    page.locator("#gallery-operating-status").get_by_text("Brand nike flags at most").wait_for()
    share_box, product_box = (page.locator(f"#{e}").bounding_box()
                              for e in ("gallery-share", "gallery-product"))
    assert share_box and product_box and share_box["y"] < product_box["y"]
    choose(page, "gallery-product", "jordan_1")
    page.locator("#gallery-grid .thumbnail-lg").first.click()
    page.locator("#gallery-info").get_by_text("Reference #").wait_for()
    ref_id = first_number(r"#(\d+)", page.locator("#gallery-info").inner_text())
    page.locator("#gallery-size").get_by_text("640 by 640 pixels").wait_for()

    # A point without a box: the reason beside the button, every other panel intact.
    page.locator("#gallery-point-note").get_by_role("textbox").fill("swoosh stitching")
    page.locator("#gallery-add-point").click()
    page.locator("#gallery-point-status").get_by_text("Draw the box first").wait_for()
    assert near(page, "gallery-point-status", "gallery-add-point")
    assert error_badges(page) == 0
    assert "Reference #" in page.locator("#gallery-info").inner_text()

    picture = page.locator("#gallery-selected img")
    click_photo(picture, 0.2, 0.3)
    page.locator("#gallery-box").get_by_text("now click the opposite corner").wait_for()
    click_photo(picture, 0.6, 0.7)
    drawn = page.locator("#gallery-box").get_by_text("Box from")
    drawn.wait_for()
    x0, y0, x1, y1, width, height = map(int, re.findall(r"\d+", drawn.inner_text()))
    assert (width, height) == (x1 - x0, y1 - y0) and width > 100 and height > 100
    page.locator("#gallery-add-point").click()
    page.locator("#gallery-point-status").get_by_text("Identification point #").wait_for()
    [point] = service.gallery.points([ref_id])
    assert point.note == "swoosh stitching"
    stored = [round(v * 640) for v in point.box]
    assert all(abs(a - b) <= 1 for a, b in zip(stored, (x0, y0, x1, y1), strict=True)), stored
    shoot(page, "roles-holder-point-drawn")

    # Removing the point asks first; Cancel keeps it, Yes removes it.
    page.locator("#gallery-remove-point").click()
    # (the question travels in both languages; the one in the page's language is shown)
    page.locator("#gallery-point-question").get_by_text("swoosh stitching").filter(
        visible=True).wait_for()
    page.locator("#gallery-point-no").click()
    page.locator("#gallery-point-confirm").wait_for(state="hidden")
    assert service.gallery.points([ref_id])
    page.locator("#gallery-remove-point").click()
    page.locator("#gallery-point-yes").click()
    page.locator("#gallery-point-status").get_by_text("Point removed").wait_for()
    assert service.gallery.points([ref_id]) == []

    # The health panel in words, the numbers in small print; Set redraws it.
    page.locator("#gallery-health").click()
    page.locator("#gallery-roc img").wait_for()
    health = page.locator("#gallery-health-text")
    text = health.inner_text()
    assert re.search(r"\(calibration\): (good|fair|poor)", text), text
    assert re.search(r"apart from genuine references: (strong|fair|weak)", text), text
    assert health.locator("small").count() == 2 and "ECE" not in text
    assert "1.0 %" in text
    share = page.locator("#gallery-share input[type=number]")
    share.fill("5")
    share.press("Enter")
    page.locator("#gallery-set-share").click()
    health.get_by_text("at most 5.0 % of genuine items flagged").wait_for()
    assert service.gallery.policy_for("nike").max_genuine_flagged == pytest.approx(0.05)
    service.gallery.set_operating_point("nike", 0.01)
    # An upload redraws the figures on screen too.
    counted = re.compile(r"^(\d+) genuine references")
    genuine = first_number(counted, health.inner_text())
    photo, _ = query_photo("genuine")
    page.locator("#gallery-files input[type=file]").set_input_files(str(photo))
    page.locator("#gallery-files").get_by_text(photo.stem, exact=True).wait_for()
    page.locator("#gallery-upload").click()
    page.locator("#gallery-status").get_by_text("Added 1").wait_for()
    assert near(page, "gallery-status", "gallery-upload")
    health.get_by_text(f"{genuine + 1} genuine references").wait_for()

    # Removing the reference needs a reason, then asks; only Yes removes it.
    page.locator("#gallery-remove").click()
    page.locator("#gallery-remove-status").get_by_text("Say why").wait_for()
    assert not page.locator("#gallery-ref-confirm").is_visible()
    page.locator("#gallery-remove-reason").get_by_role("textbox").fill("blurred copy")
    page.locator("#gallery-remove").click()
    page.locator("#gallery-ref-question").get_by_text(f"Remove reference #{ref_id}?").wait_for()
    assert service.gallery.references(ids=[ref_id])
    shoot(page, "roles-holder-confirm-remove")
    page.locator("#gallery-ref-yes").click()
    page.locator("#gallery-remove-status").get_by_text(f"#{ref_id} removed").wait_for()
    assert service.gallery.references(ids=[ref_id]) == []
    assert ref_id in [r.reference.id for r in service.gallery.removed("nike")]
    assert error_badges(page) == 0
    shoot(page, "roles-holder-gallery")

    to_chinese(page, PHONE)
    page.locator("#gallery-operating-status").get_by_text("最多误报").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "roles-holder-gallery-zh-phone", full_page=False)
    page.locator("#gallery-health").click()
    page.locator("#gallery-health-text").get_by_text("校准").wait_for()
    page.locator("#gallery-roc img").wait_for()
    page.locator("#gallery-health-text").scroll_into_view_if_needed()
    page.wait_for_function(IDLE)
    shoot(page, "roles-holder-health-zh-phone", full_page=False)


def test_trainer_quiz_never_asks_a_shown_label(server: Server, login: Login) -> None:
    service, _ = server
    page = login("trainer", viewport=DESK)
    choose(page, "workshop-brand", "nike")
    choose(page, "workshop-product", "air_force_1")
    # Before a quiz the answer buttons are off.
    assert page.locator("#workshop-genuine").is_disabled()
    page.locator("#workshop-find").click()
    page.locator("#workshop-left img").wait_for()
    trainer = service.user("trainer")
    shown = {r.id for g, f, _ in service.confusable_pairs(trainer, "nike", "air_force_1")
             for r in (g, f)}
    size = page.locator("#workshop-size input[type=number]")
    size.fill("4")
    size.press("Enter")
    page.locator("#workshop-start").click()
    page.locator("#workshop-question").get_by_text("Photo 1 of 4").wait_for()
    page.locator("#workshop-compare").wait_for(state="hidden")  # no labels during a quiz
    asked = []
    for n in range(1, 5):
        page.locator("#workshop-question").get_by_text(f"Photo {n} of 4").wait_for()
        page.locator("#workshop-shot img").wait_for()
        said = "fake"  # half the photos are fakes: two right answers and two wrong
        page.locator(f"#workshop-{said}").click()
        # The next question (or the end) comes with this answer marked.
        after = f"Photo {n + 1} of 4" if n < 4 else "Quiz over"
        page.locator("#workshop-question").get_by_text(after).wait_for()
        feedback = page.locator("#workshop-feedback .ipr-feedback")
        marked = feedback.inner_text()
        ref = service.reference(trainer, first_number(r"#(\d+)", marked))
        assert marked.startswith("Right" if ref.label == said else "Wrong"), marked
        assert feedback.get_attribute("data-correct") == str(ref.label == said).lower()
        asked.append(ref.id)
    assert len(set(asked)) == 4 and not set(asked) & shown
    page.locator("#workshop-question").get_by_text("Quiz over").wait_for()
    score = page.locator("#workshop-score .ipr-score")
    assert re.search(r"ipr-score-(good|fair|poor)", score.get_attribute("class") or "")
    assert page.locator("#workshop-genuine").is_disabled()
    assert page.locator("#workshop-fake").is_disabled()
    assert "Choose a brand" not in page.locator("body").inner_text()
    page.locator("#workshop-compare").wait_for()  # back once the quiz is over
    right = page.locator("#workshop-right-answers img").count()
    wrong = page.locator("#workshop-wrong-answers img").count()
    assert right == wrong == 2
    shoot(page, "roles-trainer-quiz-end")
    for answers in ("workshop-right-answers", "workshop-wrong-answers"):
        page.wait_for_function(WHOLE_ROWS, arg=answers)  # times out if a row stays cut off

    to_chinese(page, PHONE)
    page.locator("#workshop-start").click()
    page.locator("#workshop-question").get_by_text("第 1 / ").wait_for()
    page.locator("#workshop-genuine").click()
    page.locator("#workshop-feedback .ipr-feedback").get_by_text(
        re.compile(r"^\s*(正确|错误)")).wait_for()
    page.locator("#workshop-feedback").scroll_into_view_if_needed()
    shoot(page, "roles-trainer-quiz-zh-phone", full_page=False)


def test_admin_edits_users_and_removes_a_brand_on_record(
        server: Server, login: Login, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    service, _ = server
    retired = service.gallery
    retired.add_brand("retired")
    photos = sorted((SAMPLE / "genuine" / "air_force_1").glob("*.jpg"))[:2]
    retired.add_photos(photos, brand="retired", product="boot", label="genuine",
                       allow_poor_quality=True)
    page = login("admin", viewport=DESK)
    page.get_by_role("tab", name="Users and brands", exact=True).click()
    table_cell(page, "users-table", "holder").wait_for()

    # A right holder without a brand: a plain reason beside Add, no command-line flag.
    page.locator("#users-name").get_by_role("textbox").fill("rita")
    choose(page, "users-role", "right holder")
    page.locator("#users-password").get_by_role("textbox").fill("a-long-password")
    page.locator("#users-add").click()
    status = page.locator("#users-status").get_by_text("needs at least one brand").filter(
        visible=True)
    status.wait_for()
    assert "--" not in status.inner_text()
    assert near(page, "users-status", "users-add") and error_badges(page) == 0
    choose(page, "users-role", "officer")
    page.locator("#users-password").get_by_role("textbox").fill("a-long-password")
    page.locator("#users-add").click()
    page.locator("#users-status").get_by_text("User rita added").wait_for()
    table_cell(page, "users-table", "rita").wait_for()

    # Changed, given a new password and removed only once chosen from the list.
    choose(page, "users-pick", "rita")
    choose(page, "users-edit-role", "right holder")
    page.locator("#users-edit-brands input").click()
    page.get_by_role("option", name="acme", exact=True).click()
    page.keyboard.press("Escape")
    page.locator("#users-save").click()
    page.locator("#users-save-status").get_by_text("User rita saved").wait_for()
    edited = service.users.get("rita")
    assert edited is not None and (edited.role, edited.brands) == ("right_holder", ("acme",))
    page.locator("#users-new-password").get_by_role("textbox").fill("another-long-one")
    page.locator("#users-reset").click()
    page.locator("#users-reset-status").get_by_text("New password set for rita").wait_for()
    assert service.users.verify("rita", "another-long-one") is not None
    page.locator("#users-remove").click()
    page.locator("#users-user-question").get_by_text("Remove user rita?").wait_for()
    shoot(page, "roles-admin-confirm-user")
    page.locator("#users-user-no").click()
    page.locator("#users-user-confirm").wait_for(state="hidden")
    assert service.users.get("rita") is not None
    page.locator("#users-remove").click()
    page.locator("#users-user-yes").click()
    page.locator("#users-remove-status").get_by_text("User rita removed").wait_for()
    assert service.users.get("rita") is None

    # A brand is removed after a question; its references are withdrawn, kept, audited.
    choose(page, "users-brand-pick", "retired")
    page.locator("#users-remove-brand").click()
    page.locator("#users-remove-brand-status").get_by_text("Say why").wait_for()
    page.locator("#users-brand-reason").get_by_role("textbox").fill("licence ended")
    page.locator("#users-remove-brand").click()
    page.locator("#users-brand-question").get_by_text("2 reference(s)").wait_for()
    page.locator("#users-brand-yes").click()
    page.locator("#users-remove-brand-status").get_by_text("Brand retired removed").wait_for()
    assert "retired" not in service.gallery.brands()
    kept = service.gallery.removed("retired")
    assert len(kept) == 2 and all(r.reason == "licence ended" for r in kept)
    assert all(r.reference.path.is_file() for r in kept)
    actions = [(e.action, e.brand) for e in service.audit.entries(actor="admin")]
    assert ("brand_remove", "retired") in actions and ("user_edit", None) in actions
    assert ("user_password", None) in actions
    shoot(page, "roles-admin-users")

    to_chinese(page, PHONE)
    page.locator("#users-remove-brand").scroll_into_view_if_needed()
    page.locator("#users-remove-brand").click()
    page.locator("#users-remove-brand-status").get_by_text("请先").wait_for()
    shoot(page, "roles-admin-users-zh-phone", full_page=False)
    # Validation errors are one log line each, never a traceback.
    assert any("refused: AccountError" in r.getMessage() for r in caplog.records)
    assert "Traceback" not in capfd.readouterr().err


def test_trainer_runs_a_quiz(login: Login) -> None:
    page = login("trainer")
    assert visible_tabs(page) == ["Workshop"]
    choose(page, "workshop-brand", "nike")
    page.locator("#workshop-product input").click()
    page.get_by_role("option").first.click()
    page.locator("#workshop-find").click()
    page.locator("#workshop-left img").wait_for()
    page.locator("#workshop-right img").wait_for()
    size = page.locator("#workshop-size input[type=number]")
    size.fill("2")
    size.press("Enter")
    page.locator("#workshop-start").click()
    for n in (1, 2):
        page.locator("#workshop-question").get_by_text(f"Photo {n} of 2").wait_for()
        page.locator("#workshop-shot img").wait_for()
        page.locator("#workshop-genuine").click()
        page.locator("#workshop-feedback .ipr-feedback").wait_for()
    # One genuine and one fake are drawn, so answering "genuine" twice scores exactly 1.
    page.locator("#workshop-score").get_by_text("Score: 1 of 2.").wait_for()
    assert page.locator("#workshop-right-answers img").count() == 1
    assert page.locator("#workshop-wrong-answers img").count() == 1
    shoot(page, "trainer-quiz")
