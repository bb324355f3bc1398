"""Evaluation figures, computed the same way everywhere (CLI, training, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..domain import Verdict


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve via the rank statistic, ties counted as half. NaN if one class."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates as the flag threshold sweeps down through the scores,
    from (0, 0) to (1, 1); empty arrays when either class is absent.

    Tied scores are one step (a diagonal segment when both classes share the score), so the
    trapezoid area under the points equals :func:`auroc`, which counts ties as half.
    """
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-scores, kind="mergesort")
    descending = scores[order]
    last_of_tie = np.flatnonzero(np.r_[descending[1:] != descending[:-1], True])
    true_pos = np.cumsum(labels[order])[last_of_tie]
    false_pos = last_of_tie + 1 - true_pos
    return np.r_[0.0, false_pos / n_neg], np.r_[0.0, true_pos / n_pos]


def flag_threshold(negatives_sorted: np.ndarray, max_flagged: float) -> float:
    """Smallest threshold that flags (score > threshold) at most ``max_flagged`` of the sorted
    negative scores: a brand's operating point and the recall figures both use it."""
    allowed = int(np.floor(max_flagged * len(negatives_sorted)))
    return float(negatives_sorted[len(negatives_sorted) - 1 - allowed])


def confident_flag_threshold(negatives: np.ndarray, groups: np.ndarray, max_flagged: float,
                             confidence: float, resamples: int) -> float:
    """A threshold that flags at most ``max_flagged`` of *new* negatives with ``confidence``,
    not only of the negatives at hand.

    :func:`flag_threshold` on a brand's own left-out scores keeps its promise on those
    references, but new photos are another sample: under cross-validation by photo group
    it flagged 0.3-2.4 % of a fold's genuine photos where 1 % was promised, because photos of
    one group rise or fall together. So the threshold is set to the ``confidence`` quantile
    of the plain threshold over resamples of whole photo groups: an upper confidence bound on
    the score that ``max_flagged`` of the population exceed. Groups, not photos, are drawn,
    so a gallery of a few large groups gets the wide margin it needs and one of many small
    groups a narrow one. The draw is seeded by the data's size, so the same references always
    give the same operating point. Never below the plain threshold.
    """
    negatives = np.asarray(negatives, dtype=np.float64)
    plain = flag_threshold(np.sort(negatives), max_flagged)
    codes, row_group = np.unique(np.asarray(groups), return_inverse=True)
    if len(codes) < 2 or resamples < 1:
        return plain
    rng = np.random.default_rng(len(negatives))
    drawn = np.empty(resamples)
    for n in range(resamples):
        picks = np.bincount(rng.integers(0, len(codes), len(codes)), minlength=len(codes))
        sample = np.repeat(negatives, picks[row_group])
        kth = len(sample) - 1 - int(np.floor(max_flagged * len(sample)))  # as flag_threshold
        drawn[n] = np.partition(sample, kth)[kth]
    return max(plain, float(np.quantile(drawn, confidence)))


def recall_at_flag_rate(labels: np.ndarray, scores: np.ndarray, max_flagged: float) -> float:
    """Share of positives caught when at most ``max_flagged`` of negatives are flagged."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    negatives = np.sort(scores[~labels])
    if len(negatives) == 0 or labels.sum() == 0:
        return float("nan")
    return float(np.mean(scores[labels] > flag_threshold(negatives, max_flagged)))


#: Draws of photo groups behind the 95 % intervals the package reports (an evaluation's
#: figures, a product's AUROC, the difference between two models).
RESAMPLES = 1000


def group_bootstrap(figures: Callable[[np.ndarray], dict[str, float]], groups: Sequence[str],
                    strata: Sequence[str], resamples: int, seed: int = 0
                    ) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of ``figures`` (of the rows drawn) over resampled photo
    groups.

    Groups are drawn with replacement within each stratum (product and label), each bringing
    all its photos, so every resample holds both labels in the proportions scored.
    """
    rng = np.random.default_rng(seed)
    codes = {g: n for n, g in enumerate(dict.fromkeys(groups))}
    row_group = np.array([codes[g] for g in groups])
    stratum_of = {codes[g]: s for g, s in zip(groups, strata, strict=True)}
    by_stratum = [np.array([c for c, s in stratum_of.items() if s == name])
                  for name in sorted(set(strata))]
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        picks = np.bincount(np.concatenate([rng.choice(m, len(m)) for m in by_stratum]),
                            minlength=len(codes))
        rows = np.repeat(np.arange(len(row_group)), picks[row_group])
        for name, value in figures(rows).items():
            draws.setdefault(name, []).append(value)
    return {name: (float(np.nanpercentile(values, 2.5)), float(np.nanpercentile(values, 97.5)))
            for name, values in draws.items()}


def reliability_bins(labels: np.ndarray, probabilities: np.ndarray,
                     bins: int = 10) -> list[dict[str, float]]:
    """Equal-width bins of predicted probability with the observed share of positives: the
    points of a reliability diagram (empty bins are left out)."""
    labels = np.asarray(labels, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    index = np.clip((probabilities * bins).astype(int), 0, bins - 1)
    points = []
    for b in range(bins):
        members = index == b
        if members.any():
            points.append({"low": b / bins, "high": (b + 1) / bins,
                           "count": int(members.sum()),
                           "mean_predicted": float(probabilities[members].mean()),
                           "observed": float(labels[members].mean())})
    return points


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray,
                               bins: int = 10) -> float:
    """Mean |observed - predicted| over reliability bins, weighted by bin size (NaN if empty)."""
    points = reliability_bins(labels, probabilities, bins)
    total = sum(p["count"] for p in points)
    if total == 0:
        return float("nan")
    return float(sum(p["count"] * abs(p["observed"] - p["mean_predicted"])
                     for p in points) / total)


def tie_broken_ranks(p: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Order photos by p_counterfeit, ties broken by the raw score (NaN where p is NaN).

    p is clipped to [0.01, 0.99] and isotonic fits are flat in steps, so many photos can share
    the top value; a "flag at most 1 %" threshold on p alone would then flag nothing.
    """
    ranks = np.full(len(p), np.nan)
    scored = np.flatnonzero(np.isfinite(p))
    order = np.lexsort((np.nan_to_num(raw[scored], nan=-np.inf), p[scored]))
    ranks[scored[order]] = np.arange(len(order), dtype=np.float64)
    return ranks


def verdict_figures(is_fake: np.ndarray, verdicts: np.ndarray, scores: np.ndarray,
                    calibrated: np.ndarray, ranks: np.ndarray) -> dict[str, float]:
    """How suggestions on labelled photos compare with the labels: the figures of an
    evaluation (``scores`` are p_counterfeit, NaN where none was given; ``ranks`` order the
    photos as :func:`tie_broken_ranks` does)."""
    decided = verdicts != Verdict.INCONCLUSIVE
    right = (((verdicts == Verdict.COUNTERFEIT) & is_fake)
             | ((verdicts == Verdict.GENUINE) & ~is_fake))
    scored = np.isfinite(scores)
    n = max(len(verdicts), 1)
    return {
        "auroc": auroc(is_fake[scored], scores[scored]),
        # Only fitted probabilities can be calibrated; genuine-only ranks are left out.
        "ece": expected_calibration_error(is_fake[scored & calibrated],
                                          scores[scored & calibrated]),
        "accuracy": float(right[decided].mean()) if decided.any() else float("nan"),
        "fake_recall": float((verdicts[is_fake] == Verdict.COUNTERFEIT).mean())
        if is_fake.any() else float("nan"),
        "genuine_flagged": float((verdicts[~is_fake] == Verdict.COUNTERFEIT).mean())
        if (~is_fake).any() else float("nan"),
        # The error that lets a fake through: "likely genuine" promises at most 5 % of them.
        "fake_cleared": float((verdicts[is_fake] == Verdict.GENUINE).mean())
        if is_fake.any() else float("nan"),
        "inconclusive": float((~decided).sum() / n),
        # The catch rate a brand would get were the operating point set on these very photos.
        "fake_recall_at_1pct": recall_at_flag_rate(is_fake[scored], ranks[scored], 0.01),
        "fake_recall_at_5pct": recall_at_flag_rate(is_fake[scored], ranks[scored], 0.05),
    }
