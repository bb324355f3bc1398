"""Inspecting labelled photos and comparing the suggestions with their labels.

Every photo goes through the same inspection an officer's would (quality gate, proposal when
asked, calibration), so the figures describe what officers will get, overall and per product.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.metrics import reliability_bins, tie_broken_ranks, verdict_figures
from ..domain import Label
from ..errors import PhotoError
from ..intake.labelled import Failure, LabelledPhoto
from ..results import Evaluation, Suggestion

#: Inspects one labelled photo (its path, with its product) as the gallery would.
Inspect = Callable[[LabelledPhoto], Suggestion]


def evaluate(items: list[LabelledPhoto], failed: list[Failure], inspect: Inspect,
             model: str) -> Evaluation:
    """Inspect ``items`` one by one; unreadable photos and unusable index rows (``failed``)
    are counted as failed, not scored."""
    labels, verdicts, scores, products, calibrated_flags = [], [], [], [], []
    raw: list[float] = []
    unreadable = len(failed)
    for item in items:
        try:
            suggestion = inspect(item)
        except PhotoError:
            unreadable += 1
            continue
        labels.append(item.label == Label.FAKE)
        verdicts.append(suggestion.verdict)
        scores.append(np.nan if suggestion.p_counterfeit is None else suggestion.p_counterfeit)
        raw.append(np.nan if suggestion.score is None else suggestion.score)
        products.append(item.product)
        calibrated_flags.append(suggestion.calibrated)
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
    return Evaluation(photos=len(labels), genuine=int(len(labels) - sum(labels)),
                      fake=int(sum(labels)), failed=unreadable, model=model,
                      per_product=per_product,
                      reliability=reliability_bins(is_fake[fitted], p[fitted]),
                      is_fake=is_fake.tolist(),
                      p_counterfeit=[None if np.isnan(v) else float(v) for v in p],
                      score=[None if np.isnan(v) else float(v) for v in raw],
                      **verdict_figures(is_fake, shown, p, calibrated, ranks))
