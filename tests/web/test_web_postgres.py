"""The web app on PostgreSQL, two app servers over one database, in a real browser: what an
officer records on one server, a right holder sees and confirms on the other, and a reference
the right holder adds there is used by the first server's next inspection.

The two servers run in one test process, each its own ``Service`` (its own gallery, brand
caches and connections), as two processes behind a load balancer would hold them; the storage
tests kill real processes (``tests/storage/test_crash.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ipr_vision import Gallery
from ipr_vision.app.web.app import launch, prepare_environment
from ipr_vision.app.web.i18n import t
from tests.conftest import new_database
from tests.web.test_web import (  # noqa: F401  (fixtures, used by name)
    DESK,
    PHONE,
    SAMPLE,
    TIMEOUT_MS,
    USERS,
    browser,
    choose,
    free_port,
    password,
    query_photo,
    shoot,
    table_cell,
    watch_console,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from ipr_vision.embedders import Embedder

pytestmark = pytest.mark.slow

INSPECTION_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, postgres: str
                ) -> Iterator[list[tuple[Gallery, str]]]:
    """Two app servers on one PostgreSQL gallery of the demo sample: each one's gallery and
    address."""
    from ipr_vision.app.service import Service

    scratch = tmp_path_factory.mktemp("web-pg")
    url = new_database(postgres, scratch / "files")
    prepare_environment(scratch / "uploads")
    setup = Gallery(url, embedder=embedder)
    setup.import_index(SAMPLE / "gallery.csv", brand="nike", added_by="test",
                       allow_poor_quality=True)
    setup.close()
    services, apps, addresses = [], [], []
    for n in range(2):
        # As `ipr-vision serve` opens it: a changed brand is refreshed in the background.
        service = Service(Gallery(url, embedder=embedder, refresh_in_background=True))
        if n == 0:
            for name, (role, brands) in USERS.items():
                service.users.add(name, role, password(name), brands)
        port = free_port()
        app, _ = launch(service, port=port, block=False)
        services.append(service)
        apps.append(app)
        addresses.append(f"http://127.0.0.1:{port}/")
    yield [(service.gallery, address) for service, address in zip(services, addresses,
                                                                   strict=True)]
    for app in apps:
        app.close()
    for service in services:
        service.close()


def log_in(browser: Browser, url: str, name: str,  # noqa: F811
           console: list[str]) -> Page:
    context = browser.new_context(viewport=DESK, locale="en-GB")
    page = context.new_page()
    watch_console(page, console)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    fields = page.locator("input")
    fields.nth(0).fill(name)
    fields.nth(1).fill(password(name))
    page.get_by_role("button").first.click()
    page.locator("#who strong").wait_for()
    return page


def inspect_on(page: Page, photo: Path) -> str:
    """Inspect one photo of nike; the recorded inspection's id."""
    choose(page, "inspect-brand", "nike")
    page.locator("#inspect-photos input[type=file]").set_input_files(str(photo))
    page.locator("#inspect-photos").get_by_text(photo.stem, exact=True).wait_for()
    page.locator("#inspect-run").click()
    page.locator("#inspect-verdict .ipr-verdict").wait_for()
    found = INSPECTION_ID.search(page.locator("#inspect-recorded").inner_text())
    assert found, page.locator("#inspect-recorded").inner_text()
    return found.group()


def test_two_app_servers_on_postgresql_share_records_and_references(
        two_servers: list[tuple[Gallery, str]], browser: Browser  # noqa: F811
) -> None:
    (gallery, first), (other, second) = two_servers
    console: list[str] = []
    photo, product = query_photo("fake")

    officer = log_in(browser, first, "officer", console)
    inspection = inspect_on(officer, photo)
    shoot(officer, "postgres-officer-server-1")

    holder = log_in(browser, second, "holder", console)
    holder.get_by_role("tab", name="Inspection records", exact=True).click()
    table_cell(holder, "records-table", inspection).wait_for()  # recorded on the other server
    choose(holder, "records-id", inspection)
    holder.locator("#records-outcome").get_by_text(t("en", "outcome_confirmed_fake"),
                                                   exact=True).click()
    holder.locator("#records-save").click()
    holder.locator("#records-status").get_by_text("recorded").wait_for()
    shoot(holder, "postgres-holder-server-2")

    # The right holder's confirmation, saved through the second server, is what the first
    # one reads; its audit entry is in the one shared trail.
    assert gallery.audit.verify().ok
    outcomes = [e for e in gallery.audit.entries() if e.action == "outcome"]
    assert [(e.actor, e.target) for e in outcomes] == [("holder", inspection)]

    # A reference the second server adds (the confirmed photo, as a fake) is used by the
    # first server's next inspection of the same photo.
    before = {r.id for r in gallery.references("nike")}
    report = other.add_photos([photo], brand="nike", product=product, label="fake",
                              added_by="holder", allow_poor_quality=True)
    added = {ref for _, ref in report.added}
    assert added and not added & before
    officer.locator("#inspect-new").click()
    officer.locator("#inspect-item .ipr-verdict").wait_for(state="hidden")
    inspect_on(officer, photo)
    assert officer.locator("#inspect-fake img").count() >= 1
    nearest = officer.locator("#inspect-fake").inner_text()
    assert any(f"#{ref}" in nearest for ref in added), nearest
    assert not console, "browser console:\n" + "\n".join(console)
