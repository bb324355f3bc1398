"""Figures of a product's health (and of model comparisons in training) as PIL images.

Drawn with matplotlib's object API (a ``Figure`` on its own Agg canvas), never ``pyplot``:
pyplot keeps global state, and the web app renders figures from several threads at once.
Visible text is English or Simplified Chinese; Chinese needs the Noto Sans SC font of the
``zh-pdf`` extra, and without it the figures fall back to English rather than draw empty boxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from PIL import Image

from ..core.health import ProductHealth
from .fonts import cjk_font

#: 640 x 420 pixels at 100 dpi: readable in a web page column and in a PDF.
SIZE_INCHES, DPI = (6.4, 4.2), 100
GENUINE_COLOUR, FAKE_COLOUR, LINE_COLOUR = "#2a7d4f", "#c0392b", "#555555"

#: Titles say what a right holder reads off each plot, in words, not the metric's name.
_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "roc": "Fakes caught for each share of genuine items flagged",
        "fpr": "share of genuine items flagged",
        "tpr": "share of known fakes caught",
        "chance": "guessing",
        "operating": "the brand's limit",
        "product": "this product",
        "no_roc": "Needs both genuine references and known fakes",
        "histogram": "Where genuine items and fakes score (overlap: not yet told apart)",
        "score": "score (higher: more like a counterfeit)",
        "count": "references",
        "genuine": "genuine references",
        "fake": "known fakes",
        "threshold": "flagged above this score",
        "no_scores": "No references could be scored",
        "reliability": "Does the chance of counterfeit match what was found?",
        "predicted": "chance of counterfeit given",
        "observed": "share that were fakes",
        "perfect": "perfect match",
        "bins": "references grouped by chance given (size: how many)",
        "no_bins": "Not enough known fakes to calibrate",
    },
    # The terms of the evidence PDF and the web app: 假冒, 正品, 误报.
    "zh": {
        "roc": "每种正品误报比例下可识别的假冒比例",
        "fpr": "被误报的正品比例",
        "tpr": "识别出的已知假冒比例",
        "chance": "随机猜测",
        "operating": "品牌上限",
        "product": "本产品",
        "no_roc": "需要同时有正品参考和已知假冒",
        "histogram": "正品与假冒的分数分布（重叠部分：尚无法区分）",
        "score": "分数（越高越像假冒）",
        "count": "参考数量",
        "genuine": "正品参考",
        "fake": "已知假冒",
        "threshold": "高于此分数即标记",
        "no_scores": "没有可评分的参考",
        "reliability": "给出的假冒可能性与实际是否相符？",
        "predicted": "给出的假冒可能性",
        "observed": "实际为假冒的比例",
        "perfect": "完全相符",
        "bins": "按给出可能性分组的参考（大小：数量）",
        "no_bins": "已知假冒不足，无法校准",
    },
}


def roc_plot(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, lang: str = "en",
             operating_point: float | None = None, title: str | None = None) -> Image.Image:
    """ROC curves by name (the caller puts AUROC in the name), over the chance diagonal; the
    operating point is the brand's max share of genuine flagged, drawn as a vertical line.
    ``title`` replaces the health panel's ("each photo group left out in turn")."""
    text, font = _language(lang)
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], linestyle="--", color=LINE_COLOUR, linewidth=1,
              label=text["chance"])
    drawn = False
    for name, (fpr, tpr) in curves.items():
        if len(fpr):
            axes.plot(fpr, tpr, linewidth=2, label=name)
            drawn = True
    if not drawn:
        _notice(axes, text["no_roc"], font)
    if operating_point is not None:
        axes.axvline(operating_point, color=FAKE_COLOUR, linestyle=":", linewidth=1.5,
                     label=f"{text['operating']} ({operating_point:.0%})")
    axes.set(xlim=(0, 1), ylim=(0, 1.01))
    _label(axes, title or text["roc"], text["fpr"], text["tpr"], font)
    _legend(figure, axes, font)
    return _image(figure)


def score_histogram(scores: np.ndarray, is_fake: np.ndarray, *, threshold: float | None,
                    lang: str = "en") -> Image.Image:
    """Genuine and fake scores on shared bins, with the threshold above which photos are
    flagged: overlap is what the right holder's references cannot yet tell apart."""
    text, font = _language(lang)
    figure, axes = _figure()
    scores = np.asarray(scores, dtype=np.float64)
    is_fake = np.asarray(is_fake, dtype=bool)
    if len(scores) == 0:
        _notice(axes, text["no_scores"], font)
    else:
        edges = np.histogram_bin_edges(scores, bins=30)
        for mask, colour, key in ((~is_fake, GENUINE_COLOUR, "genuine"),
                                  (is_fake, FAKE_COLOUR, "fake")):
            if mask.any():
                axes.hist(scores[mask], bins=edges.tolist(), color=colour, alpha=0.6,
                          label=f"{text[key]} ({int(mask.sum())})")
        if threshold is not None:
            axes.axvline(threshold, color=LINE_COLOUR, linestyle="--", linewidth=1.5,
                         label=f"{text['threshold']} ({threshold:.3f})")
        _legend(figure, axes, font)
    _label(axes, text["histogram"], text["score"], text["count"], font)
    return _image(figure)


def reliability_diagram(bins: list[dict[str, float]], *, lang: str = "en") -> Image.Image:
    """Observed share of fakes against predicted p_counterfeit per bin (points of
    :func:`.metrics.reliability_bins`), marker area by bin size; on the diagonal is honest."""
    text, font = _language(lang)
    figure, axes = _figure()
    if not bins:
        _notice(axes, text["no_bins"], font)
    else:
        axes.plot([0, 1], [0, 1], linestyle="--", color=LINE_COLOUR, linewidth=1,
                  label=text["perfect"])
        predicted = np.array([b["mean_predicted"] for b in bins])
        observed = np.array([b["observed"] for b in bins])
        counts = np.array([b["count"] for b in bins])
        axes.plot(predicted, observed, color=FAKE_COLOUR, linewidth=1)
        axes.scatter(predicted, observed, s=30 + 400 * counts / counts.max(), color=FAKE_COLOUR,
                     alpha=0.7, label=text["bins"], zorder=3)
        for x, y, n in zip(predicted, observed, counts, strict=True):
            axes.annotate(f"{n}", (x, y), textcoords="offset points", xytext=(8, -12),
                          fontsize=8, color=LINE_COLOUR)
        _legend(figure, axes, font)
    axes.set(xlim=(0, 1), ylim=(-0.02, 1.02))
    _label(axes, text["reliability"], text["predicted"], text["observed"], font)
    return _image(figure)


def health_figures(health: ProductHealth, lang: str = "en") -> dict[str, Image.Image]:
    """The health panel's three figures by name; none when the product cannot be scored
    (``health.reason`` says why, which the panel shows instead)."""
    if health.mode is None:
        return {}
    product = _language(lang)[0]["product"]
    name = product if np.isnan(health.auroc) else f"{product} (AUROC {health.auroc:.3f})"
    return {
        "roc": roc_plot({name: health.roc}, lang=lang,
                        operating_point=health.max_genuine_flagged),
        "scores": score_histogram(health.scores, health.is_fake, threshold=health.threshold,
                                  lang=lang),
        "reliability": reliability_diagram(health.reliability, lang=lang),
    }


def _language(lang: str) -> tuple[dict[str, str], FontProperties | None]:
    """The texts and the font to draw them with; English when no CJK font is installed."""
    if lang not in _TEXT:
        raise ValueError(f"lang must be one of {', '.join(_TEXT)}, not {lang!r}")
    if lang == "en":
        return _TEXT["en"], None
    path = cjk_font()
    return (_TEXT[lang], FontProperties(fname=path)) if path else (_TEXT["en"], None)


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.grid(alpha=0.3)
    return figure, axes


def _font(font: FontProperties | None, size: float | None = None) -> dict[str, Any]:
    """Text keyword arguments: the CJK font when drawing Chinese, else matplotlib's default."""
    if font is None:
        return {} if size is None else {"fontsize": size}
    font = font.copy()
    if size is not None:
        font.set_size(size)
    return {"fontproperties": font}


def _legend(figure: Figure, axes: Axes, font: FontProperties | None) -> None:
    """The plot's legend below it, outside the axes, so it never covers a curve or a bar."""
    legend = font.copy() if font else FontProperties()
    legend.set_size(9)
    figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", ncols=2,
                  prop=legend, frameon=False)


def _label(axes: Axes, title: str, xlabel: str, ylabel: str,
           font: FontProperties | None) -> None:
    axes.set_title(title, **_font(font, 12))
    axes.set_xlabel(xlabel, **_font(font, 10))
    axes.set_ylabel(ylabel, **_font(font, 10))


def _notice(axes: Axes, message: str, font: FontProperties | None) -> None:
    """A message in place of a plot that has nothing to show, so the panel says why."""
    axes.text(0.5, 0.5, message, transform=axes.transAxes, ha="center", va="center",
              color=LINE_COLOUR, bbox={"facecolor": "white", "edgecolor": "none"},
              **_font(font, 13))


def _image(figure: Figure) -> Image.Image:
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
