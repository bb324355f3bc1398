"""Gallery (right holders): products, uploads with a per-file report, the reference grid with
notes, identification points and where each reference came from, each product's health panel,
and the brand's signed packages for customs (:mod:`.packages_ui`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from ...core.alignment import draw_points
from ...core.roles import can_manage
from ...errors import IprVisionError
from ...figures.plots import health_figures
from ...results import PlacedPoint
from . import packages_ui
from .common import Ui, choices, dropdown, md, percent, plain, shown
from .i18n import t
from .render import origin_markdown, thumbnail

_LABELS = (("genuine", "genuine"), ("fake", "fake"))
_SHOW = (("all", "all"), ("genuine", "genuine"), ("fake", "fake"))
_GRID_LIMIT = 400  # thumbnails per grid, at most: the first references by id


def build(ui: Ui, lang: Any) -> Any:
    """Returns the brand dropdown, filled by the app when a user logs in."""
    refs = gr.State([])  # ids shown in the grid, in order
    selected = gr.State(None)  # the selected reference id
    with gr.Row():
        brand = ui.text(gr.Dropdown(label="Brand", choices=[], elem_id="gallery-brand"), "brand")
        product = ui.text(gr.Dropdown(label="Product", choices=[], elem_id="gallery-product"),
                          "product")
        new_product = ui.text(gr.Textbox(label="new", elem_id="gallery-new-product"),
                              "new_product")
        create = ui.text(gr.Button("Create", elem_id="gallery-create-product"),
                         "create_product", "value")
    status = gr.Markdown(elem_id="gallery-status")
    with gr.Row():
        files = ui.text(gr.File(file_count="multiple", label="upload",
                                file_types=["image", ".zip", ".heic", ".heif"],
                                elem_id="gallery-files"), "upload_files")
        with gr.Column():
            label = ui.choices(ui.text(gr.Radio(choices=choices("en", _LABELS), value="genuine",
                                                label="label", elem_id="gallery-label"), "label"),
                               _LABELS)
            poor = ui.text(gr.Checkbox(value=False, label="poor", elem_id="gallery-poor"),
                           "allow_poor")
            upload = ui.text(gr.Button("Add", variant="primary", elem_id="gallery-upload"),
                             "upload_button", "value")
    report = gr.Dataframe(interactive=False, visible=False, elem_id="gallery-report")
    show = ui.choices(ui.text(gr.Radio(choices=choices("en", _SHOW), value="all", label="show",
                                       elem_id="gallery-show"), "show_label"), _SHOW)
    grid = ui.text(gr.Gallery(label="grid", columns=6, height=420, allow_preview=False,
                              elem_id="gallery-grid"), "grid")
    with gr.Row():
        with gr.Column(scale=3):
            picture = ui.text(gr.Image(label="selected", interactive=False,
                                       elem_id="gallery-selected"), "selected")
        with gr.Column(scale=2):
            info = gr.Markdown(elem_id="gallery-info")
            note = ui.text(gr.Textbox(label="note", lines=2, elem_id="gallery-note"), "note")
            save_note = ui.text(gr.Button("Save note", elem_id="gallery-save-note"),
                                "save_note", "value")
            point_list = gr.Markdown(elem_id="gallery-points")
            box = ui.text(gr.Textbox(label="box", placeholder="120, 80, 260, 190",
                                     elem_id="gallery-box"), "point_box")
            point_note = ui.text(gr.Textbox(label="what", elem_id="gallery-point-note"),
                                 "point_note")
            add_point = ui.text(gr.Button("Add point", elem_id="gallery-add-point"),
                                "add_point", "value")
            point_id = ui.text(gr.Number(label="point", precision=0,
                                         elem_id="gallery-point-id"), "point_id")
            remove_point = ui.text(gr.Button("Remove point", elem_id="gallery-remove-point"),
                                   "remove_point", "value")
            reason = ui.text(gr.Textbox(label="why", elem_id="gallery-remove-reason"),
                             "remove_reason")
            remove = ui.text(gr.Button("Remove", variant="stop", elem_id="gallery-remove"),
                             "remove_ref", "value")
    with gr.Accordion("health", open=True) as health_box:
        ui.text(health_box, "health")
        compute = ui.text(gr.Button("Compute", elem_id="gallery-health"), "health_button",
                          "value")
        health_text = gr.Markdown(elem_id="gallery-health-text")
        with gr.Row():
            # Each plot carries its own translated title; a component label would cover it.
            roc, histogram, reliability = (
                gr.Image(show_label=False, interactive=False, elem_id=f"gallery-{name}")
                for name in ("roc", "histogram", "reliability"))
        with gr.Row():
            share = ui.text(gr.Slider(0.5, 20, value=1, step=0.5, label="share",
                                      elem_id="gallery-share"), "operating_slider")
            set_share = ui.text(gr.Button("Set", elem_id="gallery-set-share"),
                                "set_operating", "value")
    packages_ui.build_export(ui, lang, brand)

    def products(lang: str, brand: str | None, current: str | None,
                 request: gr.Request) -> Any:
        with shown(lang):
            return dropdown(ui.service.products(ui.user(request), brand) if brand else [],
                            current)

    def create_product(lang: str, brand: str | None, name: str,
                       request: gr.Request) -> tuple[Any, str, str]:
        with shown(lang):
            name = name.strip()
            if not brand or not name:
                raise IprVisionError(t(lang, "choose_brand") if not brand else t(lang, "product"))
            user = ui.user(request)
            ui.service.add_product(user, brand, name)
            return (dropdown(ui.service.products(user, brand), name),
                    md(lang, "product_created", product=name), "")

    def add(lang: str, brand: str | None, product: str | None, label: str, poor: bool,
            files: list[str] | None, request: gr.Request) -> tuple[Any, str, None]:
        with shown(lang):
            if not brand or not product:
                raise IprVisionError(t(lang, "choose_brand"))
            result = ui.service.upload(ui.user(request), brand, product, label,
                                       [Path(f) for f in files or []], allow_poor_quality=poor)
            waived = {name: why for name, _, why in result.waived}
            rows = [[name, t(lang, "result_added"),
                     f"#{ref}" + (f" ({t(lang, 'poor_allowed')}: {waived[name]})"
                                  if name in waived else "")] for name, ref in result.added]
            rows += [[name, t(lang, "result_duplicate"), t(lang, "dup_detail", ref=ref)
                      if ref >= 0 else t(lang, "dup_in_upload")] for name, ref in result.duplicates]
            rows += [[name, t(lang, "result_failed"), reason] for name, reason in result.failed]
            rows += [[name, t(lang, "result_skipped"), reason] for name, reason in result.skipped]
            header = [t(lang, c) for c in ("col_file", "col_result", "col_detail")]
            summary = t(lang, "upload_summary", added=len(result.added),
                        duplicates=len(result.duplicates), failed=len(result.failed))
            return gr.update(value=rows, headers=header, visible=True), summary, None

    def fill_grid(lang: str, brand: str | None, product: str | None, show: str,
                  request: gr.Request) -> tuple[Any, list[int]]:
        with shown(lang):
            if not brand or not product:
                return [], []
            found = [r for r in ui.service.references(ui.user(request), brand, product)
                     if show in ("all", r.label)][:_GRID_LIMIT]
            items = []
            for ref in found:
                image = thumbnail(ref.path, 200)
                if image is None:
                    items.append((Image.new("RGB", (200, 200), "grey"), f"#{ref.id} ?"))
                else:
                    items.append((image, f"#{ref.id} · {t(lang, ref.label)}"))
            return items, [r.id for r in found]

    def select(lang: str, refs: list[int], event: gr.SelectData,
               request: gr.Request) -> tuple[Any, ...]:
        return describe(lang, refs[event.index] if event.index < len(refs) else None, request)

    def describe(lang: str, ref_id: int | None, request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            if ref_id is None:
                return None, None, t(lang, "selected_none"), "", ""
            user = ui.user(request)
            ref = ui.service.reference(user, ref_id)
            image = ui.service.photo(user, ref_id)
            points = ui.service.points(user, ref_id)
            placed = [PlacedPoint(p, p.pixel_box(image.size), None, None) for p in points]
            listing = "\n".join(f"{n}. (#{p.id}) {plain(p.note)}"
                                for n, p in enumerate(points, 1))
            info = md(lang, "selected_info", id=ref.id, label=t(lang, ref.label),
                      product=ref.product, by=ref.added_by, at=ref.added_at,
                      name=ref.source_name)
            if ref.origin is not None:
                info += "\n\n" + origin_markdown(lang, ref.origin)
            return (ref_id, draw_points(image, placed) if placed else image, info, ref.note,
                    f"**{t(lang, 'points_list')}**\n\n{listing or t(lang, 'no_points')}")

    def save(lang: str, ref_id: int | None, text: str, request: gr.Request) -> str:
        with shown(lang):
            if ref_id is None:
                return t(lang, "selected_none")
            ui.service.set_note(ui.user(request), ref_id, text)
            return t(lang, "note_saved")

    def point(lang: str, ref_id: int | None, box: str, text: str,
              request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            if ref_id is None:
                raise IprVisionError(t(lang, "selected_none"))
            try:
                x0, y0, x1, y1 = (round(float(v)) for v in box.replace(";", ",").split(","))
            except ValueError:
                raise IprVisionError(t(lang, "point_box")) from None
            new_id = ui.service.add_point(ui.user(request), ref_id, (x0, y0, x1, y1), text)
            return (t(lang, "point_added", id=new_id), *describe(lang, ref_id, request))

    def unpoint(lang: str, ref_id: int | None, point: float | None,
                request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            if ref_id is None or point is None:
                raise IprVisionError(t(lang, "selected_none"))
            ui.service.remove_point(ui.user(request), ref_id, int(point))
            return (t(lang, "point_removed"), *describe(lang, ref_id, request))

    def drop(lang: str, ref_id: int | None, why: str, request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            if ref_id is None:
                raise IprVisionError(t(lang, "selected_none"))
            if not why.strip():
                raise IprVisionError(t(lang, "remove_reason_needed"))
            ui.service.remove(ui.user(request), [ref_id], why)
            return (t(lang, "removed", id=ref_id), "", *describe(lang, None, request))

    def health(lang: str, brand: str | None, product: str | None,
               request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            if not brand or not product:
                raise IprVisionError(t(lang, "choose_brand"))
            user = ui.user(request)
            h = ui.service.health(user, brand, product)
            lines = [t(lang, "health_counts", genuine=h.genuine, fake=h.fake,
                       genuine_groups=h.genuine_groups, fake_groups=h.fake_groups)]
            if h.reason:
                lines.append(md(lang, "health_reason", reason=h.reason))
                return "\n\n".join(lines), None, None, None, gr.update()
            if h.skipped:
                lines.append(t(lang, "health_skipped", count=h.skipped))
            if h.trained_included:
                lines.append(t(lang, "health_trained", count=h.trained_included))
            lines.append(t(lang, "health_auroc", auroc=_figure(h.auroc)))
            lines.append(t(lang, "health_ece", ece=_figure(h.ece)))
            lines.append(t(lang, "health_catch", flag=percent(h.max_genuine_flagged),
                           flagged=percent(h.genuine_flagged),
                           catch=percent(h.expected_fake_caught)))
            figures = health_figures(h, lang)
            editable = can_manage(user, brand)
            return ("\n\n".join(lines), figures["roc"], figures["scores"],
                    figures["reliability"], gr.update(value=100 * h.max_genuine_flagged,
                                                      interactive=editable))

    def operating(lang: str, brand: str | None, value: float, request: gr.Request) -> str:
        with shown(lang):
            if not brand:
                raise IprVisionError(t(lang, "choose_brand"))
            ui.service.set_operating_point(ui.user(request), brand, value / 100)
            return t(lang, "operating_set", flag=percent(value / 100))

    described = [selected, picture, info, note, point_list]
    grid_inputs = [lang, brand, product, show]
    private = {"api_visibility": "private"}
    brand.change(products, [lang, brand, product], product, **private)
    product.change(fill_grid, grid_inputs, [grid, refs], **private)
    show.change(fill_grid, grid_inputs, [grid, refs], **private)
    create.click(create_product, [lang, brand, new_product], [product, status, new_product],
                 **private)
    upload.click(add, [lang, brand, product, label, poor, files], [report, status, files],
                 **private).then(fill_grid, grid_inputs, [grid, refs], **private)
    grid.select(select, [lang, refs], described, **private)
    save_note.click(save, [lang, selected, note], status, **private)
    add_point.click(point, [lang, selected, box, point_note], [status, *described], **private)
    remove_point.click(unpoint, [lang, selected, point_id], [status, *described], **private)
    remove.click(drop, [lang, selected, reason], [status, reason, *described], **private).then(
        fill_grid, grid_inputs, [grid, refs], **private)
    compute.click(health, [lang, brand, product],
                  [health_text, roc, histogram, reliability, share], **private)
    set_share.click(operating, [lang, brand, share], status, **private)
    return brand


def _figure(value: float) -> str:
    return "–" if value != value else f"{value:.3f}"  # NaN: not defined (one class only)
