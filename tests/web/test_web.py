"""The web app in a real browser: Debian's Chromium driven by Playwright, against the app started
here on a free localhost port over a gallery of real photos (``demo/sample``). The server,
browser and login fixtures and the helpers here serve every browser test module (its API
through ``gradio_client``: ``test_web_api.py``).

Screenshots land in ``artifacts/screenshots/`` (``$IPR_VISION_ARTIFACTS`` overrides), one per
scenario, for a person to look at after a CI run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ipr_vision import Embedder, Gallery
from ipr_vision.app.web.app import launch, prepare_environment
from ipr_vision.intake.labelled import read_index
from ipr_vision.packages import SigningKey
from tests.support import REPO, cli

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, ViewportSize

    from ipr_vision.app.service import Service

SAMPLE = REPO / "demo" / "sample"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("IPR_VISION_ARTIFACTS", REPO / "artifacts")) / "screenshots"
#: The flags ../shared/ENVIRONMENT.md measured: headless, no sandbox in containers, and no
#: network but localhost, so a page that tried to reach a CDN would show it by breaking.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
USERS = {"admin": ("admin", ()), "officer": ("officer", ()), "holder": ("right_holder", ("nike",)),
         "other": ("right_holder", ("acme",)), "trainer": ("trainer", ())}
TIMEOUT_MS = 30_000
#: The two screens every page is checked on: a laptop and a phone.
DESK: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
HOSTILE_NOTE = '<img src=x onerror="document.title=1"> [look](javascript:void(0)) **bold**'
#: The app's service and its address.
Server = tuple["Service", str]
#: Logs a user in a fresh browser context and returns the page.
Login = Callable[..., "Page"]

pytestmark = pytest.mark.slow


def password(name: str) -> str:
    return f"pass-{name}-2026"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Server]:
    """The app over a gallery of the demo sample's 48 reference photos, with one user per role,
    a second brand ("acme") that the nike right holder must not see, and nike's signing key
    kept on the server (``keys/nike.key``) for signed packages."""
    folder = tmp_path_factory.mktemp("web") / "gallery"
    SigningKey.generate().write(folder.parent / "keys", "nike")
    prepare_environment(folder)
    from ipr_vision.app.service import Service

    gallery = Gallery(folder, embedder=embedder)
    gallery.import_index(SAMPLE / "gallery.csv", brand="nike", added_by="test",
                         allow_poor_quality=True)
    gallery.add_brand("acme")
    gallery.add_product("acme", "anvil")
    service = Service(gallery, signing_keys=folder.parent / "keys")
    for name, (role, brands) in USERS.items():
        service.users.add(name, role, password(name), brands)
    port = free_port()
    app, _ = launch(service, port=port, block=False)
    yield service, f"http://127.0.0.1:{port}/"
    app.close()
    service.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def login(server: Server, browser: Browser) -> Iterator[Login]:
    """Log in as a user in a fresh browser context; returns the page. Every console error or
    warning on any page opened fails the test (a 404 shows there as an error)."""
    _, url = server
    contexts = []
    console: list[str] = []

    def open_as(name: str, secret: str | None = None, locale: str = "en-GB",
                viewport: ViewportSize | None = None, expected: str = "") -> Page:
        """``expected``: the one console message this page should show (a refused login's
        401), which is then not counted."""
        context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000},
                                      locale=locale)
        contexts.append(context)
        page = context.new_page()
        watch_console(page, console, expected)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        fields = page.locator("input")
        fields.nth(0).fill(name)
        fields.nth(1).fill(secret if secret is not None else password(name))
        page.get_by_role("button").first.click()
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not console, "browser console:\n" + "\n".join(console)


def watch_console(page: Page, into: list[str], expected: str = "") -> None:
    """Collect the page's console errors and warnings (but one ``expected``) and its uncaught
    exceptions."""
    def heard(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and not (expected and expected in message.text):
            into.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    page.on("console", heard)
    page.on("pageerror", lambda error: into.append(f"uncaught: {error}"))


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    """A screenshot of the whole page, or of what the viewport shows (``full_page=False``: a
    long page at a phone's width is otherwise too tall to read)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def visible_tabs(page: Page) -> list[str]:
    page.locator("#who strong").wait_for()  # filled once the user is known
    page.wait_for_timeout(500)
    return [t.strip() for t in page.get_by_role("tab").all_inner_texts()]


def dropdown_options(page: Page, elem_id: str) -> list[str]:
    page.locator(f"#{elem_id} input").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    texts = [o.strip().splitlines()[-1] for o in options.all_inner_texts()]  # "✓" marks one
    page.keyboard.press("Escape")
    return texts


def table_cell(page: Page, elem_id: str, text: str) -> Locator:
    """A gr.Dataframe cell holding exactly ``text`` (its visible text span)."""
    return page.locator(f"#{elem_id} span.text",
                        has_text=re.compile(f"^{re.escape(text)}$")).first


def choose(page: Page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def query_photo(label: str) -> tuple[Path, str]:
    """A real photo that is not in the gallery (another photo group), with its product."""
    items, _ = read_index(SAMPLE / "queries.csv")
    item = next(i for i in items if i.label == label)
    return item.source, item.product


def test_wrong_password_stays_on_the_login_page(login: Login) -> None:
    page = login("officer", "not-the-password", expected="status of 401 (Unauthorized)")
    page.get_by_text(re.compile("incorrect", re.IGNORECASE)).wait_for()
    assert page.locator("#who").count() == 0
    shoot(page, "login-refused")


def test_officer_inspects_a_real_photo_and_records_the_outcome(server: Server,
                                                                login: Login) -> None:
    service, _ = server
    page = login("officer")
    assert visible_tabs(page) == ["Inspect", "Inspection records", "Workshop"]
    photo, product = query_photo("fake")
    # A right holder's note that a page rendering HTML would turn into an element.
    nearest = service.gallery.inspect(photo, brand="nike").nearest_genuine[0].ref
    service.gallery.set_note(nearest, HOSTILE_NOTE)
    choose(page, "inspect-brand", "nike")
    page.locator("#inspect-photos input[type=file]").set_input_files(str(photo))
    page.locator("#inspect-photos").get_by_text(photo.stem, exact=True).wait_for()
    page.locator("#inspect-run").click()
    card = page.locator("#inspect-verdict .ipr-verdict")
    card.wait_for()
    shown_verdict = card.get_attribute("data-verdict")
    expected = service.gallery.inspect(photo, brand="nike")
    assert shown_verdict == expected.verdict, card.inner_text()
    assert page.locator("#inspect-genuine img").count() == len(expected.nearest_genuine) == 3
    assert page.locator("#inspect-fake img").count() == len(expected.nearest_fake) == 3
    recorded = page.locator("#inspect-recorded").inner_text()
    inspection_id = re.search(r"\d{8}-\d{6}-[0-9a-f]{6}", recorded)
    assert inspection_id, recorded
    inspection = service.log.get(inspection_id.group())
    assert inspection.officer == "officer"
    assert [p.verdict for p in inspection.photos] == [expected.verdict]
    assert inspection.photos[0].product == product or expected.product_proposed
    page.locator("#inspect-heat img").wait_for()
    notes = page.locator("#inspect-notes")
    assert notes.locator("img").count() == 0 and notes.locator("a").count() == 0
    assert HOSTILE_NOTE in notes.inner_text()  # shown as typed, as text
    shoot(page, "officer-inspect")

    page.locator("#inspect-evidence").click()
    page.locator("#inspect-evidence-file a:visible").wait_for()
    assert list((service.gallery.path / "evidence" / "officer").glob("*/evidence.pdf"))

    page.get_by_role("tab", name="Inspection records", exact=True).click()
    table_cell(page, "records-table", inspection_id.group()).wait_for()
    choose(page, "records-id", inspection_id.group())
    page.locator("#records-outcome").get_by_text("seized", exact=True).click()
    page.locator("#records-save").click()
    page.locator("#records-status").get_by_text("recorded").wait_for()
    assert service.log.get(inspection_id.group()).outcome == "seized"
    shoot(page, "officer-records")


def query_photos(count: int) -> list[Path]:
    """Held-back real photos, each of another photo group."""
    items, _ = read_index(SAMPLE / "queries.csv")
    return [item.source for item in items[:count]]


def inspect_upload(page: Page, *photos: Path) -> None:
    page.locator("#inspect-photos input[type=file]").set_input_files([str(p) for p in photos])
    for photo in photos:
        page.locator("#inspect-photos").get_by_text(photo.stem, exact=True).first.wait_for()


def new_inspection(page: Page) -> None:
    page.locator("#inspect-new").click()
    page.locator("#inspect-item .ipr-verdict").wait_for(state="hidden")


def inspect_item(page: Page, photo: Path, views: int = 1) -> str:
    """Upload a photo, press Inspect, and return the inspection it was recorded in (the button
    is disabled while it runs, and enabled again after)."""
    inspect_upload(page, photo)
    page.locator("#inspect-run").click()
    page.locator("#inspect-recorded").get_by_text(f"{views} photo(s) of one item").wait_for()
    page.locator("#inspect-run:not([disabled])").wait_for()
    return inspection_shown(page)


def inspection_shown(page: Page) -> str:
    """The id of the inspection on screen, from the item's card."""
    card = page.locator("#inspect-item .ipr-verdict")
    card.wait_for()
    return str(card.get_attribute("data-inspection"))


def test_an_inspection_is_one_item_recorded_once(server: Server, login: Login) -> None:
    service, _ = server
    a, b, c, d = query_photos(4)
    before = {i.id for i in service.log.inspections(officer="officer")}
    page = login("officer")
    choose(page, "inspect-brand", "nike")
    first = inspect_item(page, a)
    # The upload list is cleared once the photos are recorded.
    page.locator("#inspect-photos").get_by_text(a.stem, exact=True).wait_for(state="detached")

    inspect_upload(page, a)  # the same photo again: nothing new to record
    page.locator("#inspect-run").click()
    page.locator("#inspect-recorded").get_by_text("already part of inspection").wait_for()
    assert inspect_item(page, b, views=2) == first  # another view joins the item's record
    assert [p.name for p in service.log.get(first).photos] == [a.name, b.name]
    shoot(page, "inspect-one-item-two-views")
    page.set_viewport_size(PHONE)
    page.locator("#lang").get_by_text("中文").click()
    page.locator("#inspect-item").get_by_text("本件物品").wait_for()
    shoot(page, "inspect-one-item-zh-phone")
    page.locator("#lang").get_by_text("English").click()
    page.get_by_role("tab", name="Inspect", exact=True).wait_for()

    new_inspection(page)
    second = inspect_item(page, c)
    assert second != first
    assert [p.name for p in service.log.get(second).photos] == [c.name]

    new_inspection(page)
    inspect_upload(page, d)
    page.locator("#inspect-run").dblclick()  # a double click records one inspection
    page.locator("#inspect-run[disabled]").wait_for()  # and the button waits for the first
    third = inspection_shown(page)
    page.wait_for_timeout(3000)  # time for a second record, were one made
    made = [i for i in service.log.inspections(officer="officer") if i.id not in before]
    assert sorted(i.id for i in made) == sorted({first, second, third})
    assert {i.id: len(i.photos) for i in made} == {first: 2, second: 1, third: 1}


def test_outcomes_are_a_history_by_two_roles(server: Server, login: Login) -> None:
    service, _ = server
    [photo] = query_photos(1)
    page = login("officer")
    choose(page, "inspect-brand", "nike")
    older = inspect_item(page, photo)
    new_inspection(page)
    newest = inspect_item(page, photo)
    assert newest != older

    def save(page: Page, outcome: str, note: str) -> None:
        page.locator("#records-outcome").get_by_text(outcome, exact=True).click()
        page.locator("#records-note textarea").fill(note)
        page.locator("#records-save").click()
        page.locator("#records-history").get_by_text(note).wait_for()

    page.get_by_role("tab", name="Inspection records", exact=True).click()
    table_cell(page, "records-table", older).wait_for()
    choose(page, "records-id", older)  # not the newest: Save must keep to it
    page.locator("#records-history").get_by_text(older).wait_for()
    save(page, "seized", "container 7")
    assert page.locator("#records-id input").input_value() == older
    save(page, "released", "papers in order")
    assert page.locator("#records-id input").input_value() == older
    # Each role is offered only the outcomes it may record (core.roles.OUTCOME_ROLES).
    assert page.locator("#records-outcome").get_by_text("confirmed", exact=False).count() == 0
    assert service.log.get(newest).history == ()

    holder = login("holder")
    holder.get_by_role("tab", name="Inspection records", exact=True).click()
    table_cell(holder, "records-table", older).wait_for()
    choose(holder, "records-id", older)
    for decision in ("seized", "released"):
        assert holder.locator("#records-outcome").get_by_text(decision, exact=True).count() == 0
    save(holder, "confirmed counterfeit by right holder", "sole pattern wrong")
    history = holder.locator("#records-history li").all_inner_texts()
    assert len(history) == 3, history
    assert ["seized" in history[0], "released" in history[1],
            "confirmed counterfeit" in history[2]] == [True, True, True]
    assert "(officer)" in history[0] and "(right holder)" in history[2]
    shoot(holder, "records-outcome-history")
    holder.set_viewport_size(PHONE)  # a phone, in Chinese
    holder.locator("#lang").get_by_text("中文").click()
    holder.locator("#records-history").get_by_text("处理记录").wait_for()
    shoot(holder, "records-outcome-history-zh-phone")
    record = service.log.get(older)
    assert [(e.outcome, e.role) for e in record.history] == [
        ("seized", "officer"), ("released", "officer"), ("confirmed_fake", "right_holder")]
    assert record.decision is not None and record.decision.outcome == "released"
    assert record.confirmation is not None and record.confirmation.by == "holder"


def test_right_holder_curates_only_their_brand(server: Server, login: Login) -> None:
    service, _ = server
    page = login("holder")
    assert visible_tabs(page) == ["Inspect", "Inspection records", "Gallery", "Workshop"]
    page.get_by_role("tab", name="Gallery", exact=True).click()
    assert dropdown_options(page, "gallery-brand") == ["nike"]
    photo, product = query_photo("genuine")
    before = len(service.gallery.references("nike"))
    choose(page, "gallery-product", product)
    for attempt, outcome in enumerate(("added", "duplicate")):
        page.locator("#gallery-files input[type=file]").set_input_files(str(photo))
        page.locator("#gallery-upload").click()
        table_cell(page, "gallery-report", outcome).wait_for()
        assert len(service.gallery.references("nike")) == before + 1, attempt
    page.locator("#gallery-grid img").first.wait_for()
    page.locator("#gallery-grid .thumbnail-lg").first.click()
    page.locator("#gallery-info").get_by_text("Reference #").wait_for()
    page.locator("#gallery-health").click()
    page.locator("#gallery-roc img").wait_for()
    assert "AUROC" in page.locator("#gallery-health-text").inner_text()
    shoot(page, "right-holder-gallery")

    other = login("other")
    assert "Users and brands" not in visible_tabs(other)
    other.get_by_role("tab", name="Gallery", exact=True).click()
    assert dropdown_options(other, "gallery-brand") == ["acme"]
    other.get_by_role("tab", name="Inspect", exact=True).click()
    assert "nike" not in dropdown_options(other, "inspect-brand")
    shoot(other, "other-right-holder")


def test_admin_adds_a_user_and_the_interface_speaks_chinese(server: Server,
                                                            login: Login) -> None:
    service, _ = server
    page = login("admin")
    assert visible_tabs(page)[-1] == "Users and brands"
    page.get_by_role("tab", name="Users and brands", exact=True).click()
    page.locator("#users-name").get_by_role("textbox").fill("newofficer")
    page.locator("#users-password").get_by_role("textbox").fill("a-long-password")
    page.locator("#users-add").click()
    table_cell(page, "users-table", "newofficer").wait_for()
    assert service.users.verify("newofficer", "a-long-password") is not None
    shoot(page, "admin-users")
    # Admins read the audit trail: the user just added, by whom, and that the chain holds.
    page.locator("#audit").get_by_text("Audit trail").first.click()
    page.locator("#audit-user").get_by_role("textbox").fill("admin")
    page.locator("#audit-show").click()
    table_cell(page, "audit-table", "user added").wait_for()
    table_cell(page, "audit-table", "newofficer").wait_for()
    page.locator("#audit-verify").click()
    page.locator("#audit-status").get_by_text("Audit trail intact").wait_for()
    shoot(page, "admin-audit")

    page.locator("#lang").get_by_text("中文").click()
    page.get_by_role("tab", name="查验", exact=True).wait_for()
    assert page.locator("#users-add").inner_text().strip() == "添加用户"
    page.locator("#users-table").get_by_text("用户名").first.wait_for()  # data re-rendered too
    assert "管理员" in page.locator("#who").inner_text()
    shoot(page, "admin-chinese")


def test_zz_the_audit_trail_holds_after_the_suite(server: Server, tmp_path: Path) -> None:
    """Last in this module: every login, inspection and outcome above is in one intact chain,
    which an edit made with sqlite3 breaks."""
    service, _ = server
    actions = {e.action for e in service.audit.entries()}
    assert {"login", "login_failed", "inspection", "outcome", "evidence_pack", "note",
            "references_add", "user_add"} <= actions
    assert all(e.client for e in service.audit.entries() if e.action == "login")
    result = cli("audit", "verify", "--gallery", service.location)
    assert result.stdout.startswith("audit trail intact")
    copy = tmp_path / "copy"
    shutil.copytree(service.location, copy, ignore=shutil.ignore_patterns("web-tmp"))
    outcome = next(e for e in service.audit.entries() if e.action == "outcome")
    with sqlite3.connect(copy / "audit.sqlite") as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET detail = replace(detail, 'seized', 'released') "
                   "WHERE seq = ?", (outcome.seq,))
    broken = cli("audit", "verify", "--gallery", copy, check=False)
    assert broken.returncode == 1 and f"entry {outcome.seq} was altered" in broken.stdout
