"""Users and brands (admins)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ...domain import Role
from .common import Ui, choices, md, shown
from .i18n import t

_ROLES = tuple((f"role_{r}", r.value) for r in Role)


def build(ui: Ui, lang: Any) -> tuple[Any, Any]:
    """Returns the brands dropdown and a refresh callable for when the tab opens."""
    table = ui.text(gr.Dataframe(label="users", interactive=False, elem_id="users-table"),
                    "users_table")
    with gr.Row():
        name = ui.text(gr.Textbox(label="name", elem_id="users-name"), "user_name")
        role = ui.choices(ui.text(gr.Dropdown(choices=choices("en", _ROLES), value="officer",
                                              label="role", elem_id="users-role"), "user_role"),
                          _ROLES)
        brands = ui.text(gr.Dropdown(choices=[], multiselect=True, label="brands",
                                     elem_id="users-brands"), "user_brands")
        password = ui.text(gr.Textbox(label="password", type="password",
                                      elem_id="users-password"), "user_password")
    with gr.Row():
        add = ui.text(gr.Button("Add", variant="primary", elem_id="users-add"), "add_user",
                      "value")
        remove = ui.text(gr.Button("Remove", variant="stop", elem_id="users-remove"),
                         "remove_user", "value")
    with gr.Row():
        brand = ui.text(gr.Textbox(label="brand", elem_id="users-new-brand"), "new_brand")
        create = ui.text(gr.Button("Create brand", elem_id="users-create-brand"),
                         "create_brand", "value")
    status = gr.Markdown(elem_id="users-status")

    def listing(lang: str, request: gr.Request) -> tuple[Any, Any]:
        with shown(lang):
            user = ui.user(request)
            rows = [[u.name, t(lang, f"role_{u.role}"), ", ".join(u.brands), u.created_at]
                    for u in ui.service.list_users(user)]
            header = [t(lang, c) for c in ("col_name", "col_role", "col_brands", "col_created")]
            return (gr.update(value=rows, headers=header),
                    gr.update(choices=ui.service.brands(user)))

    def add_user(lang: str, name: str, role: str, brands: list[str] | None, password: str,
                 request: gr.Request) -> tuple[str, str]:
        with shown(lang):
            ui.service.add_user(ui.user(request), name.strip(), role, password, brands or [])
            return md(lang, "user_added", name=name.strip()), ""

    def remove_user(lang: str, name: str, request: gr.Request) -> str:
        with shown(lang):
            removed = ui.service.remove_user(ui.user(request), name.strip())
            return md(lang, "user_removed" if removed else "user_missing", name=name.strip())

    def create_brand(lang: str, name: str, request: gr.Request) -> tuple[str, str]:
        with shown(lang):
            ui.service.add_brand(ui.user(request), name.strip())
            return md(lang, "brand_created", brand=name.strip()), ""

    private = {"api_visibility": "private"}
    add.click(add_user, [lang, name, role, brands, password], [status, password],
              **private).then(listing, lang, [table, brands], **private)
    remove.click(remove_user, [lang, name], status, **private).then(
        listing, lang, [table, brands], **private)
    create.click(create_brand, [lang, brand], [status, brand], **private).then(
        listing, lang, [table, brands], **private)
    return listing, [table, brands]
