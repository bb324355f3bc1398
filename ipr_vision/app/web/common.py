"""What every tab of the web app shares: the service, translated labels, messages in both
languages, errors, the user."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ...core.reasons import QUALITY_PREFIX, plain_reason
from ...domain import User
from ...errors import IprVisionError, PermissionDenied, PhotoError, Worded
from ..service import Service
from .i18n import LANGUAGES, t
from .private_files import PrivateFiles

#: One line per refused request (a user's error, not a fault): tracebacks are for faults.
log = logging.getLogger("ipr_vision.web")


@dataclass
class Translated:
    """A component attribute that follows the language switch."""

    component: Any
    attr: str  # "label", "value", or "choices"
    key: str | tuple[tuple[str, str], ...]  # a text key, or (text key, value) choices


@dataclass
class Ui:
    """The service and the registry of translated texts, passed to every tab builder."""

    service: Service
    #: Where downloads go: each served to its owner only (``private.url(path)``).
    private: PrivateFiles
    translated: list[Translated] = field(default_factory=list)

    def text(self, component: Any, key: str, attr: str = "label") -> Any:
        """Show the text ``key`` as ``component``'s ``attr`` (in English until the language
        switch says otherwise); returns the component."""
        setattr(component, attr, t("en", key))
        self.translated.append(Translated(component, attr, key))
        return component

    def choices(self, component: Any, choices: Sequence[tuple[str, str]]) -> Any:
        """Register a radio's or dropdown's choices as (text key, value) pairs."""
        self.translated.append(Translated(component, "choices", tuple(choices)))
        return component

    def relabel(self, lang: str) -> list[Any]:
        """Updates that show every registered text in ``lang`` (the language switch's output)."""
        updates = []
        for item in self.translated:
            if item.attr == "choices":
                assert isinstance(item.key, tuple)
                updates.append(gr.update(choices=[(t(lang, k), v) for k, v in item.key]))
            else:
                assert isinstance(item.key, str)
                text: dict[str, Any] = {item.attr: t(lang, item.key)}
                updates.append(gr.update(**text))
        return updates

    def user(self, request: gr.Request | None) -> User:
        return self.service.user(request.username if request is not None else None)


#: What Markdown would read as syntax, escaped with a backslash to stay text.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def plain(text: str) -> str:
    """Text someone typed (a note, a file name, a brand) for a Markdown or HTML component: shown
    exactly as typed, never as markup (Gradio renders HTML inside Markdown)."""
    return _MARKDOWN.sub(r"\\\1", html.escape(text, quote=False))


def md(lang: str, key: str, **values: object) -> str:
    """:func:`t` for a Markdown component: every text value goes in as :func:`plain` text."""
    return t(lang, key, **{k: plain(v) if isinstance(v, str) else v for k, v in values.items()})


def bilingual(render: Callable[[str], str]) -> str:
    """A message (Markdown or HTML) in both languages, each shown only while the page is in it.

    A status line says what the last action did, and nothing but that action could write it
    again, so a language switch could not re-render it on the server; both languages travel
    instead, and CSS keyed on ``<html lang>`` (set by the page's script,
    :mod:`.gradio_strings`) shows one, switching at once. Markdown inside stays Markdown (a
    blank line ends the HTML block). "" when there is nothing to say.
    """
    texts = {code: render(code) for _, code in LANGUAGES}
    if not any(texts.values()):
        return ""
    return "\n\n".join(f'<div class="ipr-lang-{code}" lang="{code}">\n\n{text}\n\n</div>'
                       for code, text in texts.items())


def said(key: str, **values: object) -> str:
    """:func:`md` in both languages (:func:`bilingual`)."""
    return bilingual(lambda lang: md(lang, key, **values))


#: Shows each part of a :func:`bilingual` message only in its language.
BILINGUAL_CSS = """
html[lang^="zh"] .ipr-lang-en, html:not([lang^="zh"]) .ipr-lang-zh {display: none !important}
"""


def choices(lang: str, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(t(lang, key), value) for key, value in pairs]


class Refused(IprVisionError):
    """A user's error the page words itself, by text key, so it can say it in each language."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(t("en", key, **values), key=key, **values)


#: An error's values that are words of the app's vocabulary, and the text key each is said by
#: outside English (in English the message's own word stays, so the page says what the
#: command line says); every other value, an id, a name or a number, is shown as it is.
_WORDS = {"what": "word_{}", "role": "role_{}", "outcome": "outcome_{}"}


def detail(lang: str, error: IprVisionError) -> str:
    """What went wrong, in ``lang``: by the error's text key (:mod:`.i18n_errors`) when it has
    one, else its message as it is; a photo's error names the file before its reason."""
    if error.key is None:
        return str(error)
    text = _worded(lang, error)
    return t(lang, "error.photo", source=error.source, reason=text) if isinstance(
        error, PhotoError) else text


def worded(lang: str, text: str) -> str:
    """A reason that is not an error (why an uploaded file was left out) in ``lang``: by its
    text key when it is :class:`~ipr_vision.errors.Worded` with one, else as it is."""
    if not isinstance(text, Worded) or text.key is None:
        return text
    return _keyed(lang, text.key, text.values)


def _worded(lang: str, error: IprVisionError) -> str:
    """The error's own text in ``lang``: a photo's reason without the file's name."""
    if error.key is None:
        return error.reason if isinstance(error, PhotoError) else str(error)
    return _keyed(lang, error.key, error.values)


def _keyed(lang: str, key: str, values: dict[str, object]) -> str:
    """The text of ``key`` in ``lang``, each value as the reader's language shows it: one
    wording for errors and reasons alike."""
    return t(lang, key, **{name: _value(lang, name, value) for name, value in values.items()})


def _value(lang: str, name: str, value: object) -> object:
    """One of an error's values as its text shows it: a list joined (or "none yet"), a
    vocabulary word translated, an error quoted in ``lang`` (a photo's, by its reason: the
    text quoting it names the file itself), the quality gate's ``hints`` in ``lang`` by the
    glossary that words them (:mod:`ipr_vision.core.reasons`)."""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or t(lang, "error.none_yet")
    if isinstance(value, IprVisionError):
        return _worded(lang, value)
    if name == "hints":
        return " ".join(plain_reason(QUALITY_PREFIX + str(value), lang))
    word = _WORDS.get(name)
    return t(lang, word.format(value)) if word and lang != "en" else value


@contextmanager
def shown(lang: str, *, page: bool = True) -> Iterator[None]:
    """Turn a user's error into a message on the page (a toast), never a traceback.

    The page renders the message as HTML, so what it quotes of the user's input is escaped;
    the JSON API (``page=False``) hands it to scripts as the text it is. The server log gets
    one line (Gradio would print a traceback for an error it was not told is expected).
    """
    try:
        yield
    except IprVisionError as error:
        _log(error)
        text = refusal(lang, error)
        raise gr.Error(html.escape(text) if page else text, print_exception=False) from None


@dataclass
class Problem:
    """What went wrong in a :func:`noted` block (None when nothing)."""

    error: IprVisionError | None = None

    def __bool__(self) -> bool:
        return self.error is not None


@contextmanager
def noted() -> Iterator[Problem]:
    """Catch a user's error as a :class:`Problem` instead of raising it, so a handler shows it
    next to the button that caused it (:func:`warning`) and leaves its other outputs alone (an
    exception would mark every output of the event with Gradio's red "Error" badge)."""
    problem = Problem()
    try:
        yield problem
    except IprVisionError as error:
        _log(error)
        problem.error = error


def refusal(lang: str, error: IprVisionError) -> str:
    """A user's error as one sentence for them, in their language (:func:`detail`). A refusal
    worded by its key says who may not do what itself ("ron has no access to brand 'nike'"),
    so it stands alone: "Not allowed: " before it would say it twice."""
    if isinstance(error, PermissionDenied):
        return detail(lang, error) if error.key else t(lang, "denied", detail=str(error))
    return t(lang, "failed", detail=detail(lang, error))


def _log(error: IprVisionError) -> None:
    """A user's error is one line in the server's log: tracebacks are for faults."""
    log.warning("refused: %s: %s", type(error).__name__, error)


def warning(error: IprVisionError | None) -> str:
    """A user's error for a status line, in both languages, marked so it reads as one at a
    glance ("" when there is none)."""
    if error is None:
        return ""
    return bilingual(lambda lang: f"⚠️ {plain(refusal(lang, error))}")


@dataclass(frozen=True)
class Confirm:
    """An "are you sure?" step in the page, hidden until an action that removes something
    asks it: the question, then Yes (which does it) or Cancel."""

    box: Any
    question: Any
    yes: Any
    no: Any


def confirm_box(ui: Ui, name: str) -> Confirm:
    """A :class:`Confirm` with elements ``NAME-confirm``, ``NAME-question``, ``NAME-yes`` and
    ``NAME-no``; Cancel hides it."""
    with gr.Column(visible=False, elem_id=f"{name}-confirm",
                   elem_classes="ipr-confirm") as box:
        question = gr.Markdown(elem_id=f"{name}-question")
        with gr.Row():
            yes = ui.text(gr.Button("Yes", variant="stop", elem_id=f"{name}-yes"),
                          "confirm_yes", "value")
            no = ui.text(gr.Button("Cancel", elem_id=f"{name}-no"), "confirm_no", "value")
    no.click(hidden, None, box, api_visibility="private")
    return Confirm(box, question, yes, no)


def hidden() -> Any:
    """An update that hides a component (a confirmation that is answered or withdrawn)."""
    return gr.update(visible=False)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def utc_time(stamp: str) -> str:
    """A stored time (ISO 8601, UTC, to the second) for a sentence: ``2026-12-03 08:21 UTC``."""
    return f"{stamp[:16].replace('T', ' ')} UTC" if "T" in stamp else stamp


def dropdown(values: Sequence[str], value: str | None = None) -> Any:
    """New choices for a dropdown, keeping ``value`` when still offered."""
    return gr.update(choices=list(values),
                     value=value if value in values else (values[0] if values else None))
