"""Inspection records: what was inspected, what was suggested, and every outcome since.

Outcomes are a history, never overwritten: the officer's decision (seized, released) and the
right holder's confirmation are separate columns, and the record on screen shows each entry
with who made it and when. Saving keeps the record that is on screen selected.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import gradio as gr

from ...domain import Inspection, Outcome, OutcomeEntry
from .common import Ui, bilingual, choices, md, shown
from .i18n import t
from .render import download_link, html_table, photo_product, verdict_text, write_csv

_OUTCOMES = tuple((f"outcome_{o}", o.value) for o in Outcome)
_COLUMNS = ("col_id", "col_time", "col_officer", "col_brand", "col_product", "col_photos",
            "col_item", "col_verdicts", "col_decision", "col_confirmation")


def build(ui: Ui, lang: Any) -> Any:
    """Returns the listing handler and its outputs, so the app can fill the table on login."""
    refresh = ui.text(gr.Button("Refresh", elem_id="records-refresh"), "refresh", "value")
    # A grid on wide screens; on a phone, where a grid shows only its first column, the same
    # rows as cards (render.CSS switches between them).
    table = ui.text(gr.Dataframe(label="records", interactive=False, elem_id="records-table",
                                 elem_classes=["ipr-wide-only"]), "records_table")
    cards = gr.HTML(elem_id="records-cards", elem_classes=["ipr-cards-only"])
    csv_file = gr.HTML(elem_id="records-csv")
    with gr.Row():
        inspection = ui.text(gr.Dropdown(label="inspection", choices=[],
                                         elem_id="records-id"), "outcome_id")
        outcome = ui.choices(ui.text(gr.Radio(choices=choices("en", _OUTCOMES), label="outcome",
                                              elem_id="records-outcome"), "outcome"), _OUTCOMES)
        note = ui.text(gr.Textbox(label="note", elem_id="records-note"), "outcome_note")
    save = ui.text(gr.Button("Save", variant="primary", elem_id="records-save"),
                   "outcome_save", "value")
    status = gr.Markdown(elem_id="records-status")
    history = gr.Markdown(elem_id="records-history")

    def listing(lang: str, current: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The table, its CSV, and the inspection list with the one on screen kept."""
        with shown(lang):
            user = ui.user(request)
            records = ui.service.inspections(user)
            rows = [_row(lang, ui, r) for r in records]
            header = [t(lang, c) for c in _COLUMNS]
            path = write_csv(ui.private.new_path(user.name, f"records-{user.name}.csv"), header,
                             rows)
            ids = [r.id for r in records]
            chosen = current if current in ids else (ids[0] if ids else None)
            shown_record = next((r for r in records if r.id == chosen), None)
            return (gr.update(value=rows, headers=header), html_table(header, rows),
                    download_link(ui.private.url(path), t(lang, "records_csv")),
                    gr.update(choices=ids, value=chosen),
                    _history(lang, shown_record) if shown_record else "")

    def show(lang: str, inspection_id: str | None, request: gr.Request) -> str:
        with shown(lang):
            if not inspection_id:
                return ""
            return _history(lang, ui.service.inspection(ui.user(request), inspection_id))

    def record(lang: str, inspection_id: str | None, outcome: str | None, note: str,
               request: gr.Request) -> tuple[str, Any]:
        with shown(lang):
            if not inspection_id or not outcome:
                return "", gr.update()
            ui.service.set_outcome(ui.user(request), inspection_id, outcome, note)
            return (bilingual(lambda lang: md(lang, "outcome_saved", id=inspection_id,
                                              outcome=t(lang, f"outcome_{outcome}"))), "")

    private = {"api_visibility": "private"}
    outputs = [table, cards, csv_file, inspection, history]
    refresh.click(listing, [lang, inspection], outputs, **private)
    inspection.input(show, [lang, inspection], history, **private)
    save.click(record, [lang, inspection, outcome, note], [status, note], **private).then(
        listing, [lang, inspection], outputs, **private)
    return listing, [lang, inspection], outputs


def _row(lang: str, ui: Ui, r: Inspection) -> list[Any]:
    """One record in the words of the Inspect tab: the same verdict wording, and the product
    each photo was compared with when the app proposed it (the record holds none then)."""
    verdicts = Counter(p.verdict for p in r.photos)
    products = r.product or ", ".join(dict.fromkeys(photo_product(lang, p) for p in r.photos
                                                    if p.product))
    return [r.id, r.created_at, r.officer, r.brand, products, len(r.photos),
            verdict_text(lang, ui.service.item_verdict(r)),
            ", ".join(f"{verdict_text(lang, v)} ({n})" for v, n in verdicts.items()),
            _entry(lang, r.decision), _entry(lang, r.confirmation)]


def _entry(lang: str, entry: OutcomeEntry | None) -> str:
    return f"{t(lang, f'outcome_{entry.outcome}')} ({entry.by})" if entry else ""


def _history(lang: str, record: Inspection) -> str:
    """Every outcome of the record, oldest first, with who, their role and when."""
    lines = [f"**{md(lang, 'history_title', id=record.id)}**", ""]
    if not record.history:
        lines.append(t(lang, "no_history"))
    for n, entry in enumerate(record.history, start=1):
        line = md(lang, "history_line", at=entry.at, by=entry.by,
                  role=t(lang, f"role_{entry.role}"),
                  outcome=t(lang, f"outcome_{entry.outcome}"))
        if entry.note:
            line += " · " + md(lang, "history_note", note=entry.note)
        lines.append(f"{n}. {line}")
    return "\n".join(lines)
