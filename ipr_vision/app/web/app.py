"""The Gradio web app: login, one tab per job, English / Chinese, and a small JSON API.

Offline by construction (customs networks are often closed): Gradio's analytics and version
check are off (``GRADIO_ANALYTICS_ENABLED=False``), gradio_client's telemetry too
(``HF_HUB_DISABLE_TELEMETRY=1``), no share tunnel (``share=False``), no server-side rendering
(``ssr_mode=False``, which would start Node), no MCP server, and the default theme, whose fonts
Gradio serves itself (a ``GoogleFont`` theme would fetch from Google). Uploads land in
``GALLERY/web-tmp`` (``GRADIO_TEMP_DIR``), cleaned of files older than a day.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import GalleryError
from ..service import Service

OFFLINE_ENVIRONMENT = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}


def prepare_environment(gallery: Path) -> Path:
    """Set Gradio's offline switches and upload folder; must run before gradio is imported."""
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ[key] = value
    temp = gallery / "web-tmp"
    temp.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(temp)
    return temp


def launch(service: Service, *, host: str = "127.0.0.1", port: int = 7860,
           login_message: str | None = None, block: bool = True) -> tuple[Any, str]:
    """Start the app (after :func:`prepare_environment`); returns (app, local URL)."""
    from .i18n import both
    from .render import CSS

    if not service.has_users():
        raise GalleryError(f"{service.location} has no users yet, so nobody could log in; "
                           "add one with: ipr-vision user add NAME --role admin --gallery "
                           f"{service.location}")
    from .layout import build_app

    downloads = Path(os.environ.get("GRADIO_TEMP_DIR", service.location / "web-tmp"))
    app = build_app(service, downloads / "downloads")
    app.queue(default_concurrency_limit=4)
    _, url, _ = app.launch(
        server_name=host, server_port=port, auth=service.login,
        auth_message=login_message or both("login_message"), share=False, ssr_mode=False,
        mcp_server=False, enable_monitoring=False, pwa=False, inbrowser=False,
        max_file_size="1gb", css=CSS, prevent_thread_lock=not block,
        quiet=not block)
    return app, url
