"""Where a photo differs, as captioned figures (heat map, alignment, identification points) for
evidence packs and the CLI, each captioned in English and Chinese with the figures it rests on."""

from __future__ import annotations

from typing import NamedTuple

from PIL import Image

from ..core.reasons import heat_words, plain_reason
from ..results import Explanation


class EvidenceFigure(NamedTuple):
    """An extra image for a pack (a heatmap, identification points): drawn in the PDF after the
    standard sections and stored as a PNG in ``figures/``, with its sha256 in the JSON.

    A plain ``(title, image)`` tuple works wherever an EvidenceFigure is expected.
    """

    title: str
    image: Image.Image
    caption: str = ""


def explanation_figures(explained: Explanation) -> list[EvidenceFigure]:
    """The figures of "where it differs" (heat map, alignment, identification points) for a
    pack, each captioned in English and Chinese with the figures it rests on."""
    heat = [heat_words(explained.heat.novelty, explained.genuine_references, lang)
            for lang in ("en", "zh")]
    figures = [EvidenceFigure(
        "Where the photo differs from genuine references / 与正品参考的差异位置",
        explained.overlay, " / ".join(heat))]
    alignment = explained.alignment
    if explained.aligned_view is not None and alignment is not None:
        figures.append(EvidenceFigure(
            "Aligned with the nearest genuine reference / 与最近正品参考对齐",
            explained.aligned_view,
            f"Left: the photo; right: reference #{explained.aligned_ref} mapped onto it "
            f"({alignment.inliers} of {alignment.matches} matching details fit). Red boxes: "
            "regions that differ once lined up. / 左：被检照片；右：对齐后的正品参考 "
            f"#{explained.aligned_ref}（{alignment.matches} 处相同细节中有 {alignment.inliers} "
            "处吻合）；红框：对齐后仍有差异的区域。"))
    if explained.points_view is not None:
        lines = [f"{n}. {p.point.note}: similarity {p.similarity:.2f} / 相似度 {p.similarity:.2f}"
                 if p.box is not None else
                 f"{n}. {p.point.note}: " + " / ".join(" ".join(plain_reason(p.reason, lang))
                                                      for lang in ("en", "zh"))
                 for n, p in enumerate(explained.points, start=1)]
        figures.append(EvidenceFigure(
            "Identification points / 鉴别要点", explained.points_view,
            "The right holder's points, placed on the photo through the alignment; "
            "similarity compares each region with the genuine reference's (1 = alike). / "
            "权利人标注的鉴别要点，经对齐后标在照片上。\n" + "\n".join(lines)))
    return figures
