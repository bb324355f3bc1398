"""Workshop (trainers): genuine and fake side by side, and a spot-the-fake quiz.

A quiz never asks about a photo whose label the trainee has been shown: the pairs listed in
the side-by-side view this session are left out of the draw, and that view is hidden while a
quiz runs. Each answer is marked right or wrong at once; the end screen shows the score and
the right and wrong answers apart, in green and red. The answer buttons work only during a
quiz.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from PIL import Image

from ...core.workshop import QuizResult
from ...domain import Reference
from .common import Refused, Ui, bilingual, dropdown, noted, plain, said, shown, warning
from .i18n import t

#: A score from this share up is shown green, from the second amber, below it red.
_GOOD, _FAIR = 0.8, 0.5


@dataclass
class Quiz:
    """A trainee's quiz in progress: which references, and the answers so far."""

    ref_ids: list[int]
    answers: list[str | None] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return len(self.answers) >= len(self.ref_ids)


def build(ui: Ui, lang: Any) -> Any:
    """Returns the brand dropdown, filled by the app when a user logs in."""
    quiz = gr.State(None)
    seen = gr.State([])  # reference ids whose labels the side-by-side view has listed
    listed = gr.State([])  # the pairs listed: (genuine id, fake id, similarity)
    with gr.Row():
        brand = ui.text(gr.Dropdown(label="Brand", choices=[], elem_id="workshop-brand"), "brand")
        product = ui.text(gr.Dropdown(label="Product", choices=[], elem_id="workshop-product"),
                          "product")
    with gr.Accordion("compare", open=True, elem_id="workshop-compare") as compare:
        ui.text(compare, "compare")
        with gr.Row(equal_height=True):
            find = ui.text(gr.Button("Find pairs", elem_id="workshop-find", scale=0,
                                     min_width=180), "load_pairs", "value")
            pairs = ui.text(gr.Dropdown(label="pairs", choices=[], elem_id="workshop-pairs"),
                            "pairs")
        pairs_status = gr.Markdown(elem_id="workshop-pairs-status")
        with gr.Row():
            left = ui.text(gr.Image(label="genuine", interactive=False, buttons=[],
                                    elem_id="workshop-left"), "left_genuine")
            right = ui.text(gr.Image(label="fake", interactive=False, buttons=[],
                                     elem_id="workshop-right"), "right_fake")
        pair_notes = gr.Markdown(elem_id="workshop-pair-notes")
    with gr.Accordion("quiz", open=True) as quiz_box:
        ui.text(quiz_box, "quiz")
        ui.text(gr.Markdown(elem_id="workshop-quiz-help"), "quiz_help", "value")
        with gr.Row(equal_height=True):
            size = ui.text(gr.Slider(2, 20, value=6, step=2, label="size",
                                     elem_id="workshop-size"), "quiz_size")
            start = ui.text(gr.Button("Start", variant="primary", elem_id="workshop-start"),
                            "quiz_start", "value")
        start_status = gr.Markdown(elem_id="workshop-start-status")
        question = gr.Markdown(elem_id="workshop-question")
        feedback = gr.HTML(elem_id="workshop-feedback")
        shot = gr.Image(interactive=False, show_label=False, buttons=[], visible=False,
                        elem_id="workshop-shot", height=420)
        with gr.Row():
            say_genuine = ui.text(gr.Button("Genuine", interactive=False,
                                            elem_id="workshop-genuine"), "answer_genuine",
                                  "value")
            say_fake = ui.text(gr.Button("Fake", interactive=False, elem_id="workshop-fake"),
                               "answer_fake", "value")
        score = gr.HTML(elem_id="workshop-score")
        right_answers = ui.text(gr.Gallery(label="right", columns=4, height="auto",
                                           allow_preview=False, object_fit="contain",
                                           visible=False, elem_id="workshop-right-answers",
                                           elem_classes="ipr-right"), "quiz_right_answers")
        wrong_answers = ui.text(gr.Gallery(label="wrong", columns=4, height="auto",
                                           allow_preview=False, object_fit="contain",
                                           visible=False, elem_id="workshop-wrong-answers",
                                           elem_classes="ipr-wrong"), "quiz_wrong_answers")

    def products(lang: str, brand: str | None, request: gr.Request) -> Any:
        with shown(lang):
            return dropdown(ui.service.products(ui.user(request), brand) if brand else [])

    def find_pairs(lang: str, brand: str | None, product: str | None, seen: list[int],
                   request: gr.Request) -> tuple[Any, ...]:
        with noted() as problem:
            if not brand or not product:
                raise Refused("choose_brand")
            found = [(g.id, f.id, s) for g, f, s in
                     ui.service.confusable_pairs(ui.user(request), brand, product)]
            if not found:
                raise Refused("no_pairs")
            options = _pair_choices(lang, found)
            shown_ids = {i for g, f, _ in found for i in (g, f)}
            return (gr.update(choices=options, value=options[0][1]), found,
                    sorted(set(seen) | shown_ids), "")
        return gr.update(), gr.update(), seen, warning(problem.error)

    def pairs_again(lang: str, found: list[tuple[int, int, float]]) -> Any:
        """The pairs listed, worded in another language (the one chosen stays chosen)."""
        return gr.update(choices=_pair_choices(lang, found)) if found else gr.update()

    def show_pair(pair: str | None, request: gr.Request) -> tuple[Any, Any, str]:
        with noted() as problem:
            if not pair:
                return None, None, ""
            user = ui.user(request)
            ids = [int(v) for v in pair.split(",")]
            refs = [ui.service.reference(user, i) for i in ids]
            notes = bilingual(lambda lang: "\n\n".join(
                f"**#{r.id} {t(lang, r.label)}**: {plain(r.note) or '–'}" for r in refs))
            return ui.service.photo(user, ids[0]), ui.service.photo(user, ids[1]), notes
        return gr.update(), gr.update(), warning(problem.error)

    def begin(brand: str | None, product: str | None, size: float,
              seen: list[int], request: gr.Request) -> tuple[Any, ...]:
        with noted() as problem:
            if not brand:
                raise Refused("choose_brand")
            drawn = ui.service.quiz(ui.user(request), brand, product, int(size),
                                    secrets.randbits(32), exclude=set(seen))
            state = Quiz([r.id for r in drawn])
            return (state, "", *ask(state, request), "", *_answers(True),
                    gr.update(value=[], visible=False), gr.update(value=[], visible=False),
                    "", gr.update(visible=False))
        return (gr.update(), warning(problem.error), *(gr.update() for _ in range(9)))

    def ask(state: Quiz, request: gr.Request) -> tuple[str, Any]:
        n = len(state.answers)
        image = ui.service.photo(ui.user(request), state.ref_ids[n])
        image.thumbnail((900, 900))
        return (said("quiz_question", n=n + 1, total=len(state.ref_ids)),
                gr.update(value=image, visible=True))

    def answer(lang: str, state: Quiz | None, given: str,
               request: gr.Request) -> tuple[Any, ...]:
        """Mark the answer at once, then ask the next photo or show the end screen."""
        if state is None or state.over:  # the buttons are off outside a quiz; a late click
            return (state, *(gr.update() for _ in range(9)))
        with noted() as problem:
            user = ui.user(request)
            ref = ui.service.reference(user, state.ref_ids[len(state.answers)])
            state.answers.append(given)
            marked = _feedback(ref, given)
            if not state.over:
                return (state, *ask(state, request), marked, *_answers(True),
                        gr.update(), gr.update(), "", gr.update())
            result = ui.service.grade_quiz(user, state.ref_ids, state.answers)
            right, wrong = _galleries(lang, ui, user, result)
            return (state, said("quiz_over"), gr.update(value=None, visible=False), marked,
                    *_answers(False), right, wrong, _score(result),
                    gr.update(visible=True))
        # The quiz cannot go on (a photo was removed meanwhile): it ends here, buttons off.
        return (None, warning(problem.error), gr.update(visible=False), "", *_answers(False),
                gr.update(), gr.update(), "", gr.update(visible=True))

    def answers_again(lang: str, state: Quiz | None, request: gr.Request) -> tuple[Any, Any]:
        """The end screen's answers, captioned in another language (nothing during a quiz)."""
        if state is None or not state.over:
            return gr.update(), gr.update()
        with noted():
            user = ui.user(request)
            return _galleries(lang, ui, user, ui.service.grade_quiz(user, state.ref_ids,
                                                                     state.answers))
        return gr.update(), gr.update()

    def genuine(lang: str, state: Quiz | None, request: gr.Request) -> tuple[Any, ...]:
        return answer(lang, state, "genuine", request)

    def fake(lang: str, state: Quiz | None, request: gr.Request) -> tuple[Any, ...]:
        return answer(lang, state, "fake", request)

    private = {"api_visibility": "private"}
    brand.change(products, [lang, brand], product, **private)
    find.click(find_pairs, [lang, brand, product, seen], [pairs, listed, seen, pairs_status],
               **private)
    pairs.change(show_pair, [pairs], [left, right, pair_notes], **private)
    lang.change(pairs_again, [lang, listed], pairs, **private)
    lang.change(answers_again, [lang, quiz], [right_answers, wrong_answers], **private)
    start.click(begin, [brand, product, size, seen],
                [quiz, start_status, question, shot, feedback, say_genuine, say_fake,
                 right_answers, wrong_answers, score, compare], **private)
    outputs = [quiz, question, shot, feedback, say_genuine, say_fake, right_answers,
               wrong_answers, score, compare]
    say_genuine.click(genuine, [lang, quiz], outputs, **private)
    say_fake.click(fake, [lang, quiz], outputs, **private)
    return brand


def _answers(active: bool) -> tuple[Any, Any]:
    """Both answer buttons on (during a quiz) or off (before one and after its end)."""
    return gr.update(interactive=active), gr.update(interactive=active)


def _feedback(ref: Reference, given: str) -> str:
    """The answer marked at once: right (green) or wrong (red), with the true label."""
    right = given == ref.label
    text = bilingual(lambda lang: html.escape(t(
        lang, "quiz_marked_right" if right else "quiz_marked_wrong", id=ref.id,
        label=t(lang, ref.label))))
    return (f'<div class="ipr-feedback {"ipr-right" if right else "ipr-wrong"}" '
            f'data-correct="{str(right).lower()}">{text}</div>')


def _score(result: QuizResult) -> str:
    share = result.score / result.total if result.total else 0.0
    grade = "good" if share >= _GOOD else "fair" if share >= _FAIR else "poor"
    text = said("quiz_score", score=result.score, total=result.total)
    return f'<div class="ipr-score ipr-score-{grade}">{text}</div>'


def _pair_choices(lang: str, found: list[tuple[int, int, float]]) -> list[tuple[str, str]]:
    return [(t(lang, "pair_choice", g=g, f=f, s=s), f"{g},{f}") for g, f, s in found]


def _galleries(lang: str, ui: Ui, user: Any,
               result: QuizResult) -> tuple[Any, Any]:
    """The answers on the end screen: right ones and wrong ones apart, each with its label
    and the right holder's note."""
    groups: dict[bool, list[tuple[Image.Image, str]]] = {True: [], False: []}
    for a in result.answers:
        image = ui.service.photo(user, a.reference.id)
        image.thumbnail((480, 480))
        groups[a.correct].append((image, t(
            lang, "quiz_answer", id=a.reference.id,
            answer=t(lang, a.answer) if a.answer else t(lang, "quiz_skipped"),
            label=t(lang, a.reference.label), note=a.reference.note)))
    return (gr.update(value=groups[True], visible=bool(groups[True])),
            gr.update(value=groups[False], visible=bool(groups[False])))
