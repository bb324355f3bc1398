"""The Gallery tab's selected reference: its note, its identification points (drawn on the
photo with two clicks, opposite corners, the photo's size in pixels shown) and its removal.

Every action reports next to its own button, and a failure leaves the other panels as they
were. Removing a point or the reference asks first (:func:`.common.confirm_box`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image, ImageDraw

from ...core.alignment import draw_points
from ...results import PlacedPoint
from .common import Refused, Ui, bilingual, confirm_box, hidden, md, noted, said, warning
from .i18n import t
from .render import origin_markdown

#: The box being drawn: (x0, y0) after the first click, (x0, y0, x1, y1) after the second.
Corners = tuple[int, ...]
_PENDING = (230, 120, 20)  # orange: a box not yet saved (saved points are blue)


@dataclass(frozen=True)
class Panel:
    """What the tab needs of the panel: the selected reference's state, what a selection
    fills, and the event of a reference removed (to refresh the grid and the figures)."""

    selected: Any
    outputs: list[Any]
    describe: Any
    removed: Any


def build(ui: Ui) -> Panel:
    selected = gr.State(None)  # the selected reference id
    corners = gr.State(())  # the box being drawn, in the photo's pixels
    with gr.Row():
        with gr.Column(scale=3):
            size = gr.Markdown(elem_id="gallery-size")
            picture = ui.text(gr.Image(label="selected", interactive=False, buttons=[],
                                       elem_id="gallery-selected"), "selected")
        with gr.Column(scale=2):
            info = gr.Markdown(elem_id="gallery-info")
            note = ui.text(gr.Textbox(label="note", lines=2, elem_id="gallery-note"), "note")
            save_note = ui.text(gr.Button("Save note", elem_id="gallery-save-note"),
                                "save_note", "value")
            note_status = gr.Markdown(elem_id="gallery-note-status")
            box = gr.Markdown(elem_id="gallery-box")
            point_note = ui.text(gr.Textbox(label="what", elem_id="gallery-point-note"),
                                 "point_note")
            add_point = ui.text(gr.Button("Add point", elem_id="gallery-add-point"),
                                "add_point", "value")
            point_status = gr.Markdown(elem_id="gallery-point-status")
            points = ui.text(gr.Dropdown(label="points", choices=[],
                                         elem_id="gallery-points"), "points_list")
            remove_point = ui.text(gr.Button("Remove point", elem_id="gallery-remove-point"),
                                   "remove_point", "value")
            point_confirm = confirm_box(ui, "gallery-point")
            reason = ui.text(gr.Textbox(label="why", elem_id="gallery-remove-reason"),
                             "remove_reason")
            remove = ui.text(gr.Button("Remove", variant="stop", elem_id="gallery-remove"),
                             "remove_ref", "value")
            remove_status = gr.Markdown(elem_id="gallery-remove-status")
            ref_confirm = confirm_box(ui, "gallery-ref")

    def photo(ref_id: int, corners: Corners, request: gr.Request) -> Image.Image:
        """The reference with its saved points (blue, numbered) and the box being drawn."""
        user = ui.user(request)
        image = ui.service.photo(user, ref_id)
        placed = [PlacedPoint(p, p.pixel_box(image.size), None, None)
                  for p in ui.service.points(user, ref_id)]
        canvas = draw_points(image, placed) if placed else image.convert("RGB")
        if corners:
            draw = ImageDraw.Draw(canvas)
            line = max(2, canvas.size[0] // 250)
            if len(corners) == 4:
                draw.rectangle(corners, outline=_PENDING, width=line)
            else:
                x, y = corners
                draw.ellipse((x - 3 * line, y - 3 * line, x + 3 * line, y + 3 * line),
                             fill=_PENDING)
        return canvas

    def describe(ref_id: int | None, request: gr.Request) -> tuple[Any, ...]:
        """Fill the panel for a reference (or empty it): every output of a selection."""
        with noted() as problem:
            if ref_id is None:
                return (None, (), None, said("selected_none"), "", "", "",
                        gr.update(choices=[], value=None))
            user = ui.user(request)
            ref = ui.service.reference(user, ref_id)
            image = photo(ref_id, (), request)
            listing = [(f"{n}. {p.note}", p.id)
                       for n, p in enumerate(ui.service.points(user, ref_id), 1)]

            def info(lang: str) -> str:
                text = md(lang, "selected_info", id=ref.id, label=t(lang, ref.label),
                          product=ref.product, by=ref.added_by, at=ref.added_at,
                          name=ref.source_name)
                if ref.origin is not None:
                    text += "\n\n" + origin_markdown(lang, ref.origin)
                return text

            width, height = image.size
            return (ref_id, (), image, bilingual(info), ref.note,
                    said("photo_size", width=width, height=height), said("box_hint"),
                    gr.update(choices=listing, value=listing[0][1] if listing else None))
        return (None, (), None, warning(problem.error), "", "", "",
                gr.update(choices=[], value=None))

    def corner(ref_id: int | None, corners: Corners, event: gr.SelectData,
               request: gr.Request) -> tuple[Any, ...]:
        """A click on the photo: the first or second corner of a box (a third starts anew)."""
        with noted() as problem:
            if ref_id is None or not isinstance(event.index, list | tuple):
                return gr.update(), gr.update(), gr.update()
            x, y = (int(v) for v in event.index[:2])
            if len(corners) == 2:
                x0, y0 = corners
                box = (min(x0, x), min(y0, y), max(x0, x), max(y0, y))
                text = said("box_drawn", x0=box[0], y0=box[1], x1=box[2], y1=box[3],
                            width=box[2] - box[0], height=box[3] - box[1])
                return box, photo(ref_id, box, request), text
            return (x, y), photo(ref_id, (x, y), request), said("box_first", x=x, y=y)
        return gr.update(), gr.update(), warning(problem.error)

    def save(ref_id: int | None, text: str, request: gr.Request) -> str:
        with noted() as problem:
            if ref_id is None:
                raise Refused("selected_none")
            ui.service.set_note(ui.user(request), ref_id, text)
            return said("note_saved")
        return warning(problem.error)

    def point(ref_id: int | None, corners: Corners, text: str,
              request: gr.Request) -> tuple[Any, ...]:
        with noted() as problem:
            if ref_id is None:
                raise Refused("selected_none")
            if len(corners) != 4 or corners[0] == corners[2] or corners[1] == corners[3]:
                raise Refused("box_needed")
            x0, y0, x1, y1 = corners
            new_id = ui.service.add_point(ui.user(request), ref_id, (x0, y0, x1, y1), text)
            filled = describe(ref_id, request)
            return (said("point_added", id=new_id), "", *filled)
        return (warning(problem.error), gr.update(), *(gr.update() for _ in outputs))

    def ask_point(ref_id: int | None, point_id: int | None,
                  request: gr.Request) -> tuple[Any, str, str]:
        with noted() as problem:
            if ref_id is None or point_id is None:
                raise Refused("point_choose")
            listed = ui.service.points(ui.user(request), ref_id)
            number, found = next(((n, p) for n, p in enumerate(listed, 1) if p.id == point_id),
                                 (0, None))
            if found is None:
                raise Refused("point_gone")
            return (gr.update(visible=True),
                    said("point_confirm", n=number, note=found.note), "")
        return hidden(), "", warning(problem.error)

    def unpoint(ref_id: int | None, point_id: int | None,
                request: gr.Request) -> tuple[Any, ...]:
        with noted() as problem:
            if ref_id is None or point_id is None:
                raise Refused("point_choose")
            if not ui.service.remove_point(ui.user(request), ref_id, int(point_id)):
                raise Refused("point_gone")
            return (hidden(), said("point_removed"), *describe(ref_id, request))
        return (hidden(), warning(problem.error), *(gr.update() for _ in outputs))

    def ask_reference(ref_id: int | None, why: str) -> tuple[Any, str, str]:
        if ref_id is None:
            return hidden(), "", warning(Refused("selected_none"))
        if not why.strip():
            return hidden(), "", warning(Refused("remove_reason_needed"))
        return gr.update(visible=True), said("ref_confirm", id=ref_id, reason=why.strip()), ""

    def drop(ref_id: int | None, why: str, request: gr.Request) -> tuple[Any, ...]:
        with noted() as problem:
            if ref_id is None:
                raise Refused("selected_none")
            ui.service.remove(ui.user(request), [ref_id], why)
            return (hidden(), said("removed", id=ref_id), "", *describe(None, request))
        return (hidden(), warning(problem.error), gr.update(), *(gr.update() for _ in outputs))

    outputs = [selected, corners, picture, info, note, size, box, points]
    private = {"api_visibility": "private"}
    picture.select(corner, [selected, corners], [corners, picture, box], **private)
    save_note.click(save, [selected, note], note_status, **private)
    add_point.click(point, [selected, corners, point_note],
                    [point_status, point_note, *outputs], **private)
    remove_point.click(ask_point, [selected, points],
                       [point_confirm.box, point_confirm.question, point_status], **private)
    point_confirm.yes.click(unpoint, [selected, points],
                            [point_confirm.box, point_status, *outputs], **private)
    remove.click(ask_reference, [selected, reason],
                 [ref_confirm.box, ref_confirm.question, remove_status], **private)
    removed = ref_confirm.yes.click(drop, [selected, reason],
                                    [ref_confirm.box, remove_status, reason, *outputs],
                                    **private)
    return Panel(selected, outputs, describe, removed)

