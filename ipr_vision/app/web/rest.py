"""A plain JSON endpoint for scripts and other systems that inspect many photos: the same
inspection, permission checks and record as ``/inspect`` of the Gradio API, without Gradio's
queue protocol (upload, then join a queue, then read the result as a stream), which costs more
than the inspection itself (bench/bench_web.py).

Log in once with ``POST /login`` (form fields ``username``, ``password``; the session cookie
comes back), then ``POST /api/v1/inspect`` with a multipart form: ``photo`` (the file),
``brand`` and optionally ``product``. The answer is the suggestion as the CLI's ``--json``
prints it, with the inspection's id; 401 without a session, 403 for a brand the user may not
inspect, 413 for a photo over 50 MB, 422 for a file that is not a usable photo, 503 with
``Retry-After`` while the gallery's database cannot be reached (nothing was recorded; send the
photo again).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection

from ...domain import Actor, User
from ...errors import IprVisionError, PermissionDenied, StorageError
from ...intake.photo import MAX_FILE_BYTES
from ..service import Service
from .api import inspection_json
from .throttle import client_address

#: Seconds a client is asked to wait before sending a photo again while the database is away.
RETRY_AFTER_S = 5


def rest_router(service: Service, user_of: Callable[[HTTPConnection], User | None],
                temp: Path) -> APIRouter:
    """The ``/api/v1`` routes; uploads are kept under ``temp`` only while inspected."""
    router = APIRouter(prefix="/api/v1")

    def inspect(request: Request, photo: UploadFile, brand: str = Form(...),
                product: str = Form("")) -> JSONResponse:
        try:
            return inspected(request, photo, brand, product)
        except StorageError as error:
            return _error(503, str(error), {"Retry-After": str(RETRY_AFTER_S)})

    def inspected(request: Request, photo: UploadFile, brand: str, product: str) -> JSONResponse:
        user = user_of(request)
        if user is None:
            return _error(401, "log in first (POST /login)")
        data = photo.file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return _error(413, f"the photo is larger than {MAX_FILE_BYTES // 2**20} MB")
        name = Path(photo.filename or "photo").name or "photo"
        with tempfile.TemporaryDirectory(dir=temp) as folder:
            source = Path(folder) / name
            source.write_bytes(data)
            try:
                outcome = service.inspect(
                    user, brand, product or None, [source],
                    actor=Actor(user.name, user.role, "api", client_address(request)))
            except PermissionDenied as error:
                return _error(403, str(error))
            except StorageError:
                raise  # 503 below, not a problem with the photo
            except IprVisionError as error:
                return _error(422, str(error))
        body, problem = inspection_json(outcome)
        return _error(422, problem) if problem else JSONResponse(body)

    router.add_api_route("/inspect", inspect, methods=["POST"])
    return router


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    return JSONResponse(body, status, headers=headers)
