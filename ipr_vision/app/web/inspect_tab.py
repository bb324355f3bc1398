"""Inspect (officers): photos in, a suggestion with its evidence out, every inspection recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from ...errors import IprVisionError
from ...results import Explanation, Suggestion
from ..service import InspectionOutcome
from .common import Ui, dropdown, md, shown
from .i18n import t
from .render import (
    explanation_markdown,
    match_items,
    notes_markdown,
    verdict_card,
    write_csv,
)


@dataclass
class Session:
    """One officer's latest inspection, kept server-side between clicks."""

    outcome: InspectionOutcome
    explained: dict[int, Explanation | str] = field(default_factory=dict)


@dataclass
class InspectTab:
    brand: Any
    #: Re-renders the shown results in another language: (handler, inputs, outputs).
    rerender: tuple[Any, list[Any], list[Any]]


def build(ui: Ui, lang: Any) -> InspectTab:
    session = gr.State(None)
    with gr.Row():
        brand = ui.text(gr.Dropdown(label="Brand", choices=[], elem_id="inspect-brand"), "brand")
        propose = ui.text(gr.Checkbox(value=True, label="propose", elem_id="inspect-propose"),
                          "propose")
        product = ui.text(gr.Dropdown(label="Product", choices=[], interactive=False,
                                      elem_id="inspect-product"), "product")
    with gr.Row():
        # Uploads stay the officer's original files (gr.Image would re-encode them, losing the
        # bytes an evidence pack must hash and the EXIF orientation); the camera gives a PNG.
        photos = ui.text(gr.File(file_count="multiple", label="photos", elem_id="inspect-photos",
                                 file_types=["image", ".heic", ".heif"], height=240), "photos")
        camera = ui.text(gr.Image(type="filepath", sources=["webcam"], format="png",
                                  label="camera", elem_id="inspect-camera", height=240), "camera")
    run = ui.text(gr.Button("Inspect", variant="primary", elem_id="inspect-run"),
                  "inspect_button", "value")
    with gr.Column(visible=False) as results:
        recorded = gr.Markdown(elem_id="inspect-recorded")
        which = ui.text(gr.Dropdown(label="show", choices=[], visible=False,
                                    elem_id="inspect-which"), "show_photo")
        card = gr.HTML(elem_id="inspect-verdict")
        with gr.Row():
            genuine = ui.text(gr.Gallery(label="genuine", columns=3, height=260,
                                         elem_id="inspect-genuine"), "nearest_genuine")
            fake = ui.text(gr.Gallery(label="fake", columns=3, height=260, elem_id="inspect-fake"),
                           "nearest_fake")
        notes = gr.Markdown(elem_id="inspect-notes")
        with gr.Accordion("where", open=True) as where:
            ui.text(where, "where_differs")
            with gr.Row():
                heat = ui.text(gr.Image(label="heat", interactive=False, elem_id="inspect-heat"),
                               "where_differs")
                aligned = ui.text(gr.Image(label="aligned", interactive=False,
                                           elem_id="inspect-aligned"), "aligned")
                points = ui.text(gr.Image(label="points", interactive=False,
                                          elem_id="inspect-points"), "id_points")
            explained = gr.Markdown(elem_id="inspect-explained")
        with gr.Row():
            evidence = ui.text(gr.Button("evidence", elem_id="inspect-evidence"), "evidence_button",
                               "value")
            evidence_file = ui.text(gr.File(label="pack", interactive=False,
                                            elem_id="inspect-evidence-file"), "evidence_file")
        table = ui.text(gr.Dataframe(label="batch", interactive=False, elem_id="inspect-table"),
                        "batch_table")
        csv_file = ui.text(gr.File(label="csv", interactive=False, elem_id="inspect-csv"),
                           "batch_csv")

    def products(lang: str, brand: str | None, request: gr.Request) -> Any:
        with shown(lang):
            if not brand:
                return dropdown([])
            return dropdown(ui.service.products(ui.user(request), brand))

    def run_inspection(lang: str, brand: str | None, propose: bool, product: str | None,
                photos: list[str] | None, camera: str | None, request: gr.Request,
                progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        with shown(lang):
            user = ui.user(request)
            if not brand:
                raise IprVisionError(t(lang, "choose_brand"))
            sources = [Path(p) for p in [*(photos or []), *([camera] if camera else [])]]
            if not sources:
                raise IprVisionError(t(lang, "no_photo"))
            outcome = ui.service.inspect(
                user, brand, None if propose else product, sources,
                lambda done, total: progress((done, total),
                                             desc=t(lang, "progress", done=done, total=total)))
            state = Session(outcome)
            inspection = outcome.inspection
            rows = [[p.name, p.verdict or "", "" if p.p_counterfeit is None else
                     round(p.p_counterfeit, 3), p.product or "",
                     p.error or (p.suggestion or {}).get("reason", "")]
                    for p in inspection.photos]
            header = [t(lang, k) for k in ("col_photo", "col_verdict", "col_p", "col_product",
                                           "col_reason")]
            csv_path = write_csv(ui.downloads / f"inspection-{inspection.id}.csv", header, rows)
            names = [(f"{n + 1}. {p.name}", n) for n, p in enumerate(inspection.photos)]
            first = next((n for n, (_, r) in enumerate(outcome.results)
                          if isinstance(r, Suggestion)), 0)
            return (gr.update(visible=True), state, t(lang, "inspection_id", id=inspection.id),
                    gr.update(choices=names, value=first, visible=len(names) > 1),
                    *details(lang, state, first, request),
                    gr.update(value=rows, headers=header), str(csv_path), None)

    def details(lang: str, state: Session | None, index: int | None,
                request: gr.Request) -> tuple[Any, ...]:
        """Everything shown for one photo of the inspection."""
        empty: tuple[Any, ...] = ("", [], [], "", None, None, None, "")
        if state is None or index is None or index >= len(state.outcome.results):
            return empty
        inspected = state.outcome.inspected(index)
        if isinstance(inspected, str):
            return (f'<div class="ipr-verdict ipr-inconclusive">{inspected}</div>', *empty[1:])
        photo, result = inspected
        if index not in state.explained:
            try:
                state.explained[index] = ui.service.explain(ui.user(request), photo, result)
            except IprVisionError as error:
                state.explained[index] = str(error)
        explanation = state.explained[index]
        views: tuple[Any, ...]
        if isinstance(explanation, Explanation):
            views = (explanation.overlay, explanation.aligned_view, explanation.points_view,
                     explanation_markdown(lang, explanation))
        else:
            views = (None, None, None, md(lang, "no_explanation", reason=explanation))
        quality = ""
        if result.quality is not None and not result.quality.ok:
            quality = "\n\n" + t(lang, "quality_failed", hints=" ".join(
                c.hint_zh if lang == "zh" else c.hint_en for c in result.quality.failed))
        return (verdict_card(lang, result), match_items(lang, result.nearest_genuine),
                match_items(lang, result.nearest_fake),
                "**" + t(lang, "notes") + "**\n\n" + notes_markdown(lang, result) + quality,
                *views)

    def show(lang: str, state: Session | None, index: int | None,
             request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            return details(lang, state, index, request)

    def pack(lang: str, state: Session | None, index: int | None, request: gr.Request) -> Any:
        with shown(lang):
            if state is None:
                raise IprVisionError(t(lang, "no_photo"))
            inspected = state.outcome.inspected(index or 0)
            if isinstance(inspected, str):
                raise IprVisionError(inspected)
            photo, result = inspected
            explanation = state.explained.get(index or 0)
            return str(ui.service.evidence_pack(
                ui.user(request), photo, result,
                explanation if isinstance(explanation, Explanation) else None,
                ui.downloads / state.outcome.inspection.id))

    detail_outputs = [card, genuine, fake, notes, heat, aligned, points, explained]
    brand.change(products, [lang, brand], product, api_visibility="private")
    propose.change(lambda p: gr.update(interactive=not p), propose, product,
                   api_visibility="private")
    run.click(run_inspection, [lang, brand, propose, product, photos, camera],
              [results, session, recorded, which, *detail_outputs, table, csv_file,
               evidence_file],
              api_visibility="private", concurrency_limit=2)
    which.input(show, [lang, session, which], detail_outputs, api_visibility="private")
    evidence.click(pack, [lang, session, which], evidence_file, api_visibility="private")
    return InspectTab(brand, (show, [lang, session, which], detail_outputs))

