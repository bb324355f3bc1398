"""Errors raised below the web app (service, accounts, gallery, storage, photo intake) reach a
user in their language: each one a web user can cause carries a text key of
:mod:`ipr_vision.app.web.i18n_errors`, whose English is the message the command line prints
and whose Chinese leaves nothing English but ids and names (fast; no browser, no model run)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ipr_vision import Gallery
from ipr_vision.app.accounts import Accounts
from ipr_vision.app.service import Service
from ipr_vision.app.web.common import detail, refusal
from ipr_vision.app.web.i18n import TEXT
from ipr_vision.app.web.i18n_admin import ADMIN_TEXT
from ipr_vision.app.web.i18n_errors import ERROR_TEXT
from ipr_vision.app.web.i18n_learning import LEARNING_TEXT
from ipr_vision.domain import Outcome, Role
from ipr_vision.errors import GalleryError, IprVisionError, PermissionDenied
from tests.app.conftest import FAST, PASSWORD
from tests.support import REPO

PACKAGE = REPO / "ipr_vision"
#: The web app's own source: it words its errors by Refused(key), tested in test_web_text.
WEB = PACKAGE / "app" / "web"


def sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if WEB not in path.parents:
            yield path, path.read_text(encoding="utf-8")


def test_every_key_an_error_is_raised_with_is_translated_and_none_is_stale() -> None:
    """Keys are literals at the raise site (a key built at run time could not be checked
    here), each in the table in both languages; each key of the table is raised somewhere."""
    used: set[str] = set()
    for path, code in sources():
        assert not re.search(r"\bkey=f[\"']", code), f"{path}: a key built at run time"
        used |= set(re.findall(r"\"(error\.\w+)\"", code))
    assert len(used) > 50, "the scan found few keys: the pattern no longer matches the code"
    missing = sorted(used - TEXT.keys())
    assert not missing, missing
    composing = {"error.photo", "error.none_yet"}  # used by the web app to put texts together
    stale = sorted(k for k in ERROR_TEXT if k.startswith("error.") and k not in used | composing)
    assert not stale, stale


def test_the_words_an_error_names_are_translated() -> None:
    """A value named ``what`` (what a name or a choice is of), ``role`` or ``outcome`` is a
    word of the app's vocabulary, said in Chinese on a Chinese page."""
    code = "\n".join(text for _, text in sources())
    whats = set(re.findall(r"check_name\([^()\n]*?,\s*\"(\w+)\"", code))
    whats |= set(re.findall(r"\bparse\(\w+,\s*\w+,\s*\"(\w+)\"", code))
    assert {"brand", "product", "role", "outcome"} <= whats
    for word in [*(f"word_{w}" for w in whats), *(f"role_{r}" for r in Role),
                 *(f"outcome_{o}" for o in Outcome)]:
        assert word in TEXT, word


def test_the_error_table_is_its_own() -> None:
    """Joined into one table, a key of two parts would silently lose one text."""
    assert all(k.startswith(("error.", "word_")) for k in ERROR_TEXT)
    assert not ERROR_TEXT.keys() & (ADMIN_TEXT.keys() | LEARNING_TEXT.keys())
    assert all(TEXT[k] == v for k, v in ERROR_TEXT.items())


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """Two brands without photos, a right holder of one, an officer and an admin: enough for
    the refusals below, none of which reads a photo with the model."""
    gallery = Gallery(tmp_path / "g", create=True)
    gallery.add_brand("nike")
    gallery.add_brand("acme")
    service = Service(gallery, users=Accounts.open(tmp_path / "g", hasher=FAST))
    service.users.add("ron", "right_holder", PASSWORD, ["acme"])
    service.users.add("olga", "officer", PASSWORD)
    service.users.add("ada", "admin", PASSWORD)
    yield service
    service.close()


def latin_words(text: str, *ids: str) -> list[str]:
    """The words in Latin letters left in ``text`` once quoted values and ``ids`` are taken
    out: on a Chinese page, English."""
    text = re.sub(r"'[^']*'", "", text)
    for name in sorted(ids, key=len, reverse=True):
        text = text.replace(name, "")
    return re.findall(r"[A-Za-z]{2,}", text)


def test_refusals_read_as_the_cli_prints_them_and_in_chinese_without_english(
        service: Service, tmp_path: Path) -> None:
    ron, olga, ada = (service.user(n) for n in ("ron", "olga", "ada"))
    photo = tmp_path / "boot.jpg"
    photo.write_bytes(b"not a photo at all")
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: service.products(ron, "nike"), "无权访问品牌"),
        (lambda: service.inspect(olga, "nike", None, [photo]), "尚无参考照片"),
        (lambda: service.inspect(olga, "zzz", None, [photo]), "未知品牌"),
        (lambda: service.inspect(ron, "nike", None, [photo]), "无权查验"),
        (lambda: service.set_outcome(ron, "nope", "seized"), "没有查验记录"),
        (lambda: service.add_brand(olga, "puma"), "只有管理员"),
        (lambda: service.add_brand(ada, ".."), "品牌名称"),
        (lambda: service.add_user(ada, "#1", "officer", PASSWORD), "用户名"),
        (lambda: service.add_user(ada, "bob", "right_holder", PASSWORD), "至少需要一个品牌"),
        (lambda: service.add_user(ada, "bob", "trainer", PASSWORD, ["acme"]), "培训师可查看"),
        (lambda: service.add_user(ada, "bob", "boss", PASSWORD), "未知的角色"),
        (lambda: service.add_user(ada, "olga", "officer", PASSWORD), "已存在"),
        (lambda: service.add_user(ada, "bob", "officer", "short"), "密码至少需要"),
        (lambda: service.remove_user(ada, "ada"), "不能删除自己"),
        (lambda: service.identify(ron, photo), "都还没有参考照片"),
        (lambda: service.gallery.read(photo, name=photo.name), "不是图像"),
    ]
    ids = ("ron", "olga", "ada", "nike", "acme", "zzz", "nope", "boot.jpg", "officer",
           "right_holder", "trainer", "admin", "BMP", "HEIF", "JPEG", "MPO", "PNG", "TIFF",
           "WEBP")
    for attempt, chinese in attempts:
        with pytest.raises(IprVisionError) as raised:
            attempt()
        error = raised.value
        assert error.key is not None, str(error)
        assert detail("en", error) == str(error)  # the page's English is the CLI's
        zh = refusal("zh", error)
        assert chinese in zh and not latin_words(zh, *ids), (str(error), zh)


def test_a_permission_refusal_says_it_once(service: Service) -> None:
    """A keyed refusal says who may not do what itself: no "Not allowed:" before it."""
    with pytest.raises(PermissionDenied) as raised:
        service.products(service.user("ron"), "nike")
    assert refusal("en", raised.value) == "ron has no access to brand 'nike'"
    assert refusal("zh", raised.value) == "ron 无权访问品牌 'nike'"


def test_an_error_without_a_key_is_shown_as_its_message() -> None:
    error = GalleryError("something only an engineer would say")
    assert detail("zh", error) == "something only an engineer would say"
    assert refusal("zh", PermissionDenied("plain")) == "无权操作：plain"


def test_a_photo_quoted_by_another_error_is_said_by_its_reason() -> None:
    """A package names its photo itself; the photo's reason comes in the reader's language."""
    from ipr_vision.errors import PackageError, PhotoError

    photo = PhotoError("a.jpg", "file is empty (0 bytes)", key="error.photo_empty")
    error = PackageError("a.jpg is not a usable photo (file is empty (0 bytes))",
                         key="error.package_photo", member="a.jpg", reason=photo)
    assert detail("en", error) == str(error)
    assert detail("zh", error) == "a.jpg 不是可用的照片（文件为空（0 字节））"
    assert detail("zh", photo) == "a.jpg：文件为空（0 字节）"
