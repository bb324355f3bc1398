"""Signed brand packages in a real browser (the app, Chromium and login of test_web.py, started
afresh for this module): the nike right holder downloads signed packages of their brand; an
admin uploads a right holder's package of acme and reads the report (and a refusal's reason);
the references it brought then say where they came from, in the gallery and on an inspection.

Screenshots at a desktop's 1366x900 and a phone's 390x844, in English and Chinese, land beside
the others (``artifacts/screenshots/package-*.png``).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ipr_vision import Embedder, Gallery
from ipr_vision.domain import Actor
from ipr_vision.packages import MANIFEST, SigningKey
from tests.support import given, query_photo, write_photo_folder
from tests.web import test_web
from tests.web.test_web import DESK, PHONE, Login, Server, choose, shoot, table_cell

if TYPE_CHECKING:
    from playwright.sync_api import Page

server, browser, login = test_web.server, test_web.browser, test_web.login

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def acme_packages(tmp_path_factory: pytest.TempPathFactory, server: Server,
                  embedder: Embedder) -> tuple[Path, Path]:
    """ACME's own gallery (12 generated photos) exports two packages: one signed with the key
    the app's gallery trusts for acme, one with a key it has never seen."""
    service, _ = server
    root = tmp_path_factory.mktemp("acme")
    key, public = SigningKey.generate().write(root / "keys", "acme")
    with Gallery(root / "gallery", embedder=embedder) as acme:
        acme.import_folder(write_photo_folder(root / "photos", per_cell=3), brand="acme",
                           added_by="acme-team")
        by = Actor("acme-team", "operator", "python")
        trusted = Path(acme.export_package("acme", key, root / "acme-1.zip", by=by).path)
        untrusted = Path(acme.export_package("acme", SigningKey.generate(),
                                             root / "acme-unknown-key.zip", by=by).path)
    service.gallery.trust_key(public, brand="acme", name="ACME Corp")
    return trusted, untrusted


def open_accordion(page: Page, elem_id: str, title: str) -> None:
    page.locator(f"#{elem_id}").get_by_text(title).first.click()


def export(page: Page, since: str, expect: str) -> str:
    """Ask for a signed package and return its download link once the summary says
    ``expect``."""
    page.locator("#package-since input").fill(since)
    page.locator("#package-export").click()
    page.locator("#package-download").get_by_text(expect).wait_for()
    return str(page.locator("#package-download a:visible").get_attribute("href"))


def test_right_holder_downloads_signed_packages(server: Server, login: Login) -> None:
    service, url = server
    page = login("holder")
    page.set_viewport_size(DESK)
    page.get_by_role("tab", name="Gallery", exact=True).click()
    open_accordion(page, "package-export-box", "Signed package for customs")
    since = page.locator("#package-since input")
    since.wait_for()  # empty until typed, and not marked invalid for being empty
    assert since.input_value() == "" and not since.evaluate("e => e.matches(':invalid')")
    since.fill("0")
    page.locator("#package-export").click()
    page.get_by_text("A package number is a whole number from 1").first.wait_for()
    href = export(page, "", "Package nike #1 (the whole brand), signed with key")
    assert href.startswith("/private/holder/") and href.endswith("/package-nike-1.zip")
    answer = page.request.get(url.rstrip("/") + href)
    assert answer.status == 200
    with zipfile.ZipFile(io.BytesIO(answer.body())) as package:
        assert MANIFEST in package.namelist()
    key = SigningKey.read(given(service.signing_keys) / "nike.key")
    summary = page.locator("#package-download").inner_text()
    assert f"{key.public.fingerprint[:16]}…: 48 reference(s), 0 withdrawn" in summary
    officer = login("officer")  # the download is the holder's alone
    assert officer.request.get(url.rstrip("/") + href).status == 404

    href = export(page, "1", "Package nike #2 (changes since #1)")
    assert "…: 0 reference(s), 0 withdrawn" in page.locator("#package-download").inner_text()
    assert href.endswith("/package-nike-2.zip")
    table_cell(page, "package-written", "changes since #1").wait_for()
    assert [p.sequence for p in service.gallery.packages("nike")[1]] == [1, 2]
    page.locator("#package-export-box").scroll_into_view_if_needed()
    shoot(page, "package-export", full_page=False)

    page.set_viewport_size(PHONE)
    page.locator("#lang").get_by_text("中文").click()
    page.locator("#package-export").get_by_text("下载签名包").wait_for()
    export(page, "2", "品牌包 nike #3（自 #2 以来的变更）")
    table_cell(page, "package-written", "自 #2 以来的变更").wait_for()
    page.locator("#package-export-box").scroll_into_view_if_needed()
    shoot(page, "package-export-zh-phone", full_page=False)


def test_admin_imports_a_package_and_references_show_their_origin(
        server: Server, login: Login, acme_packages: tuple[Path, Path], tmp_path: Path) -> None:
    service, _ = server
    trusted, untrusted = acme_packages
    page = login("admin")
    page.set_viewport_size(DESK)
    page.get_by_role("tab", name="Users and brands", exact=True).click()
    open_accordion(page, "packages", "Signed brand packages")
    table_cell(page, "packages-keys", "ACME Corp").wait_for()

    def upload(path: Path, expect: str) -> str:
        page.locator("#packages-file input[type=file]").set_input_files(str(path))
        page.locator("#packages-file").get_by_text(path.stem, exact=True).wait_for()
        page.locator("#packages-import").click()
        report = page.locator("#packages-report")
        report.get_by_text(expect).wait_for()
        # The file is taken off the form with the report: wait, or the next file would be
        # given to the input being replaced.
        page.locator("#packages-file").get_by_text(path.stem, exact=True).wait_for(state="detached")
        page.locator("#packages-import:not([disabled])").wait_for()
        return report.inner_text()

    before = len(service.gallery.references("acme"))
    refused = upload(untrusted, "Refused")
    assert "does not trust" in refused and "nothing was changed" in refused
    assert len(service.gallery.references("acme")) == before
    report = upload(trusted, "Imported")
    assert "acme #1" in report and "12 added, 0 changed, 0 withdrawn" in report
    assert "by acme-team on" in report
    assert len(service.gallery.references("acme")) == before + 12
    table_cell(page, "packages-imported", "acme-team").wait_for()
    page.locator("#packages").scroll_into_view_if_needed()
    shoot(page, "package-import", full_page=False)

    page.set_viewport_size(PHONE)
    page.locator("#lang").get_by_text("中文").click()
    page.locator("#packages-keys").get_by_text("密钥所属").first.wait_for()
    upload(trusted, "此前已导入")  # the same package again: nothing changes
    assert len(service.gallery.references("acme")) == before + 12
    page.locator("#packages").scroll_into_view_if_needed()
    shoot(page, "package-import-zh-phone", full_page=False)

    # The acme right holder sees, on each reference the package brought, where it came from.
    other = login("other")
    other.set_viewport_size(DESK)
    other.get_by_role("tab", name="Gallery", exact=True).click()
    choose(other, "gallery-product", "boot")
    other.locator("#gallery-grid .thumbnail-lg").first.click()
    origin = other.locator("#gallery-info").get_by_text("From signed package acme #1")
    origin.wait_for()
    assert "signed by acme-team" in origin.inner_text()
    other.locator("#gallery-info").scroll_into_view_if_needed()
    shoot(other, "package-origin-gallery", full_page=False)

    # So does an officer, beside the nearest references of an inspection.
    officer = login("officer", locale="zh-CN")
    officer.set_viewport_size(PHONE)
    choose(officer, "inspect-brand", "acme")
    photo = query_photo(tmp_path, "boot", "fake", 7)
    officer.locator("#inspect-photos input[type=file]").set_input_files(str(photo))
    officer.locator("#inspect-photos").get_by_text(photo.stem, exact=True).wait_for()
    officer.locator("#inspect-run").click()
    notes = officer.locator("#inspect-notes")
    notes.get_by_text("这些参考照片的来源").wait_for()
    assert "来自签名包 acme #1" in notes.inner_text()
    notes.scroll_into_view_if_needed()
    shoot(officer, "package-origin-inspect-zh-phone", full_page=False)
