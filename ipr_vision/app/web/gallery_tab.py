"""Gallery (right holders): the brand's operating point, products, uploads with a per-file
report, the reference grid, the selected reference (:mod:`.gallery_reference`), each product's
health panel (:mod:`.gallery_health`), and the brand's signed packages for customs
(:mod:`.packages_ui`).

Each action reports beside its own button; the health figures on screen are redrawn after
every change that moves them (an upload, a removal, a new operating point).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from ...results import ImportReport
from . import gallery_health, gallery_reference, packages_ui
from .common import Refused, Ui, choices, dropdown, noted, said, shown, warning, worded
from .i18n import t
from .render import thumbnail

_LABELS = (("genuine", "genuine"), ("fake", "fake"))
_SHOW = (("all", "all"), ("genuine", "genuine"), ("fake", "fake"))
_GRID_LIMIT = 400  # thumbnails per grid, at most: the first references by id


def build(ui: Ui, lang: Any) -> Any:
    """Returns the brand dropdown, filled by the app when a user logs in."""
    refs = gr.State([])  # ids shown in the grid, in order
    with gr.Row(equal_height=True):
        brand = ui.text(gr.Dropdown(label="Brand", choices=[], elem_id="gallery-brand",
                                    scale=1), "brand")
        with gr.Column(scale=3):
            operating = gallery_health.build_operating(ui)
    with gr.Row(equal_height=True):
        product = ui.text(gr.Dropdown(label="Product", choices=[], elem_id="gallery-product"),
                          "product")
        new_product = ui.text(gr.Textbox(label="new", elem_id="gallery-new-product"),
                              "new_product")
        with gr.Column():
            create = ui.text(gr.Button("Create", elem_id="gallery-create-product"),
                             "create_product", "value")
            product_status = gr.Markdown(elem_id="gallery-product-status")
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
            upload_status = gr.Markdown(elem_id="gallery-status")
    report = gr.Dataframe(interactive=False, visible=False, elem_id="gallery-report")
    uploaded = gr.State(None)  # the last upload's ImportReport, shown in the report
    show = ui.choices(ui.text(gr.Radio(choices=choices("en", _SHOW), value="all", label="show",
                                       elem_id="gallery-show"), "show_label"), _SHOW)
    grid = ui.text(gr.Gallery(label="grid", columns=6, height=420, allow_preview=False,
                              interactive=False,
                              elem_id="gallery-grid"), "grid")
    panel = gallery_reference.build(ui)
    health, compute = gallery_health.build_health(ui)
    packages_ui.build_export(ui, lang, brand)

    def products(lang: str, brand: str | None, current: str | None,
                 request: gr.Request) -> Any:
        with shown(lang):
            return dropdown(ui.service.products(ui.user(request), brand) if brand else [],
                            current)

    def create_product(brand: str | None, name: str,
                       request: gr.Request) -> tuple[Any, str, Any]:
        with noted() as problem:
            name = name.strip()
            if not brand or not name:
                raise Refused("choose_brand" if not brand else "product_name_needed")
            user = ui.user(request)
            ui.service.add_product(user, brand, name)
            return (dropdown(ui.service.products(user, brand), name),
                    said("product_created", product=name), "")
        return gr.update(), warning(problem.error), gr.update()

    def add(lang: str, brand: str | None, product: str | None, label: str, poor: bool,
            files: list[str] | None, request: gr.Request) -> tuple[Any, ...]:
        with noted() as problem:
            if not brand or not product:
                raise Refused("choose_brand")
            if not files:
                raise Refused("no_photo")
            result = ui.service.upload(ui.user(request), brand, product, label,
                                       [Path(f) for f in files], allow_poor_quality=poor)
            return (result, upload_report(lang, result),
                    said("upload_summary", added=len(result.added),
                         duplicates=len(result.duplicates), failed=len(result.failed)), None)
        return gr.update(), gr.update(), warning(problem.error), gr.update()

    def report_again(lang: str, result: ImportReport | None) -> Any:
        """The last upload's report in another language (nothing when none is shown)."""
        return gr.update() if result is None else upload_report(lang, result)

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

    def select(refs: list[int], event: gr.SelectData,
               request: gr.Request) -> tuple[Any, ...]:
        index = event.index if isinstance(event.index, int) else -1
        return panel.describe(refs[index] if 0 <= index < len(refs) else None, request)

    grid_inputs = [lang, brand, product, show]
    refresh = [lang, brand, product, health.shown]
    private = {"api_visibility": "private"}
    gallery_health.wire_operating(ui, lang, brand, operating, health, product)
    brand.change(products, [lang, brand, product], product, **private)
    product.change(fill_grid, grid_inputs, [grid, refs], **private)
    show.change(fill_grid, grid_inputs, [grid, refs], **private)
    create.click(create_product, [brand, new_product],
                 [product, product_status, new_product], **private)
    upload.click(add, [lang, brand, product, label, poor, files],
                 [uploaded, report, upload_status, files], **private).then(
        fill_grid, grid_inputs, [grid, refs], **private).then(
        health.refresh, refresh, health.outputs(), **private)
    grid.select(select, [refs], panel.outputs, **private)
    panel.removed.then(fill_grid, grid_inputs, [grid, refs], **private).then(
        health.refresh, refresh, health.outputs(), **private)
    compute.click(health.compute, [lang, brand, product], health.outputs(), **private)
    # What the tab wrote follows the language switch too, not only its labels.
    lang.change(report_again, [lang, uploaded], report, **private)
    lang.change(fill_grid, grid_inputs, [grid, refs], **private).then(
        health.refresh, refresh, health.outputs(), **private)
    return brand


def upload_report(lang: str, result: ImportReport) -> Any:
    """Each uploaded file's outcome, a row per file, in ``lang`` (each reason by its key: the
    report keeps the English the command line prints)."""
    waived = {name: why for name, _, why in result.waived}
    rows = [[name, t(lang, "result_added"),
             f"#{ref}" + (f" ({t(lang, 'poor_allowed')}: {worded(lang, waived[name])})"
                          if name in waived else "")] for name, ref in result.added]
    rows += [[name, t(lang, "result_duplicate"), t(lang, "dup_detail", ref=ref)
              if ref >= 0 else t(lang, "dup_in_upload")] for name, ref in result.duplicates]
    rows += [[name, t(lang, "result_failed"), worded(lang, reason)]
             for name, reason in result.failed]
    rows += [[name, t(lang, "result_skipped"), worded(lang, reason)]
             for name, reason in result.skipped]
    header = [t(lang, c) for c in ("col_file", "col_result", "col_detail")]
    return gr.update(value=rows, headers=header, visible=True)
