"""The Gradio web app: login, one tab per job, English / Chinese, and a small JSON API.

Offline by construction (customs networks are often closed): Gradio's analytics and version
check are off (``GRADIO_ANALYTICS_ENABLED=False``), gradio_client's telemetry too
(``HF_HUB_DISABLE_TELEMETRY=1``), no share tunnel, no server-side rendering (``ssr_mode=False``,
which would start Node), no MCP server, and the default theme, whose fonts Gradio serves itself
(a ``GoogleFont`` theme would fetch from Google). Uploads land in ``GALLERY/web-tmp``
(``GRADIO_TEMP_DIR``), cleaned of files older than a day; downloads made for one user in
``GALLERY/private`` (:mod:`.private_files`), likewise.

The Blocks are mounted on our own FastAPI app, served by uvicorn, rather than started with
``Blocks.launch``: the login, sessions and throttling (:mod:`.auth`) and the per-user file
checks (:mod:`.private_files`) need routes and middleware in front of Gradio's.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from ...errors import GalleryError
from ..service import Service

OFFLINE_ENVIRONMENT = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
#: Gradio 6.31's browser client reads its event streams with a stand-in for EventSource whose
#: ``close()`` is a stub that warns "Method not implemented." (its fetch is ended by an abort
#: signal instead, so nothing is left open). The upload panel of every file box calls it when
#: an upload ends, so each upload put one warning in the browser console. This drops that one
#: message, word for word; any other warning still shows (and fails the browser tests).
QUIET_STREAM_STUB = """<script>
(() => {
  const warn = console.warn.bind(console);
  console.warn = (...args) => {
    if (args.length === 1 && args[0] === "Method not implemented.") return;
    warn(...args);
  };
})();
</script>"""


def prepare_environment(gallery: Path) -> Path:
    """Set Gradio's offline switches and upload folder; must run before gradio is imported.

    The folder is made absolute, so the paths Gradio hands out are the ones
    :class:`.private_files.HandedOut` compares, whatever the working directory."""
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ[key] = value
    temp = (gallery / "web-tmp").resolve()
    temp.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(temp)
    return temp


class NoUploadId:
    """ASGI middleware: answer Gradio's upload-progress stream asked for no upload at all.

    Gradio 6.31's webcam-only image box (the Inspect tab's camera) shows its upload-progress
    panel while a file is uploaded elsewhere on the page, with an empty upload id, so the
    browser asks ``/gradio_api/upload_progress?upload_id=``. Gradio's route waits 3 s for that
    upload to be tracked and answers 404 (or 500 when a second server in one process meets
    the wait it left bound to the first one's event loop). No upload has an empty id: this
    answers at once that it is done, which closes the panel, as the end of a real upload does.
    """

    PATH = "/gradio_api/upload_progress"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.datastructures import QueryParams
        from starlette.responses import Response

        if (scope["type"] == "http" and scope["path"] == self.PATH
                and not QueryParams(scope["query_string"]).get("upload_id")):
            done = Response('data: {"msg": "done"}\n\n', media_type="text/event-stream")
            await done(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Running:
    """The app being served; :meth:`close` stops it (the server, Gradio's queue, the login
    threads)."""

    def __init__(self, blocks: Any, server: Any, thread: threading.Thread, auth: Any) -> None:
        self.blocks, self.server, self.thread, self.auth = blocks, server, thread, auth

    def close(self) -> None:
        self.blocks.close(verbose=False)
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.auth.close()


def launch(service: Service, *, host: str = "127.0.0.1", port: int = 7860,
           login_message: str | None = None, block: bool = True) -> tuple[Running, str]:
    """Serve the app (after :func:`prepare_environment`); returns it and its local URL. With
    ``block`` it serves until interrupted (Ctrl-C), then stops."""
    if not service.has_users():
        raise GalleryError(f"{service.location} has no users yet, so nobody could log in; "
                           "add one with: ipr-vision user add NAME --role admin --gallery "
                           f"{service.location}")
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    from .auth import Auth, LoginFirst
    from .common import BILINGUAL_CSS
    from .gradio_strings import LANGUAGE_SCRIPT, gradio_i18n
    from .layout import ROLES_CSS, build_app
    from .private_files import GradioFileGuard, HandedOut, PrivateFiles, private_router
    from .render import CSS
    from .rest import rest_router

    _log_lines()
    temp = Path(os.environ.get("GRADIO_TEMP_DIR", service.location / "web-tmp"))
    private = PrivateFiles(service.location / "private")
    blocks = build_app(service, private)
    blocks.queue(default_concurrency_limit=4)
    auth = Auth(service, message=login_message)
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # Routes before the mount: Starlette tries them in order, and Gradio's mount at "/" takes
    # every path (its own /login and /logout included) that comes after it.
    server.include_router(auth.router())
    server.include_router(private_router(private, auth.user_of))
    server.include_router(rest_router(service, auth.user_of, temp))
    server.add_middleware(GradioFileGuard, handed_out=HandedOut(temp), user_of=auth.user_of)
    server.add_middleware(LoginFirst, user_of=auth.user_of)
    server.add_middleware(NoUploadId)
    gr.mount_gradio_app(
        server, blocks, path="/", auth_dependency=auth.username, server_name=host,
        server_port=port, ssr_mode=False, mcp_server=False, enable_monitoring=False, pwa=False,
        max_file_size="1gb", css=CSS + ROLES_CSS + BILINGUAL_CSS,
        head=QUIET_STREAM_STUB + LANGUAGE_SCRIPT,
        i18n=gradio_i18n(), show_error=False, blocked_paths=[str(private.root)],
        # No Settings link: its panel is a second language switch, out of step with the
        # page's, and much of its text is English in any language (Screen Studio, PWA).
        footer_links=["api", "gradio"])
    # Blocks.launch would set this; mounting does not, and without it Gradio skips its own
    # check that a file given as an input was uploaded (processing_utils._check_allowed).
    blocks.has_launched = True

    config = uvicorn.Config(server, host=host, port=port, log_level="warning", lifespan="on")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, name="ipr-vision-server", daemon=True)
    thread.start()
    while not uvicorn_server.started:
        thread.join(timeout=0.01)
        if not thread.is_alive():
            auth.close()
            raise GalleryError(f"could not serve on {host}:{port} (is the port in use?)")
    running = Running(blocks, uvicorn_server, thread, auth)
    url = f"http://{'localhost' if host == '0.0.0.0' else host}:{port}/"
    if block:
        try:
            while thread.is_alive():
                thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            running.close()
    return running, url


def _log_lines() -> None:
    """Give ipr-vision's log lines (a refused request is one, :func:`.common.refusal`) a time
    and a source on the server's console, unless the host program configured logging."""
    logger = logging.getLogger("ipr_vision")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
