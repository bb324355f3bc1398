"""The screens by which the gallery learns (issue 18), in a real browser, in English and
Chinese, on a desk screen (1366x900) and a phone (390x844): a confirmed inspection added to the
gallery as references, an item of unknown brand identified and inspected, and a brand's model
compared and chosen. Screenshots: ``learning-*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ipr_vision.app.web.i18n import t
from tests.web import test_web
from tests.web.test_web import (
    DESK,
    PHONE,
    Login,
    Server,
    choose,
    query_photo,
    shoot,
    visible_tabs,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from ipr_vision.app.service import Service

server, browser, login = test_web.server, test_web.browser, test_web.login

pytestmark = pytest.mark.slow



def confirmed_inspection(service: Service, label: str) -> str:
    """An officer's inspection of a held-back real photo, confirmed by the right holder;
    returns its id."""
    photo, _ = query_photo(label)
    outcome = service.inspect(service.user("officer"), "nike", None, [photo])
    inspection = outcome.inspection.id
    service.set_outcome(service.user("holder"), inspection, f"confirmed_{label}")
    return inspection


def open_tab(page: Page, name: str, shown: str) -> None:
    """Open a tab, and again should the page's start (which selects the user's first tab and
    relabels them in the user's language) land after the click and undo it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        page.get_by_role("tab", name=name, exact=True).click()
        try:
            page.locator(shown).wait_for(timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    page.locator(shown).wait_for()


def open_record(page: Page, inspection: str, tab: str) -> None:
    page.get_by_role("tab", name=tab, exact=True).click()
    choose(page, "records-id", inspection)
    page.locator("#records-history").get_by_text(inspection).wait_for()


def test_right_holder_adds_a_confirmed_inspection_to_the_gallery(server: Server,
                                                                  login: Login) -> None:
    service, _ = server
    inspection = confirmed_inspection(service, "fake")
    unconfirmed = service.inspect(service.user("officer"), "nike", None,
                                  [query_photo("genuine")[0]]).inspection.id
    before = len(service.gallery.references("nike"))

    officer = login("officer", viewport=DESK)  # an officer is never offered it
    visible_tabs(officer)
    open_record(officer, inspection, "Inspection records")
    assert not officer.locator("#records-adopt").is_visible()

    page = login("holder", viewport=DESK)
    visible_tabs(page)
    open_record(page, unconfirmed, "Inspection records")  # not confirmed: not offered
    assert not page.locator("#records-adopt").is_visible()
    open_record(page, inspection, "Inspection records")
    page.locator("#records-adopt").click()
    question = page.locator("#records-adopt-question")
    question.get_by_text(f"Add the photos of inspection {inspection}").wait_for()
    assert "as fake references" in question.inner_text()
    assert page.locator("#records-adopt-yes").inner_text().strip() == t("en", "adopt_yes")
    assert len(service.gallery.references("nike")) == before  # nothing until Yes
    shoot(page, "learning-adopt-confirm")
    page.locator("#records-adopt-yes").click()
    status = page.locator("#records-adopt-status")
    status.get_by_text("Added to the gallery").wait_for()
    added = service.gallery.references("nike")[before:]
    assert [r.label for r in added] == ["fake"]
    assert inspection in (added[0].note or "")
    assert page.locator("#records-adopt-confirm").is_hidden()
    shoot(page, "learning-adopt-done")

    page.locator("#records-adopt").click()  # twice: nothing more is added, and it says so
    page.locator("#records-adopt-yes").click()
    status.get_by_text("Already in the gallery").wait_for()
    assert len(service.gallery.references("nike")) == before + 1

    phone = login("holder", locale="zh-CN", viewport=PHONE)
    visible_tabs(phone)
    open_record(phone, inspection, "查验记录")
    phone.locator("#records-adopt").get_by_text(t("zh", "adopt_button")).click()
    phone.locator("#records-adopt-question").get_by_text("假冒").wait_for()
    phone.locator("#records-adopt-yes").scroll_into_view_if_needed()
    shoot(phone, "learning-adopt-confirm-zh-phone", full_page=False)
    phone.locator("#records-adopt-yes").click()
    phone.locator("#records-adopt-status").get_by_text("图库中已有").wait_for()
    phone.locator("#records-adopt-status").scroll_into_view_if_needed()
    shoot(phone, "learning-adopt-done-zh-phone", full_page=False)


def identify_and_inspect(page: Page, photo: Path) -> None:
    """Tick "What is this item?", upload one photo, press Inspect, wait for the verdict."""
    page.locator("#inspect-identify input").check()
    page.locator("#inspect-brand input[disabled]").wait_for(state="attached")
    page.locator("#inspect-photos input[type=file]").set_input_files(str(photo))
    page.locator("#inspect-photos").get_by_text(photo.stem).first.wait_for()
    page.locator("#inspect-run").click()
    page.locator("#inspect-verdict .ipr-verdict").wait_for()
    page.locator("#inspect-run:not([disabled])").wait_for()


def test_officer_asks_what_an_unnamed_item_is(server: Server, login: Login) -> None:
    service, _ = server
    photo, _ = query_photo("fake")
    page = login("officer", viewport=DESK)
    visible_tabs(page)
    identify_and_inspect(page, photo)
    proposed = page.locator("#inspect-candidates")
    lines = [line for line in proposed.inner_text().splitlines() if "similarity" in line]
    stocked = service.products(service.user("officer"), "nike")
    assert len(lines) == min(3, len(stocked))  # the top three, or all the products there are
    assert all(line.startswith("nike · ") for line in lines)
    assert page.locator("#inspect-verdict [data-brand-proposed=nike]").count() == 1
    assert "Brand proposed by the app" in page.locator("#inspect-verdict").inner_text()
    assert page.locator("#inspect-brand input").input_value() == "nike"  # the brand used
    used = page.locator("#inspect-verdict [data-product]").get_attribute("data-product")
    assert page.locator("#inspect-product input").input_value() == used
    inspection = page.locator("#inspect-item .ipr-verdict").get_attribute("data-inspection")
    assert service.log.get(str(inspection)).brand == "nike"
    shoot(page, "learning-identify")

    # The usual flow is unchanged: a brand named, nothing said of a proposal.
    page.locator("#inspect-new").click()
    page.locator("#inspect-verdict .ipr-verdict").wait_for(state="hidden")
    page.locator("#inspect-identify input").uncheck()
    choose(page, "inspect-brand", "nike")
    page.locator("#inspect-photos input[type=file]").set_input_files(str(photo))
    page.locator("#inspect-photos").get_by_text(photo.stem).first.wait_for()
    page.locator("#inspect-run").click()
    page.locator("#inspect-verdict .ipr-verdict").wait_for()
    assert page.locator("#inspect-verdict [data-brand-proposed]").count() == 0
    assert proposed.inner_text().strip() == ""

    phone = login("officer", locale="zh-CN", viewport=PHONE)
    visible_tabs(phone)
    phone.locator("#inspect-identify").get_by_text(t("zh", "identify")).wait_for()
    identify_and_inspect(phone, photo)
    phone.locator("#inspect-verdict").get_by_text("品牌由系统根据照片推荐：nike").wait_for()
    phone.locator("#inspect-verdict").evaluate("e => e.scrollIntoView({block: 'start'})")
    phone.wait_for_timeout(300)
    shoot(phone, "learning-identify-zh-phone", full_page=False)


def test_right_holder_compares_the_brands_models_and_switches(server: Server,
                                                              login: Login) -> None:
    service, _ = server
    comparison = service.compare_models(service.user("holder"), "nike")
    names = [m.name for m in comparison.models]
    in_use = next(m.name for m in comparison.models if m.chosen)
    other = next((name for name in names if name != in_use), in_use)
    page = login("holder", viewport=DESK)
    visible_tabs(page)
    page.get_by_role("tab", name="Gallery", exact=True).click()
    page.locator("#gallery-models").get_by_text(t("en", "models_title")).click()
    text = page.locator("#gallery-models-text")
    text.get_by_text(f"{in_use} (in use)").wait_for()
    assert all(name in text.inner_text() for name in names)
    assert "known fakes" in text.inner_text()
    choose(page, "gallery-model", other)
    page.locator("#gallery-model-set").click()
    page.locator("#gallery-model-status").get_by_text(f"nike now uses {other}").wait_for(
        timeout=300_000)  # embedding the brand's 48 references with another model
    text.get_by_text(f"{other} (in use)").wait_for()
    assert service.gallery.store.brand_model("nike") == other
    # Both models now hold the brand's vectors: the one left is set against the one in use,
    # with how sure that difference is.
    if other != in_use:
        versus = text.get_by_text("Against the model in use")
        versus.wait_for()
        assert "95 % interval" in versus.inner_text()
    page.locator("#gallery-models").scroll_into_view_if_needed()
    shoot(page, "learning-models")

    phone = login("holder", locale="zh-CN", viewport=PHONE)
    visible_tabs(phone)
    open_tab(phone, t("zh", "tab_gallery"), "#gallery-brand input")
    phone.locator("#gallery-models").get_by_text(t("zh", "models_title")).click()
    phone.locator("#gallery-models-text").get_by_text(f"{other}（正在使用）").wait_for()
    if other != in_use:
        phone.locator("#gallery-models-text").get_by_text("与正在使用的模型相比").wait_for()
    phone.locator("#gallery-models").evaluate("e => e.scrollIntoView({block: 'start'})")
    shoot(phone, "learning-models-zh-phone", full_page=False)
