"""Evaluation figures, computed the same way everywhere (CLI, training, benchmarks)."""

from __future__ import annotations

import numpy as np


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


def recall_at_flag_rate(labels: np.ndarray, scores: np.ndarray, max_flagged: float) -> float:
    """Share of positives caught when at most ``max_flagged`` of negatives are flagged."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    negatives = np.sort(scores[~labels])
    if len(negatives) == 0 or labels.sum() == 0:
        return float("nan")
    allowed = int(np.floor(max_flagged * len(negatives)))
    threshold = negatives[len(negatives) - 1 - allowed]
    return float(np.mean(scores[labels] > threshold))
