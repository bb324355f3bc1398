"""Inspect (officers): photos of one item in, a suggestion with its evidence out, recorded.

An inspection is one item. Pressing Inspect records the photos in the upload list and clears
it; more photos of the same item pressed in later join the same record (photos it already
holds are not recorded twice, so a second click adds nothing); New inspection starts the next
item. The item's suggestion is derived from its photos' by :func:`~ipr_vision.core.item.
item_verdict`; each photo's own result stays one click away.

When the officer does not know the brand, "What is this item?" (issue 18) asks the app: the
first photo's three most similar products across the brands the officer may inspect are shown
with their similarity, and the item is inspected under the first, its product proposed; the
brand box and the verdict card then say the brand was the app's proposal.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from ...core.suggest import ItemCandidate
from ...domain import Inspection
from ...errors import IprVisionError
from ...results import Explanation, Suggestion
from ..inspected import InspectionOutcome
from .common import Refused, Ui, bilingual, detail, dropdown, md, said, shown
from .explain_view import explanation_views, plain
from .i18n import t
from .render import (
    compare_strip,
    confident,
    download_link,
    html_table,
    item_card,
    match_items,
    notes_markdown,
    origins_markdown,
    photo_product,
    recorded_error,
    verdict_card,
    verdict_text,
    write_csv,
)


@dataclass
class Session:
    """One officer's current inspection, kept server-side between clicks: the record and the
    live results of its photos, in the record's order."""

    outcome: InspectionOutcome
    explained: dict[int, Explanation | IprVisionError] = field(default_factory=dict)
    #: What the app proposed the item is, best first, when the officer did not name the
    #: brand (empty when they did): the brand of the first is the one inspected.
    candidates: list[ItemCandidate] = field(default_factory=list)
    #: The photo on screen, as the server last drew it: a language switch redraws this one,
    #: not the photo box's value, which the page may have sent before the results arrived.
    shown: int = 0

    def joined(self, more: InspectionOutcome) -> Session:
        """The session after more photos of the item were recorded."""
        return Session(InspectionOutcome(more.inspection, [*self.outcome.results,
                                                           *more.results]), self.explained,
                       self.candidates)


@dataclass
class InspectTab:
    brand: Any
    #: Re-renders the shown results in another language: (handler, inputs, outputs).
    rerender: tuple[Any, list[Any], list[Any]]


#: On a phone the results lie below the photo boxes: once shown, the item's verdict is
#: scrolled to the top, so it is the first thing the officer sees.
_SHOW_VERDICT = """() => { if (window.innerWidth <= 640) {
  document.querySelector('#inspect-item')?.scrollIntoView({block: 'start'}); } }"""

#: Locks that serialise one browser session's inspections (striped: bounded memory), so a
#: second click sent before the first finished waits and then finds its photos recorded.
_LOCKS = tuple(threading.Lock() for _ in range(64))


def build(ui: Ui, lang: Any) -> InspectTab:
    session = gr.State(None)
    #: The inspection each browser session is adding to, by Gradio's session hash: what a
    #: click still in flight when the first one recorded cannot see in its (older) state.
    current: dict[str, str] = {}
    identify = ui.text(gr.Checkbox(value=False, label="identify", elem_id="inspect-identify"),
                       "identify")
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
    with gr.Row():
        run = ui.text(gr.Button("Inspect", variant="primary", elem_id="inspect-run"),
                      "inspect_button", "value")
        new = ui.text(gr.Button("New inspection", visible=False, elem_id="inspect-new"),
                      "new_inspection", "value")
    with gr.Column(visible=False, elem_id="inspect-results") as results:
        recorded = gr.Markdown(elem_id="inspect-recorded")
        candidates = gr.Markdown(elem_id="inspect-candidates")
        item = gr.HTML(elem_id="inspect-item")
        which = ui.text(gr.Dropdown(label="show", choices=[], visible=False,
                                    elem_id="inspect-which"), "show_photo")
        card = gr.HTML(elem_id="inspect-verdict")
        compare = gr.HTML(elem_id="inspect-compare")
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
            evidence_file = gr.HTML(elem_id="inspect-evidence-file")
        ui.text(gr.Markdown(elem_id="inspect-table-title"), "batch_table", "value")
        table = gr.HTML(elem_id="inspect-table")
        csv_file = gr.HTML(elem_id="inspect-csv")

    def products(lang: str, brand: str | None, propose: bool, identify: bool,
                 request: gr.Request) -> Any:
        """The brand's products; none chosen while the app proposes one (a greyed product that
        the inspection would not use is a contradiction on screen). A brand the app proposed
        comes with the product it proposed, which stays."""
        with shown(lang):
            if not brand:
                return dropdown([])
            found = ui.service.products(ui.user(request), brand)
            if identify:
                return gr.update(choices=found)
            return gr.update(choices=found, value=None) if propose else dropdown(found)

    def identifying(on: bool, propose: bool) -> tuple[Any, Any, Any]:
        """While the app proposes the brand, the brand box is the app's (emptied until it
        has proposed one) and so is the product."""
        return (gr.update(interactive=not on, value=None) if on else gr.update(interactive=True),
                gr.update(interactive=not on), gr.update(interactive=not (on or propose)))

    def proposal(lang: str, found: list[ItemCandidate]) -> str:
        """The products the item most resembles, with their similarity, best first."""
        if not found:
            return ""
        lines = [f"**{t(lang, 'identify_title')}**", ""]
        lines += [f"{n}. " + md(lang, "identify_line", brand=c.brand, product=c.product,
                                similarity=c.similarity) for n, c in enumerate(found, start=1)]
        return "\n".join([*lines, "", t(lang, "identify_used")])

    def run_inspection(lang: str, identify: bool, brand: str | None, propose: bool,
                       product: str | None, photos: list[str] | None, camera: str | None,
                       state: Session | None, request: gr.Request,
                       progress: gr.Progress = gr.Progress()  # noqa: B008
                       ) -> tuple[Any, ...]:
        with shown(lang):
            user = ui.user(request)
            sources = [Path(p) for p in [*(photos or []), *([camera] if camera else [])]]
            found = state.candidates if state else []
            if identify and state:  # more photos of the item: the brand it was inspected as
                brand = state.outcome.inspection.brand
            elif identify:
                if not sources:
                    raise Refused("no_photo")
                found = ui.service.identify(user, sources[0])
                if not found:
                    raise Refused("choose_brand")
                brand = found[0].brand
            if not brand:
                raise Refused("choose_brand")
            if not sources:
                raise Refused("no_photo")
            key = request.session_hash or user.name
            with _LOCKS[hash(key) % len(_LOCKS)]:
                outcome = ui.service.inspect(
                    user, brand, None if propose or identify else product, sources,
                    lambda done, total: progress(
                        (done, total), desc=t(lang, "progress", done=done, total=total)),
                    inspection_id=state.outcome.inspection.id if state else current.get(key))
                current[key] = outcome.inspection.id
            inspection = outcome.inspection
            if not outcome.results:  # all recorded already: what is shown stays as it is
                return (gr.skip(), gr.skip(), said("nothing_new", id=inspection.id),
                        *(gr.skip() for _ in range(len(detail_outputs) + 5)), None, None,
                        gr.update(visible=True), gr.skip(), gr.skip())
            joined = state.joined(outcome) if state else Session(outcome, candidates=found)
            first_new = len(joined.outcome.results) - len(outcome.results)
            shown_first = joined.shown = next(
                (n for n, (_, r) in enumerate(joined.outcome.results)
                 if n >= first_new and isinstance(r, Suggestion)), first_new)
            names = photo_choices(lang, inspection)
            rows, header = photo_rows(lang, inspection)
            csv_path = write_csv(ui.private.new_path(user.name, f"inspection-{inspection.id}.csv"),
                                 header, rows)
            return (gr.update(visible=True), joined,
                    md(lang, "item_recorded", id=inspection.id, n=len(inspection.photos)),
                    item_card(lang, inspection, ui.service.item_verdict(inspection)),
                    gr.update(choices=names, value=shown_first, visible=len(names) > 1),
                    *details(lang, joined, shown_first, request),
                    html_table(header, rows),
                    _link(ui.private.url(csv_path), "batch_csv"), "", None, None,
                    gr.update(visible=True),
                    gr.update(value=brand) if joined.candidates else gr.skip(),
                    proposal(lang, joined.candidates))

    def new_inspection(propose: bool, identify: bool, request: gr.Request) -> tuple[Any, ...]:
        """Forget the current item: the next Inspect starts a new record (and a brand or
        product the app proposed for the last item is no longer shown)."""
        current.pop(request.session_hash or ui.user(request).name, None)
        return (gr.update(visible=False), None, "", "", gr.update(choices=[], visible=False),
                *(gr.update(visible=False) if shown is where or shown is evidence
                  else gr.update(value=None) for shown in detail_outputs[:-1]),
                gr.update(value=None) if propose or identify else gr.skip(), "", "", "", None,
                None, gr.update(visible=False),
                gr.update(value=None) if identify else gr.skip(), "")

    def photo_rows(lang: str, inspection: Inspection) -> tuple[list[list[Any]], list[str]]:
        """Each photo of the inspection for the table and its CSV, under the item's id."""
        rows = [[inspection.id, p.name, verdict_text(lang, p.verdict),
                 round(p.p_counterfeit, 3) if confident(p.verdict) and p.p_counterfeit is not None
                 else "", photo_product(lang, p),
                 t(lang, "photo_unreadable", reason=recorded_error(lang, p)) if p.error
                 else plain(lang, (p.suggestion or {}).get("reason", ""))]
                for p in inspection.photos]
        header = [t(lang, k) for k in ("col_id", "col_photo", "col_verdict", "col_p",
                                       "col_product", "col_reason")]
        return rows, header

    def details(lang: str, state: Session | None, index: int | None,
                request: gr.Request) -> tuple[Any, ...]:
        """Everything shown for one photo of the inspection, and the product it was compared
        with when the app proposed it (so the product box shows the product used)."""
        hidden = gr.update(value=None, visible=False)
        no_matches = gr.update(value=[], visible=False)  # not an empty frame: nothing to show
        # The evidence button only under a photo with a suggestion: a pack is of that photo.
        empty: tuple[Any, ...] = ("", "", no_matches, no_matches, "", gr.update(visible=False),
                                  hidden, hidden, hidden, "", gr.update(visible=False),
                                  gr.skip())
        if state is None or index is None or index >= len(state.outcome.results):
            return empty
        inspected = state.outcome.judged(index)
        if isinstance(inspected, IprVisionError):
            unreadable = html.escape(t(lang, "photo_unreadable", reason=detail(lang, inspected)))
            return (f'<div class="ipr-verdict ipr-inconclusive">{unreadable}</div>', *empty[1:])
        photo, result = inspected
        if index not in state.explained:
            try:
                state.explained[index] = ui.service.explain(ui.user(request), photo, result)
            except IprVisionError as error:
                state.explained[index] = error
        origins = origins_markdown(lang, result)
        # A proposed brand's products are not in the box yet: its choices come with the value.
        proposed = (gr.update(value=result.product, choices=ui.service.products(
            ui.user(request), state.outcome.inspection.brand)) if state.candidates
            else gr.update(value=result.product))
        return (verdict_card(lang, result, state.candidates),
                compare_strip(lang, photo.image, result),
                *(gr.update(value=match_items(lang, matches), visible=bool(matches))
                  for matches in (result.nearest_genuine, result.nearest_fake)),
                "**" + t(lang, "notes") + "**\n\n" + notes_markdown(lang, result)
                + (f"\n\n{origins}" if origins else ""), gr.update(visible=True),
                *explanation_views(lang, state.explained[index]), gr.update(visible=True),
                proposed if result.product_proposed else gr.skip())

    def show(lang: str, state: Session | None, index: int | None,
             request: gr.Request) -> tuple[Any, ...]:
        """Another photo of the item; the link to the last photo's evidence pack goes."""
        if state is not None and index is not None:
            state.shown = index
        with shown(lang):
            return (*details(lang, state, index, request), "")

    def redraw(lang: str, state: Session | None, request: gr.Request) -> tuple[Any, ...]:
        """The item, the photo shown and the table of its photos, in another language.

        The switch at page load runs this too, while an officer's first inspection may already
        be landing: so it redraws what the server last drew (the session's photo ``shown``),
        and with nothing drawn yet it leaves the page alone rather than emptying it."""
        if state is None:
            return tuple(gr.skip() for _ in redrawn)
        with shown(lang):
            inspection = state.outcome.inspection
            rows, header = photo_rows(lang, inspection)
            return (md(lang, "item_recorded", id=inspection.id, n=len(inspection.photos)),
                    item_card(lang, inspection, ui.service.item_verdict(inspection)),
                    gr.update(choices=photo_choices(lang, inspection)),
                    *details(lang, state, state.shown, request), html_table(header, rows),
                    proposal(lang, state.candidates))

    def photo_choices(lang: str, inspection: Inspection) -> list[tuple[str, int]]:
        return [(t(lang, "photo_of", n=n + 1, total=len(inspection.photos), name=p.name), n)
                for n, p in enumerate(inspection.photos)]

    def pack(lang: str, state: Session | None, index: int | None, request: gr.Request) -> Any:
        with shown(lang):
            if state is None:
                raise Refused("no_photo")
            inspected = state.outcome.judged(index or 0)
            if isinstance(inspected, IprVisionError):
                raise inspected
            photo, result = inspected
            explanation = state.explained.get(index or 0)
            user = ui.user(request)
            archive = ui.service.evidence_pack(
                user, state.outcome.inspection.id, photo, result,
                explanation if isinstance(explanation, Explanation) else None,
                ui.private.new_path(user.name, "evidence.zip").parent)
            return _link(ui.private.url(archive), "evidence_file")

    detail_outputs = [card, compare, genuine, fake, notes, where, heat, aligned, points,
                      explained, evidence, product]
    choosing = [lang, brand, propose, identify]
    brand.change(products, choosing, product, api_visibility="private")
    propose.change(products, choosing, product, api_visibility="private").then(
        lambda p: gr.update(interactive=not p), propose, product, api_visibility="private")
    identify.change(identifying, [identify, propose], [brand, propose, product],
                    api_visibility="private")
    run_outputs = [results, session, recorded, item, which, *detail_outputs, table, csv_file,
                   evidence_file, photos, camera, new, brand, candidates]
    # trigger_mode "once": a second click while the first is running is not sent (and one
    # that is sent anyway waits for the first under its session's lock, then finds nothing new).
    # The button says it is working and is disabled while the photos are inspected (their
    # progress shows meanwhile), and comes back whatever happened: .then after a success,
    # .failure after an error (Gradio 6 does not run .then after one).
    inspecting = run.click(
        lambda lang: gr.update(interactive=False, value=t(lang, "inspecting")), lang, run,
        api_visibility="private", queue=False, trigger_mode="once").then(
        run_inspection, [lang, identify, brand, propose, product, photos, camera, session],
        run_outputs,
        api_visibility="private", concurrency_limit=2)
    for after in (inspecting.then, inspecting.failure):
        after(lambda lang: gr.update(interactive=True, value=t(lang, "inspect_button")), lang,
              run, api_visibility="private", queue=False)
    inspecting.success(None, js=_SHOW_VERDICT)
    new.click(new_inspection, [propose, identify], run_outputs, api_visibility="private")
    which.input(show, [lang, session, which], [*detail_outputs, evidence_file],
                api_visibility="private")
    evidence.click(pack, [lang, session, which], evidence_file, api_visibility="private")
    redrawn = [recorded, item, which, *detail_outputs, table, candidates]
    return InspectTab(brand, (redraw, [lang, session], redrawn))


def _link(url: str, key: str) -> str:
    """A download link, its text in both languages: nothing rewrites it on a switch."""
    return bilingual(lambda lang: download_link(url, t(lang, key)))
