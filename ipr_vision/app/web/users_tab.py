"""Users and brands (admins), the audit trail (who did what when, and whether the chain of
entries is still intact), and signed brand packages (:mod:`.packages_ui`)."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from ...domain import Role
from . import packages_ui
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
    with gr.Accordion("audit", open=False, elem_id="audit") as audit_box:
        ui.text(audit_box, "audit_title")
        with gr.Row():
            who = ui.text(gr.Textbox(label="user", elem_id="audit-user"), "col_actor")
            about = ui.text(gr.Textbox(label="brand", elem_id="audit-brand"), "col_brand")
            since = ui.text(gr.Textbox(label="since", placeholder="2026-12-01",
                                       elem_id="audit-since"), "audit_since")
        with gr.Row():
            show_audit = ui.text(gr.Button("Show", elem_id="audit-show"), "audit_refresh",
                                 "value")
            verify = ui.text(gr.Button("Verify", elem_id="audit-verify"), "audit_verify",
                             "value")
        verified = gr.Markdown(elem_id="audit-status")
        trail = ui.text(gr.Dataframe(label="audit", interactive=False, wrap=True,
                                     elem_id="audit-table"), "audit_title")
    package_tables, package_outputs = packages_ui.build_admin(ui, lang)

    def listing(lang: str, request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            user = ui.user(request)
            rows = [[u.name, t(lang, f"role_{u.role}"), ", ".join(u.brands), u.created_at]
                    for u in ui.service.list_users(user)]
            header = [t(lang, c) for c in ("col_name", "col_role", "col_brands", "col_created")]
            return (gr.update(value=rows, headers=header),
                    gr.update(choices=ui.service.brands(user)), *package_tables(lang, request))

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

    def audit(lang: str, who: str, about: str, since: str, request: gr.Request) -> Any:
        with shown(lang):
            entries = ui.service.audit_entries(ui.user(request), actor=who.strip() or None,
                                               brand=about.strip() or None,
                                               since=since.strip() or None)
            rows = [[e.seq, e.at, e.actor, e.role, f"{e.via} {e.client}".strip(), e.action,
                     e.brand or "", e.target or "",
                     json.dumps(e.detail, ensure_ascii=False) if e.detail else ""]
                    for e in entries]
            header = [t(lang, c) for c in ("col_seq", "col_time", "col_actor", "col_role",
                                           "col_via", "col_action", "col_brand", "col_target",
                                           "col_details")]
            return gr.update(value=rows, headers=header)

    def check(lang: str, request: gr.Request) -> str:
        with shown(lang):
            result = ui.service.verify_audit(ui.user(request))
            if result.ok:
                return md(lang, "audit_ok", n=result.entries, head=result.head)
            return md(lang, "audit_broken", n=result.entries, broken=result.broken or "")

    private = {"api_visibility": "private"}
    show_audit.click(audit, [lang, who, about, since], trail, **private)
    verify.click(check, lang, verified, **private)
    listed = [table, brands, *package_outputs]
    add.click(add_user, [lang, name, role, brands, password], [status, password],
              **private).then(listing, lang, listed, **private)
    remove.click(remove_user, [lang, name], status, **private).then(
        listing, lang, listed, **private)
    create.click(create_brand, [lang, brand], [status, brand], **private).then(
        listing, lang, listed, **private)
    return listing, listed
