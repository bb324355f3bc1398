"""Users and brands (admins), the audit trail (who did what when, and whether the chain of
entries is still intact), and signed brand packages (:mod:`.packages_ui`).

Adding a user and changing one are apart: a user is changed, given a new password or removed
only once chosen from the list of users, never by whatever name is typed to add one, and
removing a user or a brand asks first. Every action reports beside its own button.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from ...domain import Role
from . import packages_ui
from .common import (
    Refused,
    Ui,
    bilingual,
    choices,
    confirm_box,
    hidden,
    md,
    noted,
    said,
    shown,
    warning,
)
from .i18n import t

_ROLES = tuple((f"role_{r}", r.value) for r in Role)


def build(ui: Ui, lang: Any) -> tuple[Any, Any]:
    """Returns a refresh callable for when the tab opens, and what it fills."""
    table = ui.text(gr.Dataframe(label="users", interactive=False, elem_id="users-table"),
                    "users_table")
    with gr.Accordion("add", open=True, elem_id="users-add-box") as add_box:
        ui.text(add_box, "users_add_title")
        with gr.Row():
            name = ui.text(gr.Textbox(label="name", elem_id="users-name"), "user_name")
            role = _role(ui, "users-role")
            brands = ui.text(gr.Dropdown(choices=[], multiselect=True, label="brands",
                                         elem_id="users-brands"), "user_brands")
            password = ui.text(gr.Textbox(label="password", type="password",
                                          elem_id="users-password"), "user_password")
        add = ui.text(gr.Button("Add", variant="primary", elem_id="users-add"), "add_user",
                      "value")
        add_status = gr.Markdown(elem_id="users-status")
    with gr.Accordion("change", open=True, elem_id="users-change-box") as change_box:
        ui.text(change_box, "users_change_title")
        with gr.Row():
            pick = ui.text(gr.Dropdown(choices=[], label="user", elem_id="users-pick"),
                           "user_pick")
            edit_role = _role(ui, "users-edit-role")
            edit_brands = ui.text(gr.Dropdown(choices=[], multiselect=True, label="brands",
                                              elem_id="users-edit-brands"), "user_brands")
        save = ui.text(gr.Button("Save", elem_id="users-save"), "save_user", "value")
        save_status = gr.Markdown(elem_id="users-save-status")
        with gr.Row(equal_height=True):
            new_password = ui.text(gr.Textbox(label="password", type="password",
                                              elem_id="users-new-password"), "new_password")
            reset = ui.text(gr.Button("Set", elem_id="users-reset"), "reset_password",
                            "value")
        reset_status = gr.Markdown(elem_id="users-reset-status")
        remove = ui.text(gr.Button("Remove", variant="stop", elem_id="users-remove"),
                         "remove_user", "value")
        remove_status = gr.Markdown(elem_id="users-remove-status")
        user_confirm = confirm_box(ui, "users-user")
    with gr.Accordion("brands", open=True, elem_id="users-brands-box") as brands_box:
        ui.text(brands_box, "brands_title")
        with gr.Row(equal_height=True):
            brand = ui.text(gr.Textbox(label="brand", elem_id="users-new-brand"), "new_brand")
            create = ui.text(gr.Button("Create brand", elem_id="users-create-brand"),
                             "create_brand", "value")
        create_status = gr.Markdown(elem_id="users-brand-status")
        with gr.Row(equal_height=True):
            old_brand = ui.text(gr.Dropdown(choices=[], label="brand",
                                            elem_id="users-brand-pick"), "brand_pick")
            why = ui.text(gr.Textbox(label="why", elem_id="users-brand-reason"),
                          "brand_reason")
            drop = ui.text(gr.Button("Remove brand", variant="stop",
                                     elem_id="users-remove-brand"), "remove_brand", "value")
        drop_status = gr.Markdown(elem_id="users-remove-brand-status")
        brand_confirm = confirm_box(ui, "users-brand")
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
        audited = gr.State(None)  # the filters of the trail on screen (None: none shown)
        trail = ui.text(gr.Dataframe(label="audit", interactive=False, wrap=True,
                                     elem_id="audit-table"), "audit_title")
    package_tables, package_outputs = packages_ui.build_admin(ui, lang)

    def listing(lang: str, request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            user = ui.user(request)
            users = ui.service.list_users(user)
            rows = [[u.name, t(lang, f"role_{u.role}"), ", ".join(u.brands), u.created_at]
                    for u in users]
            header = [t(lang, c) for c in ("col_name", "col_role", "col_brands", "col_created")]
            names = [u.name for u in users]
            known = ui.service.brands(user)
            return (gr.update(value=rows, headers=header), gr.update(choices=known),
                    gr.update(choices=known), gr.update(choices=names),
                    gr.update(choices=known), *package_tables(lang, request))

    def add_user(name: str, role: str, brands: list[str] | None, password: str,
                 request: gr.Request) -> tuple[str, str]:
        with noted() as problem:
            ui.service.add_user(ui.user(request), name.strip(), role, password, brands or [])
            return said("user_added", name=name.strip()), ""
        return warning(problem.error), gr.update()

    def chosen(name: str | None, request: gr.Request) -> tuple[Any, Any, str]:
        """Fill the change form with the chosen user's role and brands."""
        with noted() as problem:
            found = {u.name: u for u in ui.service.list_users(ui.user(request))}.get(name or "")
            if found is None:
                return gr.update(), gr.update(value=[]), ""
            return found.role.value, list(found.brands), ""
        return gr.update(), gr.update(), warning(problem.error)

    def edit_user(name: str | None, role: str, brands: list[str] | None,
                  request: gr.Request) -> str:
        with noted() as problem:
            if not name:
                raise Refused("user_choose")
            edited = ui.service.edit_user(ui.user(request), name, role, brands or [])
            return bilingual(lambda lang: md(lang, "user_edited", name=edited.name,
                                             role=t(lang, f"role_{edited.role}")))
        return warning(problem.error)

    def reset_password(name: str | None, password: str,
                       request: gr.Request) -> tuple[str, Any]:
        with noted() as problem:
            if not name:
                raise Refused("user_choose")
            ui.service.reset_password(ui.user(request), name, password)
            return said("password_reset", name=name), ""
        return warning(problem.error), gr.update()

    def ask_user(name: str | None) -> tuple[Any, str, str]:
        if not name:
            return hidden(), "", warning(Refused("user_choose"))
        return gr.update(visible=True), said("user_confirm", name=name), ""

    def remove_user(name: str | None, request: gr.Request) -> tuple[Any, str, Any]:
        with noted() as problem:
            if not name:
                raise Refused("user_choose")
            removed = ui.service.remove_user(ui.user(request), name)
            return (hidden(), said("user_removed" if removed else "user_missing", name=name),
                    gr.update(value=None))  # no longer a choice
        return hidden(), warning(problem.error), gr.update()

    def create_brand(name: str, request: gr.Request) -> tuple[str, Any]:
        with noted() as problem:
            ui.service.add_brand(ui.user(request), name.strip())
            return said("brand_created", brand=name.strip()), ""
        return warning(problem.error), gr.update()

    def ask_brand(name: str | None, why: str,
                  request: gr.Request) -> tuple[Any, str, str]:
        with noted() as problem:
            if not name:
                raise Refused("brand_choose")
            if not why.strip():
                raise Refused("brand_reason_needed")
            count = len(ui.service.references(ui.user(request), name))
            return (gr.update(visible=True),
                    said("brand_confirm", brand=name, count=count, reason=why.strip()), "")
        return hidden(), "", warning(problem.error)

    def remove_brand(name: str | None, why: str,
                     request: gr.Request) -> tuple[Any, str, Any, Any]:
        with noted() as problem:
            if not name:
                raise Refused("brand_choose")
            count = ui.service.remove_brand(ui.user(request), name, why)
            return (hidden(), said("brand_removed", brand=name, count=count), "",
                    gr.update(value=None))  # no longer a choice
        return hidden(), warning(problem.error), gr.update(), gr.update()

    def audit(lang: str, who: str, about: str, since: str,
              request: gr.Request) -> tuple[Any, tuple[str, str, str]]:
        """The trail, filtered, and the filters (to show the same entries in another
        language)."""
        with shown(lang):
            entries = ui.service.audit_entries(ui.user(request), actor=who.strip() or None,
                                               brand=about.strip() or None,
                                               since=since.strip() or None)
            rows = [[e.seq, e.at, e.actor, t(lang, f"role_{e.role}"),
                     f"{e.via} {e.client}".strip(), t(lang, f"action_{e.action}"),
                     e.brand or "", e.target or "",
                     json.dumps(e.detail, ensure_ascii=False) if e.detail else ""]
                    for e in entries]
            header = [t(lang, c) for c in ("col_seq", "col_time", "col_actor", "col_role",
                                           "col_via", "col_action", "col_brand", "col_target",
                                           "col_details")]
            return gr.update(value=rows, headers=header), (who, about, since)

    def audit_again(lang: str, shown_filters: tuple[str, str, str] | None,
                    request: gr.Request) -> tuple[Any, Any]:
        if shown_filters is None:
            return gr.update(), gr.update()
        return audit(lang, *shown_filters, request)

    def check(lang: str, request: gr.Request) -> str:
        with shown(lang):
            result = ui.service.verify_audit(ui.user(request))
            if result.ok:
                return said("audit_ok", n=result.entries, head=result.head)
            return said("audit_broken", n=result.entries, broken=result.broken or "")

    private = {"api_visibility": "private"}
    show_audit.click(audit, [lang, who, about, since], [trail, audited], **private)
    lang.change(audit_again, [lang, audited], [trail, audited], **private)
    verify.click(check, lang, verified, **private)
    listed = [table, brands, edit_brands, pick, old_brand, *package_outputs]
    add.click(add_user, [name, role, brands, password], [add_status, password],
              **private).then(listing, lang, listed, **private)
    pick.change(chosen, [pick], [edit_role, edit_brands, save_status], **private)
    save.click(edit_user, [pick, edit_role, edit_brands], save_status, **private).then(
        listing, lang, listed, **private)
    reset.click(reset_password, [pick, new_password], [reset_status, new_password],
                **private)
    remove.click(ask_user, [pick],
                 [user_confirm.box, user_confirm.question, remove_status], **private)
    user_confirm.yes.click(remove_user, [pick], [user_confirm.box, remove_status, pick],
                           **private).then(listing, lang, listed, **private)
    create.click(create_brand, [brand], [create_status, brand], **private).then(
        listing, lang, listed, **private)
    drop.click(ask_brand, [old_brand, why],
               [brand_confirm.box, brand_confirm.question, drop_status], **private)
    brand_confirm.yes.click(remove_brand, [old_brand, why],
                            [brand_confirm.box, drop_status, why, old_brand], **private).then(
        listing, lang, listed, **private)
    return listing, listed


def _role(ui: Ui, elem_id: str) -> Any:
    """A role dropdown, its choices in the page's language."""
    return ui.choices(ui.text(gr.Dropdown(choices=choices("en", _ROLES), value="officer",
                                          label="role", elem_id=elem_id), "user_role"), _ROLES)
