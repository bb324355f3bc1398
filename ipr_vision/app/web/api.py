"""A JSON API beside the page, for scripts and other systems (``gradio_client``).

The page's own events are private; these endpoints are the documented ones. They log in like
the page (``Client(url, auth=(name, password))``) and go through the same permission checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import FileData

from ...core.reasons import VERDICT_WORDS, plain_reason, remedies
from ...domain import Actor, Verdict, json_safe
from ...results import Suggestion
from ..inspected import InspectionOutcome
from ..service import Service
from .common import shown


def add_api(service: Service) -> None:
    """Register the endpoints inside the Blocks being built."""

    def brands(request: gr.Request) -> list[str]:
        """Brands the logged-in user may see."""
        with shown("en", page=False):
            return service.brands(service.user(request.username))

    def references(brand: str, product: str, request: gr.Request) -> list[dict[str, Any]]:
        """A product's reference photos: id, label, note and who added them."""
        with shown("en", page=False):
            found = service.references(service.user(request.username), brand, product or None)
        return [{"id": r.id, "product": r.product, "label": r.label, "note": r.note,
                 "source_name": r.source_name, "added_by": r.added_by, "added_at": r.added_at}
                for r in found]

    def inspect(photo: FileData, brand: str, product: str,
                request: gr.Request) -> dict[str, Any]:
        """Inspect one photo (the product is proposed when empty); the inspection is recorded
        under the logged-in user. Returns the suggestion as the CLI's --json prints it."""
        source = Path(photo.path if isinstance(photo, FileData) else photo["path"])
        with shown("en", page=False):
            user = service.user(request.username)
            outcome = service.inspect(user, brand, product or None, [source],
                                      actor=Actor(user.name, user.role, "api", _client(request)))
        body, problem = inspection_json(outcome)
        if problem:
            raise gr.Error(problem)
        return body

    for fn in (brands, references, inspect):
        gr.api(fn, api_name=fn.__name__, concurrency_limit=2)


def inspection_json(outcome: InspectionOutcome) -> tuple[dict[str, Any], str]:
    """One photo's inspection as the API answers it (the suggestion as the CLI's ``--json``
    prints it, with the inspection's id), or why the photo could not be inspected."""
    _, result = outcome.results[0]
    if not isinstance(result, Suggestion):
        return {}, str(result)
    data = json_safe(result.to_dict())
    for match in data["nearest_genuine"] + data["nearest_fake"]:
        del match["path"]  # a server path: meaningless to the caller, and not served
    return {"inspection": outcome.inspection.id, **data, "in_words": in_words(result)}, ""


def in_words(result: Suggestion) -> dict[str, dict[str, Any]]:
    """What the officer's screen says, by language, for a script that shows people the
    result: the verdict's one wording, its reasons in plain words and what would settle a
    "can't tell". Added beside the technical fields, which stay as they were."""
    settle = (remedies(result.reason, product_proposed=result.product_proposed)
              if result.verdict == Verdict.INCONCLUSIVE else [])
    return {lang: {"verdict": VERDICT_WORDS[result.verdict][n],
                   "reasons": plain_reason(result.reason, lang) if result.reason else [],
                   "settle": [remedy[n] for remedy in settle]}
            for n, lang in enumerate(("en", "zh"))}


def _client(request: gr.Request) -> str:
    """The caller's address, for the audit trail."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")
