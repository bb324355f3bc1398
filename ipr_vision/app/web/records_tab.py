"""Inspection records: what was inspected, what was suggested, and every outcome since.

Outcomes are a history, never overwritten: the officer's decision (seized, released) and the
right holder's confirmation are separate columns, and the record on screen shows each entry
with who made it and when. Saving keeps the record that is on screen selected.

Once the right holder has confirmed an inspection, its brand's right holder or an admin may add
its photos to the gallery as references of the confirmed label (issue 18): the gallery learns
from what turned out true. The button is offered only to them and only then; it asks first and
answers beside itself with what was added, what the gallery held already, and what it refused.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import gradio as gr

from ...core.roles import can_manage, recordable_outcomes
from ...domain import Inspection, OutcomeEntry, User
from ...results import ImportReport
from ..adoption_service import CONFIRMED_LABEL
from .common import (
    Confirm,
    Refused,
    Ui,
    bilingual,
    confirm_box,
    hidden,
    md,
    noted,
    plain,
    shown,
    warning,
    worded,
)
from .i18n import t
from .render import download_link, html_table, photo_product, verdict_text, write_csv

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
        # Only the outcomes the user may record, set by the listing (which every language
        # switch runs), so the choices are not registered with the switch.
        outcome = ui.text(gr.Radio(choices=[], label="outcome", elem_id="records-outcome"),
                          "outcome")
        note = ui.text(gr.Textbox(label="note", elem_id="records-note"), "outcome_note")
    save = ui.text(gr.Button("Save", variant="primary", elem_id="records-save"),
                   "outcome_save", "value")
    status = gr.Markdown(elem_id="records-status")
    history = gr.Markdown(elem_id="records-history")
    # The answer below the button, not beside it: a phone has no room for both on one line.
    with gr.Row():
        adopt = ui.text(gr.Button("Add", visible=False, elem_id="records-adopt", scale=0,
                                  min_width=300), "adopt_button", "value")
    adopt_status = gr.Markdown(elem_id="records-adopt-status")
    adopt_confirm = confirm_box(ui, "records-adopt")
    _yes_says(ui, adopt_confirm, "adopt_yes")

    def listing(lang: str, current: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The table, its CSV, the inspection list with the one on screen kept, and the
        outcomes the user may record."""
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
                    _history(lang, shown_record) if shown_record else "",
                    gr.update(visible=_adoptable(user, shown_record)),
                    gr.update(choices=[(t(lang, f"outcome_{o}"), o.value)
                                       for o in recordable_outcomes(user)]))

    def show(lang: str, inspection_id: str | None, request: gr.Request) -> tuple[Any, ...]:
        """The record's history; the adoption offer, its question and answer are the last
        record's, so they go."""
        with shown(lang):
            if not inspection_id:
                return "", gr.update(visible=False), "", hidden()
            user = ui.user(request)
            found = ui.service.inspection(user, inspection_id)
            return (_history(lang, found), gr.update(visible=_adoptable(user, found)), "",
                    hidden())

    def ask(inspection_id: str | None, request: gr.Request) -> tuple[Any, str, str]:
        """The question before adding: which photos, to which brand, as what."""
        with noted() as problem:
            if not inspection_id:
                raise Refused("choose_inspection")
            found = ui.service.inspection(ui.user(request), inspection_id)
            if found.confirmation is None:
                raise Refused("adopt_unconfirmed")
            label = str(CONFIRMED_LABEL[found.confirmation.outcome])
            return (gr.update(visible=True),
                    bilingual(lambda lang: md(lang, "adopt_confirm", id=found.id,
                                              brand=found.brand, label=t(lang, label))), "")
        return hidden(), "", warning(problem.error)

    def adopt_it(inspection_id: str | None, request: gr.Request) -> tuple[Any, str]:
        """Add the photos (the service checks the user may), and say what became of each."""
        with noted() as problem:
            if not inspection_id:
                raise Refused("choose_inspection")
            report = ui.service.adopt_inspection(ui.user(request), inspection_id)
            return hidden(), bilingual(lambda lang: _adopted(lang, report))
        return hidden(), warning(problem.error)

    def record(lang: str, inspection_id: str | None, outcome: str | None, note: str,
               request: gr.Request) -> tuple[str, Any]:
        with shown(lang):
            if not inspection_id or not outcome:
                return "", gr.update()
            ui.service.set_outcome(ui.user(request), inspection_id, outcome, note)
            return (bilingual(lambda lang: md(lang, "outcome_saved", id=inspection_id,
                                              outcome=t(lang, f"outcome_{outcome}"))), "")

    private = {"api_visibility": "private"}
    outputs = [table, cards, csv_file, inspection, history, adopt, outcome]
    refresh.click(listing, [lang, inspection], outputs, **private)
    inspection.input(show, [lang, inspection], [history, adopt, adopt_status, adopt_confirm.box],
                     **private)
    adopt.click(ask, inspection, [adopt_confirm.box, adopt_confirm.question, adopt_status],
                **private)
    adopt_confirm.yes.click(adopt_it, inspection, [adopt_confirm.box, adopt_status], **private)
    save.click(record, [lang, inspection, outcome, note], [status, note], **private).then(
        listing, [lang, inspection], outputs, **private)
    return listing, [lang, inspection], outputs


def _yes_says(ui: Ui, confirm: Confirm, key: str) -> None:
    """Word the confirmation's Yes for what it does (the shared box says "Yes, remove")."""
    confirm.yes.value = t("en", key)
    for item in ui.translated:
        if item.component is confirm.yes:
            item.key = key


def _adoptable(user: User, record: Inspection | None) -> bool:
    """Whether to offer adding the record's photos: confirmed, and the user curates its brand
    (the service decides again when asked)."""
    return record is not None and record.confirmation is not None and can_manage(user,
                                                                                  record.brand)


def _adopted(lang: str, report: ImportReport) -> str:
    """What adopting did, photo by photo: added, already there, refused and why."""
    def items(found: list[tuple[str, int]]) -> str:
        return ", ".join(md(lang, "adopt_item", name=name, ref=ref) for name, ref in found)

    lines = []
    if report.added:
        lines.append(t(lang, "adopt_added", items=items(report.added)))
    if report.duplicates:
        lines.append(t(lang, "adopt_duplicates", items=items(report.duplicates)))
    if report.failed:
        lines.append("⚠️ " + t(lang, "adopt_failed", items="; ".join(
            f"{plain(name)}: {plain(worded(lang, why))}" for name, why in report.failed)))
    if not report.added:
        lines.append(t(lang, "adopt_nothing"))
    return "\n\n".join(lines)


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
