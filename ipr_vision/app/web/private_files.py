"""Files that belong to one user: what we write for them to download, and what passes through
Gradio's own file folder (their uploads, the images and files a handler sent them).

Why not Gradio's folder for our downloads: Gradio serves everything under ``GRADIO_TEMP_DIR``
at ``/gradio_api/file=<path>`` to every logged-in user, and the names we chose there
(``records-<user>.csv``, ``inspection-<id>.csv``) could be guessed. :class:`PrivateFiles` keeps
downloads outside every folder Gradio serves, each in a folder named by a random token, behind
:data:`ROUTE`, which hands a file to its owner (and admins) only.

Gradio's folder itself cannot move: uploads must land there and outputs are copied there. So
:class:`GradioFileGuard` narrows ``/gradio_api/file=`` to the files a user was handed (uploaded
themselves, or received in a response: :class:`HandedOut`), and refuses requests that name a
file the user was never handed (another user's upload given as an input would otherwise be
inspected, recorded and shown back as heat map and evidence).
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...domain import Role, User

#: Where :class:`PrivateFiles` are downloaded: ``/private/<owner>/<token>/<file name>``.
ROUTE = "/private"
#: How long a download or a hand-out lasts: a day, as Gradio's own files (``delete_cache``).
MAX_AGE_S = 86_400.0
#: How often old files and hand-outs are swept away while the app runs.
SWEEP_EVERY_S = 3_600.0
_TOKEN_BYTES = 24  # 32 URL-safe characters: 192 random bits
_FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/")
_UPLOAD_ROUTE = "/gradio_api/upload"

#: Who sent a request (from its session cookie), or None.
UserOf = Callable[[HTTPConnection], User | None]


class PrivateFiles:
    """Downloads made for one user, each at ``root/<owner>/<token>/<file name>``.

    ``root`` must be outside ``GRADIO_TEMP_DIR`` and every path Gradio is allowed to serve (the
    app passes it to Gradio as a blocked path too). The token makes each URL unguessable even to
    someone who knows the owner and the file name; the route checks the session anyway, so a
    link that leaks (a screenshot, a forwarded e-mail) opens nothing for anyone else.
    """

    def __init__(self, root: Path, *, max_age_s: float = MAX_AGE_S) -> None:
        self.root = root.resolve()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._swept = time.monotonic()
        self.sweep()

    def new_path(self, owner: str, filename: str) -> Path:
        """A fresh path for a file ``owner`` will download as ``filename`` (its folder exists;
        the caller writes the file)."""
        _check_component(owner, "owner")
        _check_component(filename, "file name")
        self._sweep_when_due()
        folder = self.root / owner / secrets.token_urlsafe(_TOKEN_BYTES)
        folder.mkdir(mode=0o700, parents=True)
        return folder / filename

    def url(self, path: Path) -> str:
        """The download URL of a file made by :meth:`new_path` (relative to the app's root)."""
        resolved = path.resolve()
        parts = resolved.relative_to(self.root).parts if resolved.is_relative_to(self.root) else ()
        if len(parts) != 3:
            raise ValueError(f"{path} was not made by PrivateFiles.new_path")
        owner, token, name = parts
        return f"{ROUTE}/{quote(owner, safe='')}/{token}/{quote(name, safe='')}"

    def find(self, owner: str, token: str, name: str) -> Path | None:
        """The file behind a download URL's parts, or None. Each part must be one plain path
        component, and the result must still lie under ``root`` once links are resolved, so
        no URL reaches outside (``..``, ``/``, a link planted in the folder)."""
        try:
            for part, what in ((owner, "owner"), (token, "token"), (name, "file name")):
                _check_component(part, what)
        except ValueError:
            return None
        path = (self.root / owner / token / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def sweep(self) -> None:
        """Delete downloads older than the maximum age, and the folders they leave empty."""
        cutoff, fresh = time.time() - self._max_age_s, time.time() - 60
        for folder, _, files in os.walk(self.root, topdown=False):
            for name in files:
                file = Path(folder, name)
                # Gone already: another process sharing the gallery swept it first.
                with contextlib.suppress(FileNotFoundError):
                    if file.lstat().st_mtime < cutoff:
                        file.unlink()
            # A folder changed in the last minute may be one new_path just made, its file not
            # written yet; it goes at a later sweep. Non-empty folders are refused by rmdir.
            with contextlib.suppress(OSError):
                if Path(folder) != self.root and Path(folder).stat().st_mtime < fresh:
                    Path(folder).rmdir()

    def _sweep_when_due(self) -> None:
        with self._lock:
            if time.monotonic() - self._swept < SWEEP_EVERY_S:
                return
            self._swept = time.monotonic()
        self.sweep()


def private_router(files: PrivateFiles, user_of: UserOf) -> APIRouter:
    """The route that serves :meth:`PrivateFiles.url` to the file's owner and to admins; 404 to
    everyone else, whether or not the file exists, so a URL tells nothing to someone who may
    not have it."""
    router = APIRouter()

    @router.api_route(ROUTE + "/{owner}/{token}/{name}", methods=["GET", "HEAD"])
    def download(owner: str, token: str, name: str, request: Request) -> FileResponse:
        user = user_of(request)
        if user is None:
            raise HTTPException(401, "please log in")
        path = files.find(owner, token, name)
        if path is None or (user.name != owner and user.role != Role.ADMIN):
            raise HTTPException(404, "no such file")
        media = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media, filename=name,
                            content_disposition_type="attachment",
                            headers={"Cache-Control": "private, no-store",
                                     "X-Content-Type-Options": "nosniff"})

    return router


class HandedOut:
    """Which user was handed which file of Gradio's file folder, for a day.

    Gradio names a file there by a hash of its content, so two users who upload the same photo
    share one path; each is recorded, and either may read it (each had the bytes already).
    Kept in memory: after a restart nobody was handed anything, so files left from before
    are refused to everyone, which is the safe side.
    """

    def __init__(self, folder: Path, *, max_age_s: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = folder.resolve()
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._given: dict[Path, dict[str, float]] = {}  # file -> {user: when}
        self._swept = clock()

    def inside(self, path: str) -> Path | None:
        """``path`` resolved as Gradio resolves it, if it lies in Gradio's folder."""
        if not path or "\0" in path:
            return None
        resolved = Path(os.path.realpath(path))
        return resolved if resolved.is_relative_to(self.folder) else None

    def give(self, user: str, path: str) -> None:
        """Record that ``user`` was handed ``path`` (ignored outside Gradio's folder)."""
        resolved = self.inside(path)
        if resolved is None:
            return
        now = self._clock()
        with self._lock:
            self._given.setdefault(resolved, {})[user] = now
            if now - self._swept >= SWEEP_EVERY_S:
                self._swept = now
                self._given = {
                    file: kept for file, users in self._given.items()
                    if (kept := {u: t for u, t in users.items()
                                 if now - t < self._max_age_s})}

    def given(self, user: str, path: str) -> bool:
        """Whether ``user`` was handed ``path`` within the maximum age."""
        resolved = self.inside(path)
        if resolved is None:
            return False
        with self._lock:
            when = self._given.get(resolved, {}).get(user)
        return when is not None and self._clock() - when < self._max_age_s


class GradioFileGuard:
    """ASGI middleware in front of the mounted Gradio app: ``/gradio_api/file=`` serves a file
    of Gradio's folder only to a user it was handed (and to admins).

    Hand-outs are read where Gradio tells the browser about a file: the upload route's answer
    (the stored paths) and the JSON and server-sent events answering the user's calls (the
    outputs, as ``FileData`` with their ``path``). A file is recorded before the message naming
    it goes out, so the browser never asks for a file it has not been granted. A request whose
    JSON names a ``FileData`` path the user was not handed is refused before Gradio reads it.
    """

    def __init__(self, app: ASGIApp, *, handed_out: HandedOut, user_of: UserOf) -> None:
        self.app = app
        self.handed_out = handed_out
        self.user_of = user_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/gradio_api/"):
            await self.app(scope, receive, send)
            return
        user = self.user_of(HTTPConnection(scope))
        if path.startswith(_FILE_ROUTES):
            await self._serve_file(scope, receive, send, user, path)
            return
        if user is None:  # Gradio answers 401 itself; nothing to hand out
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and not _is_multipart(scope):
            # Whatever its declared type: FastAPI reads JSON from some bodies that do not say
            # so. Multipart bodies (uploads) are Gradio's to stream; they name no stored file.
            body = await _read_body(receive)
            if any(not self.handed_out.given(user.name, p) for p in _file_paths(_json(body))):
                await PlainTextResponse("a file in this request is not yours", 403)(
                    scope, receive, send)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, _Recorder(send, self.handed_out, user.name,
                                                 upload=path == _UPLOAD_ROUTE))

    async def _serve_file(self, scope: Scope, receive: Receive, send: Send, user: User | None,
                          path: str) -> None:
        prefix = next(p for p in _FILE_ROUTES if path.startswith(p))
        wanted = path[len(prefix):]
        if self.handed_out.inside(wanted) is not None and (
                user is None or (user.role != Role.ADMIN
                                 and not self.handed_out.given(user.name, wanted))):
            await PlainTextResponse("no such file", 404)(scope, receive, send)
            return
        await self.app(scope, receive, send)  # outside Gradio's folder: Gradio's own rules


class _Recorder:
    """Wraps ``send``: records the files a response names before passing each part on."""

    def __init__(self, send: Send, handed_out: HandedOut, user: str, *, upload: bool) -> None:
        self.send, self.handed_out, self.user, self.upload = send, handed_out, user, upload
        self.kind = ""  # "json" (buffered whole), "events" (by complete event), or "" (as is)
        self.start: Message | None = None
        self.pending = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", [])).get(b"content-type", b"")
            encoded = any(k == b"content-encoding" for k, _ in message.get("headers", []))
            if not encoded and content_type.startswith(b"application/json"):
                self.kind, self.start = "json", message  # sent with the body, once recorded
                return
            if not encoded and content_type.startswith(b"text/event-stream"):
                self.kind = "events"
            await self.send(message)
            return
        if message["type"] != "http.response.body" or not self.kind:
            await self.send(message)
            return
        self.pending += message.get("body", b"")
        more = message.get("more_body", False)
        if self.kind == "json":
            if more:
                return
            self._record_json(self.pending)
            assert self.start is not None
            await self.send(self.start)
            await self.send({"type": "http.response.body", "body": self.pending})
            return
        *complete, self.pending = self.pending.replace(b"\r\n", b"\n").split(b"\n\n")
        for event in complete:
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    self._record_json(line[5:])
        await self.send(message)

    def _record_json(self, text: bytes) -> None:
        data = _json(text)
        if self.upload and isinstance(data, list):  # the upload route: a list of stored paths
            files = [p for p in data if isinstance(p, str)]
        else:
            files = list(_file_paths(data))
        for file in files:
            self.handed_out.give(self.user, file)


def _file_paths(data: Any) -> Iterator[str]:
    """The ``path`` of every Gradio ``FileData`` in a JSON value (what Gradio itself treats as
    a file: a dict with a ``path`` and ``meta._type == "gradio.FileData"``)."""
    if isinstance(data, dict):
        meta = data.get("meta")
        if (isinstance(data.get("path"), str) and isinstance(meta, dict)
                and meta.get("_type") == "gradio.FileData"):
            yield data["path"]
        for value in data.values():
            yield from _file_paths(value)
    elif isinstance(data, list):
        for value in data:
            yield from _file_paths(value)


def _is_multipart(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    return bool(headers.get(b"content-type", b"").lower().startswith(b"multipart/"))


async def _read_body(receive: Receive) -> bytes:
    """A request's whole body, read ahead so its files can be checked before Gradio sees it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    """JSON, or None when it is not (Gradio then refuses the request or response itself)."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read ahead, then whatever follows (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _check_component(text: str, what: str) -> None:
    if (not text or text in (".", "..") or text.startswith(".") or len(text) > 255
            or any(c in text for c in "/\\\0")):
        raise ValueError(f"{what} {text!r}: not a plain file or folder name")
