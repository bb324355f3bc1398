"""Signed brand packages on the page: a right holder downloads one of their brand (in the
gallery tab); an admin imports one and sees every brand's trusted keys and imported packages
(in the users tab). Trusting and revoking keys stays on the server's command line
(``ipr-vision keys``), where the admin compares the fingerprint with the right holder's."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import gradio as gr

from ...errors import PackageError
from ...packages import FULL
from ...results import PackageImport
from .common import Refused, Ui, bilingual, md, said, shown, utc_time
from .i18n import t
from .render import download_link


def build_export(ui: Ui, lang: Any, brand: Any) -> None:
    """The right holder's part, for the gallery tab's ``brand``: download a package, and the
    packages written so far (whose numbers a delta is taken from)."""
    with gr.Accordion("export", open=False, elem_id="package-export-box") as box:
        ui.text(box, "export_title")
        ui.text(gr.Markdown(elem_id="package-export-help"), "export_help", "value")
        with gr.Row(equal_height=True):
            # A text box, not gr.Number: a number box shows 0 when empty, which its minimum
            # of 1 marks invalid (a red border) before anything is typed.
            since = ui.text(gr.Textbox(label="since", max_lines=1, elem_id="package-since"),
                            "export_since")
            export = ui.text(gr.Button("Download", variant="primary",
                                       elem_id="package-export"), "export_button", "value")
        link = gr.HTML(elem_id="package-download")
        written = ui.text(gr.Dataframe(label="written", interactive=False, wrap=True,
                                       elem_id="package-written"), "written_table")

    def listing(lang: str, brand: str | None, request: gr.Request) -> Any:
        with shown(lang):
            made = ui.service.packages(ui.user(request), brand)[1] if brand else []
            rows = [[p.sequence, _kind(lang, p.kind, p.since), p.created_at, p.created_by,
                     f"{p.key[:16]}…"] for p in reversed(made)]
            header = [t(lang, c) for c in ("col_seq", "col_kind", "col_time", "col_by",
                                           "col_key")]
            return gr.update(value=rows, headers=header)

    def run(lang: str, brand: str | None, since: str | None,
            request: gr.Request) -> tuple[str, Any]:
        with shown(lang):
            if not brand:
                raise Refused("choose_brand")
            number = (since or "").strip().lstrip("#")
            if number and not (number.isdecimal() and int(number) >= 1):
                raise Refused("export_since_bad")
            user = ui.user(request)
            folder = ui.private.new_path(user.name, "package.zip").parent
            made = ui.service.export_package(user, brand, folder,
                                             int(number) if number else None)
            url = ui.private.url(Path(made.path))

            def made_here(lang: str) -> str:
                summary = t(lang, "export_summary", brand=made.brand, seq=made.sequence,
                            kind=_kind(lang, made.kind, made.since), refs=made.references,
                            withdrawn=made.withdrawn, size=_size(made.bytes),
                            fingerprint=f"{made.key[:16]}…")
                text = t(lang, "export_file", brand=made.brand, seq=made.sequence)
                return (download_link(url, text)
                        + f'<div class="ipr-muted">{html.escape(summary)}</div>')

            return bilingual(made_here), listing(lang, brand, request)

    private = {"api_visibility": "private"}
    brand.change(listing, [lang, brand], written, **private)
    lang.change(listing, [lang, brand], written, **private)
    export.click(run, [lang, brand, since], [link, written], **private)


def build_admin(ui: Ui, lang: Any) -> tuple[Any, list[Any]]:
    """The admin's part, for the users tab: import a package and see the report, the keys
    trusted per brand and the packages imported. Returns the tables' refresh and outputs."""
    with gr.Accordion("packages", open=False, elem_id="packages") as box:
        ui.text(box, "packages_title")
        with gr.Row():
            upload = ui.text(gr.File(label="package", file_types=[".zip"],
                                     elem_id="packages-file"), "import_file")
            with gr.Column():
                run = ui.text(gr.Button("Import", variant="primary",
                                        elem_id="packages-import"), "import_button", "value")
                report = gr.Markdown(elem_id="packages-report")
        keys = ui.text(gr.Dataframe(label="keys", interactive=False, wrap=True,
                                    elem_id="packages-keys"), "keys_table")
        ui.text(gr.Markdown(elem_id="packages-keys-help"), "keys_help", "value")
        imported = ui.text(gr.Dataframe(label="imported", interactive=False, wrap=True,
                                        elem_id="packages-imported"), "imported_table")

    def tables(lang: str, request: gr.Request) -> tuple[Any, Any]:
        with shown(lang):
            user = ui.user(request)
            key_rows = [[k.brand, f"{k.fingerprint[:16]}…", k.name, k.added_by, k.added_at,
                         t(lang, "key_active") if k.active else t(
                             lang, "key_revoked", at=k.revoked_at, reason=k.revoke_reason)]
                        for k in ui.service.trusted_keys(user)]
            package_rows = [[o.brand, o.sequence, f"{o.key[:16]}…", o.signed_by, o.signed_at,
                             o.imported_by, o.imported_at]
                            for brand in ui.service.brands(user)
                            for o in ui.service.packages(user, brand)[0]]
            return (gr.update(value=key_rows, headers=[t(lang, c) for c in (
                        "col_brand", "col_key", "col_key_name", "col_trusted_by",
                        "col_trusted_at", "col_state")]),
                    gr.update(value=package_rows, headers=[t(lang, c) for c in (
                        "col_brand", "col_seq", "col_key", "col_signed_by", "col_signed_at",
                        "col_imported_by", "col_imported_at")]))

    def apply(lang: str, path: str | None, request: gr.Request) -> tuple[str, None]:
        with shown(lang):
            if not path:
                raise Refused("choose_file")
            try:
                done = ui.service.import_package(ui.user(request), Path(path))
            except PackageError as refused:  # a verdict on the file, shown as the report
                return said("import_refused", reason=str(refused)), None
            return bilingual(lambda lang: _report(lang, done)), None

    private = {"api_visibility": "private"}
    run.click(apply, [lang, upload], [report, upload], **private).then(
        tables, lang, [keys, imported], **private)
    return tables, [keys, imported]


def _report(lang: str, done: PackageImport) -> str:
    """What an import did, a line each: which package, who signed it, and what changed."""
    if done.status != "applied":
        lines = [md(lang, "import_already", brand=done.brand, seq=done.sequence)]
    else:
        lines = [md(lang, "import_applied", brand=done.brand, seq=done.sequence,
                    kind=_kind(lang, done.kind, None),
                    added=len(done.added), changed=len(done.changed),
                    withdrawn=len(done.withdrawn))]
    lines.append(md(lang, "import_signed", by=done.signed_by, at=utc_time(done.signed_at),
                    fingerprint=f"{done.key[:16]}…"))
    if done.kept_local:
        lines.append(t(lang, "import_kept", n=len(done.kept_local)))
    if done.reembedded:
        lines.append(t(lang, "import_reembedded"))
    return "\n\n".join(lines)


def _size(count: int) -> str:
    """A package's size as people read it: a small delta is some kB, a brand some MB."""
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{max(1, round(count / 1e3))} kB"


def _kind(lang: str, kind: str, since: int | None) -> str:
    if kind == FULL:
        return t(lang, "kind_full")
    return t(lang, "kind_since", since=since) if since is not None else t(lang, "kind_delta")
