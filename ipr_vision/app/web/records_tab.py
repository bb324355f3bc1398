"""Inspection records: what was inspected, what was suggested, and the outcome once known."""

from __future__ import annotations

from collections import Counter
from typing import Any

import gradio as gr

from ...domain import Outcome
from .common import Ui, choices, md, shown
from .i18n import t
from .render import write_csv

_OUTCOMES = tuple((f"outcome_{o}", o.value) for o in Outcome)
_COLUMNS = ("col_id", "col_time", "col_officer", "col_brand", "col_product", "col_photos",
            "col_verdicts", "col_outcome")


def build(ui: Ui, lang: Any) -> Any:
    """Returns the listing handler and its outputs, so the app can fill the table on login."""
    refresh = ui.text(gr.Button("Refresh", elem_id="records-refresh"), "refresh", "value")
    table = ui.text(gr.Dataframe(label="records", interactive=False, elem_id="records-table"),
                    "records_table")
    csv_file = ui.text(gr.File(label="csv", interactive=False, elem_id="records-csv"),
                       "records_csv")
    with gr.Row():
        inspection = ui.text(gr.Dropdown(label="inspection", choices=[],
                                         elem_id="records-id"), "outcome_id")
        outcome = ui.choices(ui.text(gr.Radio(choices=choices("en", _OUTCOMES), label="outcome",
                                              elem_id="records-outcome"), "outcome"), _OUTCOMES)
        note = ui.text(gr.Textbox(label="note", elem_id="records-note"), "outcome_note")
    save = ui.text(gr.Button("Save", variant="primary", elem_id="records-save"),
                   "outcome_save", "value")
    status = gr.Markdown(elem_id="records-status")

    def listing(lang: str, request: gr.Request) -> tuple[Any, Any, Any]:
        with shown(lang):
            records = ui.service.inspections(ui.user(request))
            rows = []
            for r in records:
                verdicts = Counter(p.verdict or "error" for p in r.photos)
                outcome = t(lang, f"outcome_{r.outcome}") if r.outcome else ""
                rows.append([r.id, r.created_at, r.officer, r.brand, r.product or "",
                             len(r.photos), ", ".join(f"{v} {n}" for v, n in verdicts.items()),
                             outcome])
            header = [t(lang, c) for c in _COLUMNS]
            path = write_csv(ui.downloads / f"records-{request.username}.csv", header, rows)
            ids = [r.id for r in records]
            return (gr.update(value=rows, headers=header), str(path),
                    gr.update(choices=ids, value=ids[0] if ids else None))

    def record(lang: str, inspection_id: str | None, outcome: str | None, note: str,
               request: gr.Request) -> str:
        with shown(lang):
            if not inspection_id or not outcome:
                return ""
            ui.service.set_outcome(ui.user(request), inspection_id, outcome, note)
            return md(lang, "outcome_saved", id=inspection_id,
                      outcome=t(lang, f"outcome_{outcome}"))

    refresh.click(listing, lang, [table, csv_file, inspection], api_visibility="private")
    save.click(record, [lang, inspection, outcome, note], status,
               api_visibility="private").then(listing, lang, [table, csv_file, inspection],
                                              api_visibility="private")
    return listing, [table, csv_file, inspection]
