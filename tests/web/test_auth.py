"""Logging in and private files: the login page and route, sessions, throttling by client
address, and files (downloads, uploads) that only their owner (and admins) can read.

The throttle, the sessions' files and the hand-out records are checked alone with a clock moved
by hand (fast); everything else against the real app, started here on a free localhost port
(the browser tests' server and Chromium, see test_web.py), with other clients coming from other
loopback addresses (127.0.0.x) where the client address matters.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx
import pytest

from ipr_vision.app.web import throttle as throttling
from ipr_vision.app.web.private_files import HandedOut, PrivateFiles
from ipr_vision.app.web.throttle import Throttle
from ipr_vision.intake.labelled import read_index
from tests.web import test_web
from tests.web.test_web import Login, Server, choose, password, query_photo

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The browser tests' app, Chromium and login, started afresh for this module.
server, browser, login = test_web.server, test_web.browser, test_web.login

slow = pytest.mark.slow


class Clock:
    """A monotonic clock moved by hand, so waits pass without the test sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def session(url: str, name: str, *, address: str | None = None,
            secret: str | None = None) -> httpx.Client:
    """An HTTP client logged in as ``name`` the way gradio_client logs in (form fields, no
    HTML), connecting from ``address`` when given."""
    transport = httpx.HTTPTransport(local_address=address) if address else None
    client = httpx.Client(base_url=url, transport=transport, timeout=60)
    answer = client.post("login", data={"username": name,
                                        "password": secret or password(name)})
    assert answer.status_code == 200, (name, answer.status_code, answer.text)
    return client


def attempt(url: str, name: str, secret: str, address: str) -> httpx.Response:
    """One login attempt from ``address``, as a script makes it."""
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address),
                      timeout=60) as client:
        return client.post(urljoin(url, "login"), data={"username": name, "password": secret})


# -- the throttle, alone -----------------------------------------------------------------------


def test_wrong_passwords_slow_down_only_that_name_from_that_address() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    for _ in range(throttling.PAIR_FREE):
        assert throttle.admit("10.0.0.1", "admin") == 0
        throttle.failed("10.0.0.1", "admin")
    assert throttle.admit("10.0.0.1", "admin") == pytest.approx(throttling.PAIR_FIRST_WAIT_S)
    # The same name from elsewhere, and another name from here, go on.
    assert throttle.admit("10.0.0.2", "admin") == 0
    throttle.succeeded("10.0.0.2", "admin")
    assert throttle.admit("10.0.0.1", "officer") == 0
    clock.now += throttling.PAIR_FIRST_WAIT_S
    assert throttle.admit("10.0.0.1", "admin") == 0
    throttle.failed("10.0.0.1", "admin")  # one more failure: the wait doubles
    assert throttle.admit("10.0.0.1", "admin") == pytest.approx(2 * throttling.PAIR_FIRST_WAIT_S)
    clock.now += 2 * throttling.PAIR_FIRST_WAIT_S
    assert throttle.admit("10.0.0.1", "admin") == 0
    throttle.succeeded("10.0.0.1", "admin")  # a success starts the pair afresh
    for _ in range(throttling.PAIR_FREE - 1):
        assert throttle.admit("10.0.0.1", "admin") == 0
        throttle.failed("10.0.0.1", "admin")
    assert throttle.admit("10.0.0.1", "admin") == 0


def test_one_address_gets_a_burst_then_one_attempt_every_few_seconds() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    for n in range(throttling.ADDRESS_BURST):  # password spraying: a new name each time
        assert throttle.admit("10.0.0.1", f"name{n}") == 0
        throttle.failed("10.0.0.1", f"name{n}")
    wait = throttle.admit("10.0.0.1", "admin")
    assert wait == pytest.approx(throttling.ADDRESS_REFILL_S)
    assert throttle.admit("10.0.0.9", "admin") == 0  # other addresses are not held up
    clock.now += wait
    assert throttle.admit("10.0.0.1", "admin") == 0
    assert throttle.admit("10.0.0.1", "admin") > 0
    throttle.refund("10.0.0.1")  # not checked after all (the server was busy)
    assert throttle.admit("10.0.0.1", "admin") == 0


def test_right_passwords_never_use_up_an_address() -> None:
    """An office behind one address: many people logging in correctly are never held up."""
    throttle = Throttle(clock=Clock())
    for n in range(5 * throttling.ADDRESS_BURST):
        assert throttle.admit("10.0.0.1", f"officer{n}") == 0
        throttle.succeeded("10.0.0.1", f"officer{n}")


def test_ipv6_clients_are_counted_by_their_64_network() -> None:
    from starlette.requests import HTTPConnection

    def address(host: str) -> str:
        return throttling.client_address(HTTPConnection({"type": "http", "client": (host, 1)}))

    assert address("2001:db8:1:2::1") == address("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address("2001:db8:1:3::1") != address("2001:db8:1:2::1")
    assert address("::ffff:192.0.2.7") == address("192.0.2.7") == "192.0.2.7"


# -- private files, alone ----------------------------------------------------------------------


def test_private_files_get_unguessable_folders_and_urls(tmp_path: Path) -> None:
    files = PrivateFiles(tmp_path / "private")
    first = files.new_path("officer", "records-officer.csv")
    second = files.new_path("officer", "records-officer.csv")
    assert first != second and first.parent.parent == files.root / "officer"
    assert len(first.parent.name) >= 32
    first.write_text("a,b\n")
    owner, token, name = files.url(first).split("/")[2:]
    assert files.url(first) == f"/private/officer/{first.parent.name}/records-officer.csv"
    assert files.find(owner, token, name) == first
    assert files.find(owner, token, "other.csv") is None
    assert files.find("trainer", token, name) is None
    for bad in ("..", ".", "", "a/b", ".hidden", "a\0b"):
        assert files.find(bad, token, name) is None
        assert files.find(owner, bad, name) is None
        assert files.find(owner, token, bad) is None
        with pytest.raises(ValueError, match="not a plain"):
            files.new_path("officer", bad)
    with pytest.raises(ValueError, match="not made by"):
        files.url(tmp_path / "elsewhere.csv")


def test_a_link_planted_in_the_folder_reaches_nothing_outside(tmp_path: Path) -> None:
    files = PrivateFiles(tmp_path / "private")
    secret = tmp_path / "users.sqlite"
    secret.write_text("secret")
    planted = files.root / "officer" / ("x" * 32)
    planted.mkdir(parents=True)
    (planted / "users.sqlite").symlink_to(secret)
    assert files.find("officer", "x" * 32, "users.sqlite") is None


def test_downloads_older_than_a_day_are_swept_at_startup(tmp_path: Path) -> None:
    files = PrivateFiles(tmp_path / "private")
    old, new = files.new_path("officer", "old.csv"), files.new_path("officer", "new.csv")
    old.write_text("old")
    new.write_text("new")
    day_ago = time.time() - 86_400 - 60
    os.utime(old, (day_ago, day_ago))
    os.utime(old.parent, (day_ago, day_ago))
    PrivateFiles(tmp_path / "private")  # the next start
    assert not old.exists() and new.exists()


def test_hand_outs_are_per_user_and_last_a_day(tmp_path: Path) -> None:
    clock = Clock()
    folder = tmp_path / "web-tmp"
    (folder / "abc").mkdir(parents=True)
    photo = folder / "abc" / "photo.jpg"
    photo.write_bytes(b"jpeg")
    handed = HandedOut(folder, clock=clock)
    handed.give("officer", str(photo))
    assert handed.given("officer", str(photo))
    assert handed.given("officer", f"{folder}/abc/../abc/photo.jpg")  # as Gradio resolves it
    assert not handed.given("trainer", str(photo))
    handed.give("officer", "/etc/passwd")  # outside Gradio's folder: never recorded
    assert not handed.given("officer", "/etc/passwd")
    clock.now += 86_400
    assert not handed.given("officer", str(photo))


# -- the login page and sessions, over HTTP ----------------------------------------------------


@slow
def test_login_page_sessions_and_logout(server: Server) -> None:
    _, url = server
    with httpx.Client(base_url=url, timeout=60) as browser_like:
        page = {"accept": "text/html,application/xhtml+xml"}
        first = browser_like.get("/", headers=page)
        assert first.status_code == 303 and first.headers["location"] == "/login"
        chinese = browser_like.get("/login", headers={**page, "accept-language": "zh-CN,zh"})
        assert 'lang="zh"' in chinese.text and "密码" in chinese.text
        english = browser_like.get("/login?lang=en", headers=page)
        assert "Password" in english.text and english.headers["x-frame-options"] == "DENY"
        wrong = browser_like.post("/login", data={"username": "officer", "password": "nope"},
                                  headers=page)
        assert wrong.status_code == 401 and "Incorrect user name or password" in wrong.text
        assert "ipr-vision-session" not in browser_like.cookies
        right = browser_like.post("/login", headers=page, data={
            "username": "officer", "password": password("officer")})
        assert right.status_code == 303 and right.headers["location"] == "/"
        cookie = right.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        token = browser_like.cookies["ipr-vision-session"]
        assert len(token) >= 40
        assert browser_like.get("/config").status_code == 200
        out = browser_like.get("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        # The old token is dead on the server, not only forgotten by this browser.
        assert httpx.get(urljoin(url, "config"),
                         cookies={"ipr-vision-session": token}).status_code == 401


@slow
def test_a_removed_user_is_logged_out_at_once(server: Server) -> None:
    service, url = server
    service.users.add("leaver", "officer", password("leaver"))
    client = session(url, "leaver")
    assert client.get("config").status_code == 200
    service.users.remove("leaver")
    assert client.get("config").status_code == 401
    service.users.add("leaver", "officer", password("leaver"))  # the name given again
    assert client.get("config").status_code == 401  # the old session is not theirs


# -- throttling, over HTTP ---------------------------------------------------------------------


@slow
def test_a_client_guessing_a_password_locks_nobody_else_out(server: Server) -> None:
    service, url = server
    for _ in range(throttling.PAIR_FREE):
        assert attempt(url, "admin", "a wrong guess", "127.0.0.3").status_code == 401
    for _ in range(3):  # refused unchecked; audited once for the minute
        refused = attempt(url, "admin", password("admin"), "127.0.0.3")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    # The admin, from their own address, logs in as if nothing happened.
    assert attempt(url, "admin", password("admin"), "127.0.0.4").status_code == 200
    trail = [(e.action, e.client) for e in service.audit.entries(actor="admin")
             if e.client in ("127.0.0.3", "127.0.0.4")]
    assert trail == [*[("login_failed", "127.0.0.3")] * throttling.PAIR_FREE,
                     ("login_refused", "127.0.0.3"), ("login", "127.0.0.4")]


@slow
def test_a_client_spraying_many_names_is_held_back_by_address(server: Server) -> None:
    _, url = server
    statuses: list[int] = []
    started = time.monotonic()
    while 429 not in statuses and len(statuses) < 3 * throttling.ADDRESS_BURST:
        statuses.append(attempt(url, f"guess{len(statuses)}", "a wrong guess",
                                "127.0.0.5").status_code)
    refilled = (time.monotonic() - started) / throttling.ADDRESS_REFILL_S  # while they were checked
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}, statuses
    assert throttling.ADDRESS_BURST <= len(statuses) - 1 <= throttling.ADDRESS_BURST + refilled + 1
    # Held back from then on: each refusal takes a second, and one attempt comes back every
    # few, so of four more at most two are checked (how much of one had refilled at the first
    # refusal is a matter of timing, hence not exactly one).
    more = [attempt(url, f"more{n}", "a wrong guess", "127.0.0.5").status_code
            for n in range(4)]
    assert more.count(401) <= 2 and more.count(429) >= 2, more
    assert attempt(url, "officer", password("officer"), "127.0.0.6").status_code == 200


@slow
def test_password_checks_run_on_the_login_thread_bounded(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks run on the login gate's thread, never the event loop, so the app keeps
    answering while they run; beyond the gate's queue, attempts are refused at once."""
    service, url = server
    real_login = service.login
    threads: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def held_login(name: str, secret: str, client: str = "") -> bool:
        threads.append(threading.current_thread().name)
        entered.set()
        release.wait(timeout=30)
        return real_login(name, secret, client=client)

    monkeypatch.setattr(service, "login", held_login)
    room = throttling.LOGIN_WORKERS + throttling.LOGIN_WAITING
    with ThreadPoolExecutor(room + 3) as pool:
        first = pool.submit(attempt, url, "guess-first", "a wrong guess", "127.0.0.7")
        assert entered.wait(timeout=30), "no password check started"
        rest = [pool.submit(attempt, url, f"guess{n}", "a wrong guess", "127.0.0.7")
                for n in range(room + 2)]
        try:
            started = time.perf_counter()
            while sum(r.done() for r in rest) < 3 and time.perf_counter() - started < 30:
                time.sleep(0.05)
            busy = [r.result() for r in rest if r.done()]  # the three the gate had no room for
            assert [r.status_code for r in busy] == [503] * 3
            assert all(r.headers["retry-after"] == "1" for r in busy)
            page = httpx.get(urljoin(url, "login"), timeout=30)
            assert page.status_code == 200
            assert time.perf_counter() - started < 5, "the app stalled while checks waited"
        finally:
            release.set()
        checked = [first.result(timeout=60), *(r.result(timeout=60) for r in rest)]
    assert sorted(r.status_code for r in checked) == [401] * room + [503] * 3
    assert len(threads) == room and all(t.startswith("ipr-login") for t in threads), threads


# -- private files, over HTTP ------------------------------------------------------------------


@pytest.fixture
def others(server: Server) -> Iterator[dict[str, httpx.Client]]:
    """Logged-in HTTP clients of every user, and one without a session."""
    _, url = server
    clients = {name: session(url, name) for name in test_web.USERS}
    clients["nobody"] = httpx.Client(base_url=url, timeout=60)
    yield clients
    for client in clients.values():
        client.close()


def as_owner(page: Page, url: str) -> httpx.Client:
    """An HTTP client with the browser page's session."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return httpx.Client(base_url=url, cookies=cookies, timeout=60)


def href(page: Page, elem_id: str) -> str:
    link = page.locator(f"#{elem_id} a[href]:visible")  # the link in the page's language
    link.wait_for()
    value = link.get_attribute("href")
    assert value, elem_id
    return value


def uploaded(page: Page, elem_id: str, photo: Path) -> str:
    """Upload ``photo`` into a file component; returns the URL Gradio serves it at."""
    with page.expect_response(lambda r: r.request.method == "POST" and
                              r.url.split("?")[0].endswith("/gradio_api/upload")) as answer:
        page.locator(f"#{elem_id} input[type=file]").set_input_files(str(photo))
    stored = answer.value.json()
    assert len(stored) == 1, stored
    return f"gradio_api/file={stored[0]}"


def check_private(clients: dict[str, httpx.Client], owner: httpx.Client, link: str,
                  readers: set[str], starts: bytes) -> None:
    """The owner and ``readers`` get the file, everyone else 403 or 404."""
    mine = owner.get(link)
    assert mine.status_code == 200, (link, mine.status_code)
    assert mine.content and mine.content.startswith(starts), link
    for name, client in clients.items():
        got = client.get(link)
        if name in readers:
            assert got.status_code == 200 and got.content == mine.content, (name, link)
        else:
            assert got.status_code in (401, 403, 404), (name, link, got.status_code)


@slow
def test_downloads_and_uploads_are_served_to_their_owner_only(
        server: Server, login: Login, others: dict[str, httpx.Client]) -> None:
    service, url = server
    officer = login("officer")
    officer.locator("#who strong").wait_for()
    choose(officer, "inspect-brand", "nike")
    photo, _ = query_photo("fake")
    photo_link = uploaded(officer, "inspect-photos", photo)
    officer.locator("#inspect-run").click()
    officer.locator("#inspect-verdict .ipr-verdict").wait_for()
    inspection_csv = href(officer, "inspect-csv")
    officer.locator("#inspect-evidence").click()
    evidence_zip = href(officer, "inspect-evidence-file")
    officer.get_by_role("tab", name="Inspection records", exact=True).click()
    records_csv = href(officer, "records-csv")
    holder = login("holder")
    holder.locator("#who strong").wait_for()
    holder.get_by_role("tab", name="Gallery", exact=True).click()
    holder_photo, _ = query_photo("genuine")
    holder_link = uploaded(holder, "gallery-files", holder_photo)

    with as_owner(officer, url) as mine, as_owner(holder, url) as theirs:
        for link, starts in ((photo_link, photo.read_bytes()[:64]), (inspection_csv, b""),
                             (evidence_zip, b"PK"), (records_csv, b"")):
            check_private(others, mine, link, {"officer", "admin"}, starts)
        check_private(others, theirs, holder_link, {"holder", "admin"},
                      holder_photo.read_bytes()[:64])
        # The name the records file used to be written under, for anyone to guess.
        guessed = f"gradio_api/file={service.location}/web-tmp/downloads/records-officer.csv"
        assert others["trainer"].get(guessed).status_code in (403, 404)


@slow
def test_nobody_can_submit_another_users_upload_as_their_own(
        login: Login, others: dict[str, httpx.Client]) -> None:
    """Another user's upload given as an input would be inspected, recorded and shown back to
    them (heat map, evidence pack): refused before Gradio reads it."""
    officer = login("officer")
    officer.locator("#who strong").wait_for()
    # A photo no other test uploads: Gradio stores equal bytes under one path, and a user who
    # uploaded the same photo may read it (they hold it already).
    photo = read_index(test_web.SAMPLE / "queries.csv")[0][-1].source
    link = uploaded(officer, "inspect-photos", photo)
    stored = link.removeprefix("gradio_api/file=")
    config = others["holder"].get("config").json()
    inspect = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "inspect")
    body = {"data": [{"path": stored, "meta": {"_type": "gradio.FileData"}}, "nike", ""],
            "fn_index": inspect, "session_hash": "someone-else", "event_data": None,
            "trigger_id": None}
    answer = others["holder"].post("gradio_api/queue/join", json=body)
    assert answer.status_code == 403, (answer.status_code, answer.text)
