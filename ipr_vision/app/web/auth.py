"""Logging in: our own login page and route, sessions, and throttling by client address.

Why not Gradio's login (``launch(auth=callback)``): its callback gets a name and a password but
not the client's address, so wrong passwords could only be counted per name, and a lockout per
name lets anyone lock anyone out (the admin too) by typing wrong passwords for it. And Gradio
6.31 calls a plain callback on its event loop, so each argon2id check (about 0.2 s of CPU, slow
on purpose) stalled every request of every user: a flood of wrong passwords (12.7 a second)
made an officer's ``/inspect`` take 9-11 s instead of 0.15 s.

So the Blocks are mounted on our FastAPI app (``gr.mount_gradio_app(..., auth_dependency=...)``,
Gradio's documented way to bring one's own login), and here are:

- from :mod:`.throttle`: when an attempt may be checked (by client address and by (address,
  name)), and the password check on one bounded thread;
- refusals (429, 503) answered after a short pause, so a flooding client gets a few a second
  instead of hundreds of cheap ones that still cost the event loop;
- :class:`Sessions`: an unguessable token in an HttpOnly, SameSite=Lax cookie, the user it stands
  for kept in this process's memory;
- :class:`Auth`: the login page (English and Chinese) and route, logout, and who is behind a
  request, for Gradio (``request.username``) and for our own routes.

``bench/bench_login_flood.py`` measures a flood's effect on inspections, before and after.
"""

from __future__ import annotations

import asyncio
import html
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from ...domain import User
from ...errors import PermissionDenied
from ..service import Service
from .gradio_strings import LANGUAGE_COOKIE
from .i18n import LANGUAGES, t
from .throttle import LoginGate, Throttle, client_address

COOKIE = "ipr-vision-session"
LOGIN_ROUTE, LOGOUT_ROUTE = "/login", "/logout"
#: A session unused this long is over (a shift, with margin).
SESSION_IDLE_S = 12 * 3600.0
#: Refusals (throttled, busy) are answered after this pause, at most this many paused at once.
#: Every HTTP client waits for its answer, so a flooding connection then gets one refusal a
#: second instead of hundreds, each of which costs the event loop that serves inspections;
#: a paused answer costs nothing but a socket, and beyond the bound refusals go out at once.
REFUSAL_PAUSE_S, MAX_PAUSED = 1.0, 256
#: How often idle sessions are swept away.
_PRUNE_EVERY_S = 60.0
#: Refused attempts are audited at most this often per address; addresses remembered for it.
REFUSAL_AUDIT_EVERY_S, _MAX_REFUSING = 60.0, 10_000
#: A login form is two short fields; anything larger is not one.
_MAX_FORM_BYTES = 16 * 1024


@dataclass
class _Session:
    name: str
    created_at: str  # the user's: a name removed and given again does not inherit sessions
    seen: float


class Sessions:
    """Who is logged in, by the token in their cookie.

    In this process's memory only: sessions die with the process (everyone logs in again after
    a restart), and two processes serving one gallery each keep their own. A session ends at
    logout, after :data:`SESSION_IDLE_S` unused, or as soon as its user is removed.
    """

    def __init__(self, service: Service, *, idle_s: float = SESSION_IDLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._service = service
        self._idle_s = idle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._pruned = clock()

    def start(self, user: User) -> str:
        """A new session for ``user``; returns its token (256 random bits)."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            if now - self._pruned >= _PRUNE_EVERY_S:
                self._pruned = now
                self._sessions = {k: s for k, s in self._sessions.items()
                                  if now - s.seen < self._idle_s}
            self._sessions[token] = _Session(user.name, user.created_at, now)
        return token

    def user(self, token: str | None) -> User | None:
        """The user a token stands for, or None (and the session ends) when it is unknown,
        idle too long, or its user was removed."""
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.seen >= self._idle_s:
                del self._sessions[token]
                return None
            session.seen = now
        try:
            user = self._service.user(session.name)
        except PermissionDenied:
            user = None
        if user is None or user.created_at != session.created_at:
            self.end(token)
            return None
        return user

    def end(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)


class Auth:
    """The login page and route, logout, and who is behind a request."""

    def __init__(self, service: Service, *, message: str | None = None,
                 throttle: Throttle | None = None, gate: LoginGate | None = None) -> None:
        self.service = service
        self.message = message
        self.sessions = Sessions(service)
        self.throttle = throttle or Throttle()
        self.gate = gate or LoginGate()
        self._paused = 0  # refusals being paused; changed on the event loop only
        #: address -> (when its last refusal was audited, refusals since), on the event loop
        self._refused: dict[str, tuple[float, int]] = {}

    def user_of(self, connection: HTTPConnection) -> User | None:
        return self.sessions.user(connection.cookies.get(COOKIE))

    def username(self, request: Request) -> str | None:
        """Gradio's ``auth_dependency``: the name handlers get as ``request.username``."""
        user = self.user_of(request)
        return user.name if user is not None else None

    def close(self) -> None:
        self.gate.close()

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(LOGIN_ROUTE, self._page, methods=["GET"])
        router.add_api_route(LOGIN_ROUTE, self._login, methods=["POST"])
        router.add_api_route(LOGOUT_ROUTE, self._logout, methods=["GET"])
        return router

    def _page(self, request: Request) -> Response:
        if self.user_of(request) is not None:
            return RedirectResponse("/", 303)
        return self._form(request)

    async def _login(self, request: Request) -> Response:
        """Gradio's login protocol (form fields ``username`` and ``password``; 200 with the
        cookie, 401 when wrong), which gradio_client speaks; a browser's form (it accepts
        HTML) gets the page back with a message instead, or is sent on to the app."""
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > _MAX_FORM_BYTES:
            return self._refuse(request, 413, "login_failed")
        form = await request.form(max_files=0, max_fields=8, max_part_size=_MAX_FORM_BYTES)
        name, password = form.get("username"), form.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            return self._refuse(request, 400, "login_failed")
        name = name.strip()
        client = client_address(request)
        wait = self.throttle.admit(client, name)
        if wait > 0:
            await self._audit_refusal(client, name, "throttled")
            await self._pause()
            return self._refuse(request, 429, "login_throttled", name, seconds=math.ceil(wait))
        checked = self.gate.run(self._check, name, password, client)
        if checked is None:
            self.throttle.refund(client)
            await self._audit_refusal(client, name, "busy")
            await self._pause()
            return self._refuse(request, 503, "login_busy", name, seconds=1)
        user = await checked
        if user is None:
            self.throttle.failed(client, name)
            return self._refuse(request, 401, "login_failed", name)
        self.throttle.succeeded(client, name)
        response: Response = (RedirectResponse("/", 303) if _wants_page(request)
                              else JSONResponse({"success": True}))
        response.set_cookie(COOKIE, self.sessions.start(user), httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path="/")
        # The language the login page was read in is the app's too (the page's own script
        # reads this cookie, so it is not HttpOnly; it holds "en" or "zh", nothing secret).
        response.set_cookie(LANGUAGE_COOKIE, _language(request), max_age=365 * 86400,
                            samesite="lax", secure=request.url.scheme == "https", path="/")
        return response

    async def _audit_refusal(self, client: str, name: str, reason: str) -> None:
        """Attempts refused unchecked go to the audit trail too, but at most one entry a minute
        per address (counting the refusals since its last), so a flood cannot fill the trail.
        """
        now = time.monotonic()
        last, since = self._refused.get(client, (-math.inf, 0))
        if now - last < REFUSAL_AUDIT_EVERY_S:
            self._refused[client] = (last, since + 1)
            return
        if len(self._refused) > _MAX_REFUSING:  # forget addresses quiet for a while
            self._refused = {a: r for a, r in self._refused.items()
                             if now - r[0] < REFUSAL_AUDIT_EVERY_S}
        self._refused[client] = (now, 0)
        await run_in_threadpool(self.service.login_refused, name, client, reason, since + 1)

    async def _pause(self) -> None:
        if self._paused >= MAX_PAUSED:
            return
        self._paused += 1
        try:
            await asyncio.sleep(REFUSAL_PAUSE_S)
        finally:
            self._paused -= 1

    def _check(self, name: str, password: str, client: str) -> User | None:
        """On the gate's thread: the password check, and the user it logs in."""
        if not self.service.login(name, password, client=client):
            return None
        try:
            return self.service.user(name)
        except PermissionDenied:  # removed while their password was being checked
            return None

    def _logout(self, request: Request) -> Response:
        self.sessions.end(request.cookies.get(COOKIE))
        response = RedirectResponse(LOGIN_ROUTE, 303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
        return response

    def _refuse(self, request: Request, status: int, key: str, name: str = "",
                seconds: int | None = None) -> Response:
        lang = _language(request)
        headers = {"Retry-After": str(seconds)} if seconds is not None else {}
        if _wants_page(request):
            return self._form(request, error=t(lang, key, seconds=seconds), name=name,
                              status=status, headers=headers)
        return JSONResponse({"detail": t("en", key, seconds=seconds)}, status, headers)

    def _form(self, request: Request, *, error: str = "", name: str = "", status: int = 200,
              headers: dict[str, str] | None = None) -> HTMLResponse:
        lang = _language(request)
        message = self.message or t(lang, "login_message")
        switch = " · ".join(f'<a href="{LOGIN_ROUTE}?lang={code}" lang="{code}">{label}</a>'
                            for label, code in LANGUAGES)
        alert = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        page = _PAGE.format(
            lang=lang, switch=switch, action=f"{LOGIN_ROUTE}?lang={lang}", alert=alert,
            title=html.escape(t(lang, "login")), name_label=html.escape(t(lang, "user_name")),
            name=html.escape(name), password_label=html.escape(t(lang, "login_password")),
            message=html.escape(message))
        return HTMLResponse(page, status, {**_PAGE_HEADERS, **(headers or {})})


class LoginFirst:
    """ASGI middleware: a browser asking for the app without a session is sent to the login
    page (Gradio, mounted with ``auth_dependency``, would answer a bare 401)."""

    def __init__(self, app: ASGIApp, *, user_of: Callable[[HTTPConnection], User | None]
                 ) -> None:
        self.app = app
        self.user_of = user_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] == "/"
                and scope["method"] in ("GET", "HEAD")
                and self.user_of(HTTPConnection(scope)) is None):
            await RedirectResponse(LOGIN_ROUTE, 303)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _wants_page(request: Request) -> bool:
    """A browser submitting the form accepts HTML; gradio_client and scripts do not ask."""
    return "text/html" in request.headers.get("accept", "")


def _language(request: Request) -> str:
    return language_of(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE),
                       request.headers.get("accept-language", ""))


def language_of(chosen: str | None, kept: str | None, accepted: str) -> str:
    """The page's language: the one just chosen on the login page (``?lang=``), else the one
    last chosen (kept in a cookie by the login and by the switch in the app), else the
    browser's preference. The app's page script follows the same rule."""
    codes = {code for _, code in LANGUAGES}
    for code in (chosen, kept):
        if code in codes:
            return str(code)
    return "zh" if accepted.lower().startswith("zh") else "en"


#: The login page may not be framed (clickjacking), run scripts or post anywhere but here.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>ipr-vision</title>
<style>
body {{font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
  background: #f4f4f5; color: #18181b; margin: 0}}
main {{max-width: 380px; margin: 8vh auto; background: #fff; padding: 28px 32px;
  border-radius: 12px; box-shadow: 0 1px 4px rgba(0, 0, 0, .12)}}
h1 {{font-size: 1.3em; margin: 0 0 4px}}
.switch {{margin: 0 0 18px; font-size: .9em}}
label {{display: block; margin: 12px 0 4px; font-weight: 600}}
input {{width: 100%; box-sizing: border-box; padding: 8px 10px; font-size: 1em;
  border: 1px solid #a1a1aa; border-radius: 6px}}
button {{margin-top: 18px; width: 100%; padding: 10px; font-size: 1em; font-weight: 600;
  color: #fff; background: #ea580c; border: 0; border-radius: 6px; cursor: pointer}}
.error {{color: #991b1b; background: #fef2f2; border: 1px solid #fecaca; padding: 8px 10px;
  border-radius: 6px}}
.message {{margin-top: 18px; font-size: .9em; color: #52525b}}
</style></head>
<body><main>
<h1>ipr-vision · {title}</h1>
<p class="switch">{switch}</p>
{alert}
<form method="post" action="{action}">
<label for="username">{name_label}</label>
<input id="username" name="username" value="{name}" autocomplete="username" required autofocus>
<label for="password">{password_label}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{title}</button>
</form>
<p class="message">{message}</p>
</main></body></html>
"""
