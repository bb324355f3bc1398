"""The plain JSON endpoint ``POST /api/v1/inspect``: the same inspection, checks and record as
the Gradio API's ``/inspect``, against the real app (the browser tests' server)."""

from __future__ import annotations

from contextlib import closing

import httpx
import pytest

from ipr_vision import Embedder, Gallery
from ipr_vision.app.web.app import launch, prepare_environment
from ipr_vision.storage.postgres.server import temporary_server
from tests.web import test_web
from tests.web.test_auth import session
from tests.web.test_web import Server, query_photo

server = test_web.server  # the browser tests' app, started afresh for this module

pytestmark = pytest.mark.slow


def _post(client: httpx.Client, photo: bytes, brand: str, name: str = "suspect.jpg"
          ) -> httpx.Response:
    return client.post("api/v1/inspect", files={"photo": (name, photo, "image/jpeg")},
                       data={"brand": brand})


def test_an_officer_inspects_through_the_json_endpoint_and_it_is_recorded(
        server: Server) -> None:
    service, url = server
    photo, product = query_photo("fake")
    with closing(session(url, "officer")) as officer:
        answer = _post(officer, photo.read_bytes(), "nike")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verdict"] in ("genuine", "counterfeit", "inconclusive")
    assert body["product"] == product and body["brand"] == "nike"
    assert all("path" not in m for m in body["nearest_genuine"] + body["nearest_fake"])
    recorded = service.inspection(service.user("officer"), body["inspection"])
    assert recorded.officer == "officer" and recorded.photos[0].sha256 == body["photo_sha256"]
    entry = next(e for e in service.audit.entries() if e.target == body["inspection"])
    assert (entry.actor, entry.via) == ("officer", "api")


def test_the_json_endpoint_refuses_what_the_page_refuses(server: Server) -> None:
    _, url = server
    photo, _ = query_photo("genuine")
    with httpx.Client(base_url=url, timeout=60) as nobody:
        assert _post(nobody, photo.read_bytes(), "nike").status_code == 401
    with closing(session(url, "other")) as other:  # acme's right holder
        refused = _post(other, photo.read_bytes(), "nike")
        assert refused.status_code == 403 and "nike" in refused.json()["error"]
    with closing(session(url, "officer")) as officer:
        broken = _post(officer, b"\xff\xd8 not really a photo", "nike")
        assert broken.status_code == 422 and "suspect.jpg" in broken.json()["error"]
        unknown = _post(officer, photo.read_bytes(), "no-such-brand")
        assert unknown.status_code in (403, 422)


def test_a_database_outage_is_a_503_with_a_retry_hint_then_it_serves_again(
        embedder: Embedder) -> None:
    """On PostgreSQL: the server stopped under the app, an inspection is refused at once with
    503 and Retry-After (nothing recorded, nothing hanging), and served again once it is back."""
    with temporary_server() as (database, folder):
        url = f"{database.url}?files={folder / 'files'}"
        prepare_environment(folder / "files")
        from ipr_vision.app.service import Service

        gallery = Gallery(url, embedder=embedder)
        gallery.import_index(test_web.SAMPLE / "gallery.csv", brand="nike", added_by="test",
                             allow_poor_quality=True)
        service = Service(gallery)
        service.users.add("officer", "officer", test_web.password("officer"))
        port = test_web.free_port()
        app, _ = launch(service, port=port, block=False)
        photo, _ = query_photo("fake")
        with closing(session(f"http://127.0.0.1:{port}/", "officer")) as officer:
            assert _post(officer, photo.read_bytes(), "nike").status_code == 200
            recorded = len(service.log.inspections())
            database.stop()
            away = _post(officer, photo.read_bytes(), "nike")
            assert away.status_code == 503 and away.headers["Retry-After"] == "5"
            assert "try again" in away.json()["error"]
            database.start()
            assert _post(officer, photo.read_bytes(), "nike").status_code == 200
            assert len(service.log.inspections()) == recorded + 1  # the refused one left none
        app.close()
        service.close()
