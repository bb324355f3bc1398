"""Gradio's API (``gradio_client``) against the browser tests' app: the same permissions as
the page (a right holder sees only their brands, a trainer may not inspect), and an
inspection made through it is recorded and audited as one."""

from __future__ import annotations

import pytest

from tests.web import test_web
from tests.web.test_web import Server, password, query_photo

server = test_web.server  # the browser tests' app, started afresh for this module

pytestmark = pytest.mark.slow


def test_api_checks_the_same_permissions(server: Server) -> None:
    from gradio_client import Client, handle_file

    service, url = server
    officer = Client(url, auth=("officer", password("officer")), verbose=False)
    assert officer.predict(api_name="/brands") == ["acme", "nike"]
    photo, _ = query_photo("genuine")
    result = officer.predict(handle_file(str(photo)), "nike", "", api_name="/inspect")
    assert result["verdict"] in ("genuine", "counterfeit", "inconclusive")
    assert service.log.get(result["inspection"]).officer == "officer"
    assert all("path" not in m for m in result["nearest_genuine"])

    other = Client(url, auth=("other", password("other")), verbose=False)
    assert other.predict(api_name="/brands") == ["acme"]
    with pytest.raises(Exception, match="no access to brand 'nike'"):
        other.predict("nike", "", api_name="/references")
    holder = Client(url, auth=("holder", password("holder")), verbose=False)
    refs = holder.predict("nike", "jordan_1", api_name="/references")
    assert refs and {r["product"] for r in refs} == {"jordan_1"}

    trainer = Client(url, auth=("trainer", password("trainer")), verbose=False)
    with pytest.raises(Exception, match="may not inspect"):
        trainer.predict(handle_file(str(photo)), "nike", "", api_name="/inspect")
    [entry] = [e for e in service.audit.entries(actor="officer")
               if e.target == result["inspection"]]
    assert (entry.action, entry.via) == ("inspection", "api")
