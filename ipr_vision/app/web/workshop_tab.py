"""Workshop (trainers): genuine and fake side by side, and a spot-the-fake quiz."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from PIL import Image

from ...errors import IprVisionError
from .common import Ui, dropdown, plain, shown
from .i18n import t


@dataclass
class Quiz:
    """A trainee's quiz in progress: which references, and the answers so far."""

    ref_ids: list[int]
    answers: list[str | None] = field(default_factory=list)


def build(ui: Ui, lang: Any) -> Any:
    """Returns the brand dropdown, filled by the app when a user logs in."""
    quiz = gr.State(None)
    with gr.Row():
        brand = ui.text(gr.Dropdown(label="Brand", choices=[], elem_id="workshop-brand"), "brand")
        product = ui.text(gr.Dropdown(label="Product", choices=[], elem_id="workshop-product"),
                          "product")
    with gr.Accordion("compare", open=True) as compare:
        ui.text(compare, "compare")
        with gr.Row():
            find = ui.text(gr.Button("Find pairs", elem_id="workshop-find"), "load_pairs",
                           "value")
            pairs = ui.text(gr.Dropdown(label="pairs", choices=[], elem_id="workshop-pairs"),
                            "pairs")
        with gr.Row():
            left = ui.text(gr.Image(label="genuine", interactive=False,
                                    elem_id="workshop-left"), "left_genuine")
            right = ui.text(gr.Image(label="fake", interactive=False,
                                     elem_id="workshop-right"), "right_fake")
        pair_notes = gr.Markdown(elem_id="workshop-pair-notes")
    with gr.Accordion("quiz", open=True) as quiz_box:
        ui.text(quiz_box, "quiz")
        with gr.Row():
            size = ui.text(gr.Slider(2, 20, value=6, step=2, label="size",
                                     elem_id="workshop-size"), "quiz_size")
            start = ui.text(gr.Button("Start", variant="primary", elem_id="workshop-start"),
                            "quiz_start", "value")
        question = gr.Markdown(elem_id="workshop-question")
        shot = gr.Image(interactive=False, show_label=False, elem_id="workshop-shot", height=420)
        with gr.Row():
            say_genuine = ui.text(gr.Button("Genuine", elem_id="workshop-genuine"),
                                  "answer_genuine", "value")
            say_fake = ui.text(gr.Button("Fake", elem_id="workshop-fake"), "answer_fake",
                               "value")
        results = ui.text(gr.Gallery(label="results", columns=4, visible=False,
                                     elem_id="workshop-results"), "quiz_results")

    def products(lang: str, brand: str | None, request: gr.Request) -> Any:
        with shown(lang):
            return dropdown(ui.service.products(ui.user(request), brand) if brand else [])

    def find_pairs(lang: str, brand: str | None, product: str | None,
                   request: gr.Request) -> Any:
        with shown(lang):
            if not brand or not product:
                raise IprVisionError(t(lang, "choose_brand"))
            found = ui.service.confusable_pairs(ui.user(request), brand, product)
            if not found:
                raise IprVisionError(t(lang, "no_pairs"))
            options = [(t(lang, "pair_choice", g=g.id, f=f.id, s=s), f"{g.id},{f.id}")
                       for g, f, s in found]
            return gr.update(choices=options, value=options[0][1])

    def show_pair(lang: str, pair: str | None, request: gr.Request) -> tuple[Any, Any, str]:
        with shown(lang):
            if not pair:
                return None, None, ""
            user = ui.user(request)
            ids = [int(v) for v in pair.split(",")]
            refs = [ui.service.reference(user, i) for i in ids]
            notes = "\n\n".join(f"**#{r.id} {t(lang, r.label)}**: {plain(r.note) or '–'}"
                                  for r in refs)
            return ui.service.photo(user, ids[0]), ui.service.photo(user, ids[1]), notes

    def begin(lang: str, brand: str | None, product: str | None, size: float,
              request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            if not brand:
                raise IprVisionError(t(lang, "choose_brand"))
            drawn = ui.service.quiz(ui.user(request), brand, product, int(size),
                                    secrets.randbits(32))
            state = Quiz([r.id for r in drawn])
            return (state, *ask(lang, state, request), gr.update(value=[], visible=False))

    def ask(lang: str, state: Quiz, request: gr.Request) -> tuple[str, Image.Image | None]:
        n = len(state.answers)
        image = ui.service.photo(ui.user(request), state.ref_ids[n])
        image.thumbnail((900, 900))
        return t(lang, "quiz_question", n=n + 1, total=len(state.ref_ids)), image

    def answer(lang: str, state: Quiz | None, said: str,
               request: gr.Request) -> tuple[Any, ...]:
        with shown(lang):
            if state is None or len(state.answers) >= len(state.ref_ids):
                return state, t(lang, "quiz_idle"), None, gr.update()
            state.answers.append(said)
            if len(state.answers) < len(state.ref_ids):
                return (state, *ask(lang, state, request), gr.update())
            user = ui.user(request)
            result = ui.service.grade_quiz(user, state.ref_ids, state.answers)
            items = []
            for a in result.answers:
                image = ui.service.photo(user, a.reference.id)
                image.thumbnail((480, 480))
                verdict = t(lang, "quiz_right" if a.correct else "quiz_wrong")
                items.append((image, f"{verdict} · " + t(
                    lang, "quiz_answer", id=a.reference.id,
                    answer=t(lang, a.answer) if a.answer else t(lang, "quiz_skipped"),
                    label=t(lang, a.reference.label), note=a.reference.note)))
            return (state, "### " + t(lang, "quiz_score", score=result.score, total=result.total),
                    None, gr.update(value=items, visible=True))

    private = {"api_visibility": "private"}
    brand.change(products, [lang, brand], product, **private)
    find.click(find_pairs, [lang, brand, product], pairs, **private)
    pairs.change(show_pair, [lang, pairs], [left, right, pair_notes], **private)
    start.click(begin, [lang, brand, product, size], [quiz, question, shot, results], **private)

    def genuine(lang: str, state: Quiz | None, request: gr.Request) -> tuple[Any, ...]:
        return answer(lang, state, "genuine", request)

    def fake(lang: str, state: Quiz | None, request: gr.Request) -> tuple[Any, ...]:
        return answer(lang, state, "fake", request)

    say_genuine.click(genuine, [lang, quiz], [quiz, question, shot, results], **private)
    say_fake.click(fake, [lang, quiz], [quiz, question, shot, results], **private)
    return brand
