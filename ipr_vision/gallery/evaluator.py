"""Inspecting labelled photos and comparing the suggestions with their labels.

Every photo goes through the same inspection an officer's would (quality gate, proposal when
asked, calibration), so the figures describe what officers will get, overall and per product.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.metrics import (
    RESAMPLES,
    group_bootstrap,
    reliability_bins,
    tie_broken_ranks,
    verdict_figures,
)
from ..domain import Label
from ..errors import PhotoError
from ..intake.labelled import Failure, LabelledPhoto, group_key, stratum
from ..results import Evaluation, Suggestion

#: Inspects one labelled photo (its path, with its product) as the gallery would.
Inspect = Callable[[LabelledPhoto], Suggestion]
#: The figures given an interval: the rates a reader weighs (AUROC and the verdicts' shares).
INTERVALS = ("auroc", "fake_recall_at_1pct", "fake_recall_at_5pct", "fake_recall",
             "genuine_flagged", "fake_cleared", "inconclusive")


def evaluate(items: list[LabelledPhoto], failed: list[Failure], inspect: Inspect,
             model: str, resamples: int = RESAMPLES) -> Evaluation:
    """Inspect ``items`` one by one; unreadable photos and unusable index rows (``failed``)
    are counted as failed, not scored.

    A fake recall at 1 % of genuine flagged on a few hundred photos rests on their three most
    fake-like genuine ones, so the figures come with 95 % intervals that resample whole photo
    groups (copies of one photo move together) within each product and label, ``resamples``
    times (0: none, for callers that pool evaluations and resample the pool)."""
    labels, verdicts, scores, products, calibrated_flags = [], [], [], [], []
    photos: list[str] = []
    groups: list[str] = []
    strata: list[str] = []
    raw: list[float] = []
    unreadable = len(failed)
    for item in items:
        try:
            suggestion = inspect(item)
        except PhotoError:
            unreadable += 1
            continue
        labels.append(item.label == Label.FAKE)
        photos.append(str(item.source))
        verdicts.append(suggestion.verdict)
        scores.append(np.nan if suggestion.p_counterfeit is None else suggestion.p_counterfeit)
        raw.append(np.nan if suggestion.score is None else suggestion.score)
        products.append(item.product)
        calibrated_flags.append(suggestion.calibrated)
        groups.append(f"{item.product}/{group_key(item)}")
        strata.append(stratum(item))
    is_fake, calibrated = np.array(labels, dtype=bool), np.array(calibrated_flags, dtype=bool)
    p = np.array(scores, dtype=np.float64)
    shown = np.array(verdicts, dtype=object)
    ranks = tie_broken_ranks(p, np.array(raw, dtype=np.float64))
    per_product = {}
    for name in sorted(set(products)):
        rows = np.array([product == name for product in products])
        per_product[name] = verdict_figures(is_fake[rows], shown[rows], p[rows],
                                            calibrated[rows], ranks[rows])
    fitted = calibrated & np.isfinite(p)

    def figures(rows: np.ndarray) -> dict[str, float]:
        drawn = verdict_figures(is_fake[rows], shown[rows], p[rows], calibrated[rows],
                                ranks[rows])
        return {name: drawn[name] for name in INTERVALS}

    ci95 = ({name: list(bounds) for name, bounds in
             group_bootstrap(figures, groups, strata, resamples).items()}
            if resamples and labels else {})
    return Evaluation(photos=len(labels), genuine=int(len(labels) - sum(labels)),
                      fake=int(sum(labels)), failed=unreadable, model=model,
                      per_product=per_product, groups=len(set(groups)), ci95=ci95,
                      reliability=reliability_bins(is_fake[fitted], p[fitted]),
                      is_fake=is_fake.tolist(),
                      p_counterfeit=[None if np.isnan(v) else float(v) for v in p],
                      score=[None if np.isnan(v) else float(v) for v in raw],
                      photo=photos, verdict=[str(v) for v in verdicts],
                      **verdict_figures(is_fake, shown, p, calibrated, ranks))
