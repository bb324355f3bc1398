"""Where a photo differs, as the Inspect tab shows it: a heat map with its legend in words, and
the aligned view and identification points only when there is something to see.

An empty image box reads as "broken"; so a panel with nothing to show is hidden, and one plain
sentence says why (the reasons in the officer's words: :mod:`ipr_vision.core.reasons`).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ...core.reasons import heat_words, plain_reason
from ...errors import IprVisionError
from ...results import Explanation
from .common import detail, md
from .i18n import t


def heat_legend(lang: str, e: Explanation) -> str:
    """The heat map in words: what its colours mean here, never a bare number."""
    return heat_words(e.heat.novelty, e.genuine_references, lang)


def plain(lang: str, reason: str) -> str:
    """A reason in the officer's words, one sentence after another."""
    return " ".join(plain_reason(reason, lang))


def explanation_views(lang: str, e: Explanation | IprVisionError
                      ) -> tuple[Any, Any, Any, str]:
    """Updates for the heat map, the aligned view and the identification points, and the text
    beneath them; ``e`` is the error when no explanation could be made: said by its key, or
    when it is a reason of the glossary (the engine's "cannot show where"), in its plain words."""
    if isinstance(e, IprVisionError):
        hidden = gr.update(value=None, visible=False)
        why = detail(lang, e) if e.key else plain(lang, str(e))
        return hidden, hidden, hidden, md(lang, "explain_failed", reason=why)
    lines = [heat_legend(lang, e)]
    if e.aligned_view is None:
        lines.append(md(lang, "aligned_hidden", reason=plain(lang, e.alignment.reason))
                     if e.alignment is not None else t(lang, "aligned_none"))
    placed = [p for p in e.points if p.box is not None and p.similarity is not None]
    if not e.points:
        lines.append(t(lang, "points_none"))
    elif not placed:
        lines.append(md(lang, "points_unplaced", reason=plain(lang, e.points[0].reason)))
    for n, p in enumerate(e.points, start=1):
        if p.box is not None and p.similarity is not None:
            lines.append(md(lang, "point_found", n=n, note=p.point.note,
                            similarity=p.similarity))
        elif placed:
            lines.append(md(lang, "point_unplaced", n=n, note=p.point.note,
                            reason=plain(lang, p.reason)))
    return (gr.update(value=e.overlay, visible=True),
            gr.update(value=e.aligned_view, visible=e.aligned_view is not None),
            gr.update(value=e.points_view, visible=e.points_view is not None),
            "\n\n".join(lines))
