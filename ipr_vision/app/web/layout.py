"""The page: a header with the language switch, then one tab per job, shown by role."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ...core.roles import can_inspect, can_manage, tabs
from ...domain import Role
from ..service import Service
from . import gallery_tab, inspect_tab, records_tab, users_tab, workshop_tab
from .api import add_api
from .auth import language_of
from .common import Ui, dropdown
from .gradio_strings import LANGUAGE_COOKIE, SWITCH_ID
from .i18n import LANGUAGES, t
from .private_files import PrivateFiles

# -- right holders, trainers, admins (issue 16) -------------------------------------------
#: Confirmations, answers marked right or wrong, the quiz's end screen, the gallery's photo
#: that boxes are drawn on; added to the page's CSS by :func:`.app.launch`.
ROLES_CSS = """
.ipr-confirm {border: 2px solid #b91c1c !important; border-radius: 8px; background: #fef2f2;
  padding: 6px}
.ipr-feedback, .ipr-score {border: 3px solid; border-radius: 10px; padding: 8px 14px;
  font-weight: 700}
.ipr-score {font-size: 1.4em}
.ipr-right.ipr-feedback, .ipr-score-good {background: #f0fdf4; border-color: #15803d;
  color: #14532d}
.ipr-wrong.ipr-feedback, .ipr-score-poor {background: #fef2f2; border-color: #b91c1c;
  color: #7f1d1d}
.ipr-score-fair {background: #fffbeb; border-color: #b45309; color: #78350f}
#workshop-right-answers {border: 3px solid #15803d; border-radius: 10px}
#workshop-wrong-answers {border: 3px solid #b91c1c; border-radius: 10px}
#gallery-selected img {cursor: crosshair}
/* the quiz's answers: every row whole, however few photos (Gradio would widen the columns to
   the photo count and scroll inside a box of fixed height) */
#workshop-right-answers .grid-container, #workshop-wrong-answers .grid-container {
  grid-template-columns: repeat(4, minmax(0, 1fr)) !important; grid-template-rows: none !important}
#workshop-right-answers .grid-wrap, #workshop-wrong-answers .grid-wrap {overflow-y: visible;
  height: auto !important; max-height: none !important}
@media (max-width: 640px) {
  #workshop-right-answers .grid-container, #workshop-wrong-answers .grid-container {
    grid-template-columns: repeat(2, minmax(0, 1fr)) !important}
}
"""
# -- end of right holders, trainers, admins (issue 16) ------------------------------------

#: Moves the page's own script (:data:`.gradio_strings.LANGUAGE_SCRIPT`: Gradio's strings,
#: ``<html lang>``, the cookie) to the language the app starts in; a click on the switch
#: moves it at once by itself.
_FOLLOW = "(lang) => { window.iprVisionLanguage(lang); }"


def build_app(service: Service, private_files: PrivateFiles) -> Any:
    """The Blocks app over one service (its gallery, users and inspection log); downloads are
    kept in ``private_files``."""
    ui = Ui(service, private_files)
    with gr.Blocks(title="ipr-vision", delete_cache=(3600, 86400)) as app:
        with gr.Row(equal_height=True):
            ui.text(gr.Markdown("## ipr-vision", elem_id="title"), "title", "value")
            lang = ui.text(gr.Radio(choices=list(LANGUAGES), value="en", label="Language",
                                    elem_id=SWITCH_ID, scale=0, min_width=180), "language")
        with gr.Row(equal_height=True):
            who = gr.Markdown(elem_id="who")
            ui.text(gr.Button("Log out", link="/logout", size="sm", scale=0,
                                       elem_id="logout"), "logout", "value")
        ui.text(gr.Markdown(elem_id="disclaimer"), "disclaimer", "value")
        with gr.Tabs() as tab_row:
            with gr.Tab("Inspect", id="inspect", visible=False) as inspect_box:
                inspect = inspect_tab.build(ui, lang)
            with gr.Tab("Records", id="records", visible=False) as records_box:
                records_listing, records_inputs, records_outputs = records_tab.build(ui, lang)
            with gr.Tab("Gallery", id="gallery", visible=False) as gallery_box:
                gallery_brand = gallery_tab.build(ui, lang)
            with gr.Tab("Workshop", id="workshop", visible=False) as workshop_box:
                workshop_brand = workshop_tab.build(ui, lang)
            with gr.Tab("Users", id="users", visible=False) as users_box:
                users_listing, users_outputs = users_tab.build(ui, lang)
        boxes = {"inspect": inspect_box, "records": records_box, "gallery": gallery_box,
                 "workshop": workshop_box, "users": users_box}
        for name, box in boxes.items():
            ui.text(box, f"tab_{name}")
        add_api(service)

        def start(request: gr.Request) -> tuple[Any, ...]:
            """Show the logged-in user's tabs and brands, in the language last chosen (else
            their browser's)."""
            user = ui.user(request)
            language = language_of(None, request.cookies.get(LANGUAGE_COOKIE),
                                   request.headers.get("accept-language", ""))
            brands = service.brands(user)
            stocked = service.stocked_brands(user)
            first = stocked[0] if stocked else None  # preselect a usable brand
            allowed = tabs(user)
            return (language, who_line(language, request), gr.update(selected=allowed[0]),
                    *(gr.update(visible=name in allowed) for name in boxes),
                    dropdown([b for b in brands if can_inspect(user, b)], first),
                    dropdown([b for b in brands if can_manage(user, b)], first),
                    dropdown(brands, first))

        def who_line(lang: str, request: gr.Request) -> str:
            user = ui.user(request)
            return t(lang, "signed_in", name=user.name, role=t(lang, f"role_{user.role}"))

        def relabel(lang: str, request: gr.Request) -> list[Any]:
            return [*ui.relabel(lang), who_line(lang, request)]

        def maybe_users(lang: str, request: gr.Request) -> tuple[Any, ...]:
            if ui.user(request).role != Role.ADMIN:
                return tuple(gr.update() for _ in users_outputs)
            return users_listing(lang, request)

        private = {"api_visibility": "private"}
        translated = [item.component for item in ui.translated]
        rerender, rerender_inputs, rerender_outputs = inspect.rerender
        lang.change(relabel, lang, [*translated, who], **private).then(
            rerender, rerender_inputs, rerender_outputs, **private).then(
            records_listing, records_inputs, records_outputs, **private).then(
            maybe_users, lang, users_outputs, **private)
        app.load(start, None, [lang, who, tab_row, *boxes.values(), inspect.brand, gallery_brand,
                               workshop_brand], **private).then(
            None, lang, None, js=_FOLLOW, **private).then(
            records_listing, records_inputs, records_outputs, **private).then(
            maybe_users, lang, users_outputs, **private)
        records_box.select(records_listing, records_inputs, records_outputs, **private)
    return app
