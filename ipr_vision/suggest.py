"""From a query embedding and a brand's index to an assessment (pure: arrays in, values out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .index import BrandIndex, ProductRows
from .scoring import (
    CONTRAST,
    GENUINE_ONLY,
    INCONCLUSIVE,
    Calibration,
    Policy,
    ProductMode,
    calibrate,
    counterfeit_score,
    decide,
    label_similarity,
    leave_one_group_out,
    product_mode,
    unlike_reason,
)


@dataclass(frozen=True)
class BrandCalibration:
    """Everything a brand's verdicts depend on, computed once per gallery revision."""

    modes: dict[str, ProductMode]  # by product name
    by_mode: dict[str, Calibration | str]  # a Calibration, or why there is none


def mode_of(rows: ProductRows, policy: Policy) -> ProductMode:
    return product_mode(len(np.unique(rows.group[~rows.is_fake])),
                        len(np.unique(rows.group[rows.is_fake])), policy)


def left_out_scores(rows: ProductRows, mode: str, policy: Policy
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, labels and nearest-other-group similarities of a product's references, each
    scored with its own photo group left out: what the brand's calibration is fitted on, and
    what a product's health figures show, so both see exactly the same references.

    Beyond ``policy.max_calibration_queries`` references a sample is scored, seeded by the
    product's size: the same gallery always gives the same operating point.
    """
    queries = None
    if len(rows) > policy.max_calibration_queries:
        queries = np.sort(np.random.default_rng(len(rows)).choice(
            len(rows), policy.max_calibration_queries, replace=False))
    left_out = leave_one_group_out(rows.vectors, rows.is_fake, rows.group, policy.k, queries)
    scores = np.asarray(counterfeit_score(left_out.s_genuine, left_out.s_fake, mode))
    # A copy: the rows are updated in place by later imports and removals.
    is_fake = rows.is_fake.copy() if queries is None else rows.is_fake[queries]
    return scores, is_fake, left_out.nearest


def calibrate_brand(index: BrandIndex, policy: Policy) -> BrandCalibration:
    """Leave-one-photo-group-out scores of every product, pooled over the brand per mode."""
    modes = {name: mode_of(rows, policy) for name, rows in index.products.items()}
    pooled: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for name, rows in index.products.items():
        mode = modes[name].mode
        if mode is not None:
            pooled.setdefault(mode, []).append(left_out_scores(rows, mode, policy))
    by_mode: dict[str, Calibration | str] = {}
    for mode in (CONTRAST, GENUINE_ONLY):
        if mode in pooled:
            scores, is_fake, nearest = (np.concatenate(part) for part in zip(*pooled[mode],
                                                                             strict=True))
            by_mode[mode] = calibrate(scores, is_fake, nearest, mode, policy)
    return BrandCalibration(modes, by_mode)


@dataclass(frozen=True)
class Assessment:
    """The pure result for one photo; references are named by their ids."""

    product: str | None
    product_candidates: list[tuple[str, float]]
    verdict: str
    reason: str
    p_counterfeit: float | None
    score: float | None
    mode: str | None
    nearest_genuine: list[tuple[int, float]]
    nearest_fake: list[tuple[int, float]]
    calibration: Calibration | None


def assess(query: np.ndarray, index: BrandIndex, brand_calibration: BrandCalibration,
           policy: Policy, product: str | None = None, n_neighbours: int = 3,
           n_candidates: int = 3) -> Assessment:
    """Compare one embedding with a product's references; ``product=None`` proposes one.

    Only the product's rows are read when the product is given; proposing one reads the brand
    (see :meth:`BrandIndex.product_maxima`).
    """
    query = np.asarray(query, dtype=np.float32)
    if len(index) == 0:
        return _inconclusive(product, [], "this brand has no references yet")
    candidates: list[tuple[str, float]] = []
    if product is None:
        candidates = index.product_maxima(query)[0][:n_candidates]
        product = candidates[0][0]
    rows = index.products.get(product)
    if rows is None or len(rows) == 0:
        return _inconclusive(product, candidates, "this product has no references yet")
    sims = rows.similarities(query)
    if not candidates:
        candidates = [(product, float(sims.max()))]
    fake = rows.is_fake
    nearest_genuine = _nearest(rows.ids[~fake], sims[~fake], n_neighbours)
    nearest_fake = _nearest(rows.ids[fake], sims[fake], n_neighbours)
    mode = brand_calibration.modes[product]
    if mode.mode is None:
        return _inconclusive(product, candidates, mode.reason, nearest_genuine, nearest_fake)
    calibration = brand_calibration.by_mode[mode.mode]
    if isinstance(calibration, str):
        return _inconclusive(product, candidates, calibration, nearest_genuine, nearest_fake)
    unlike = unlike_reason(float(sims.max()), calibration)
    if unlike:
        return _inconclusive(product, candidates, unlike, nearest_genuine, nearest_fake)
    s_genuine, s_fake = label_similarity(sims, fake, policy.k)
    score = float(counterfeit_score(s_genuine[0], s_fake[0], mode.mode))
    verdict, reason = decide(score, calibration)
    return Assessment(product, candidates, verdict, reason, calibration.p_counterfeit(score),
                      score, mode.mode, nearest_genuine, nearest_fake, calibration)


def _nearest(ids: np.ndarray, sims: np.ndarray, n: int) -> list[tuple[int, float]]:
    if len(sims) > n:
        top = np.argpartition(-sims, n - 1)[:n]
        order = top[np.argsort(-sims[top], kind="stable")]
    else:
        order = np.argsort(-sims, kind="stable")
    return [(int(ids[i]), float(sims[i])) for i in order]


def _inconclusive(product: str | None, candidates: list[tuple[str, float]], reason: str,
                  nearest_genuine: list[tuple[int, float]] | None = None,
                  nearest_fake: list[tuple[int, float]] | None = None) -> Assessment:
    return Assessment(product, candidates, INCONCLUSIVE, reason, None, None, None,
                      nearest_genuine or [], nearest_fake or [], None)
