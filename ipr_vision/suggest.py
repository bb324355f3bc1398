"""From a query embedding and a brand's index to an assessment (pure: arrays in, values out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .index import BrandIndex
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
    product_modes,
    unlike_reason,
)


@dataclass(frozen=True)
class BrandCalibration:
    """Everything a brand's verdicts depend on, computed once per gallery revision."""

    modes: list[ProductMode]  # by product code
    by_mode: dict[str, Calibration | str]  # a Calibration, or why there is none


def calibrate_brand(index: BrandIndex, policy: Policy) -> BrandCalibration:
    """Leave-one-photo-group-out scores for the whole brand, pooled per scoring mode."""
    modes = product_modes(index.product, index.is_fake, index.group, len(index.products), policy)
    left_out = leave_one_group_out(index.vectors, index.product, index.is_fake, index.group,
                                   policy.k)
    by_mode: dict[str, Calibration | str] = {}
    for mode in (CONTRAST, GENUINE_ONLY):
        in_mode = np.array([modes[code].mode == mode for code in index.product], dtype=bool)
        if not in_mode.any():
            continue
        scores = np.asarray(counterfeit_score(left_out.s_genuine[in_mode],
                                              left_out.s_fake[in_mode], mode))
        by_mode[mode] = calibrate(scores, index.is_fake[in_mode], left_out.nearest[in_mode],
                                  mode, policy)
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
    """Compare one embedding with a brand's references; ``product=None`` picks the nearest."""
    if len(index) == 0:
        return _inconclusive(product, [], "this brand has no references yet")
    sims = index.similarities(query)[0]
    candidates = _product_candidates(sims, index, n_candidates)
    if product is None:
        product = candidates[0][0]
    code = index.product_code(product)
    if code is None:
        return _inconclusive(product, candidates, "this product has no references yet")
    rows = np.flatnonzero(index.product == code)
    row_sims, row_fake = sims[rows], index.is_fake[rows]
    nearest_genuine = _nearest(index.ids[rows][~row_fake], row_sims[~row_fake], n_neighbours)
    nearest_fake = _nearest(index.ids[rows][row_fake], row_sims[row_fake], n_neighbours)
    product_mode = brand_calibration.modes[code]
    if product_mode.mode is None:
        return _inconclusive(product, candidates, product_mode.reason, nearest_genuine,
                             nearest_fake)
    calibration = brand_calibration.by_mode[product_mode.mode]
    if isinstance(calibration, str):
        return _inconclusive(product, candidates, calibration, nearest_genuine, nearest_fake)
    unlike = unlike_reason(float(row_sims.max()), calibration)
    if unlike:
        return _inconclusive(product, candidates, unlike, nearest_genuine, nearest_fake)
    s_genuine, s_fake = label_similarity(row_sims, row_fake, policy.k)
    score = float(counterfeit_score(s_genuine[0], s_fake[0], product_mode.mode))
    verdict, reason = decide(score, calibration)
    return Assessment(product, candidates, verdict, reason, calibration.p_counterfeit(score),
                      score, product_mode.mode, nearest_genuine, nearest_fake, calibration)


def _product_candidates(sims: np.ndarray, index: BrandIndex, n: int) -> list[tuple[str, float]]:
    best = np.full(len(index.products), -np.inf, dtype=np.float32)
    np.maximum.at(best, index.product, sims)
    present = np.flatnonzero(np.isfinite(best))
    order = present[np.argsort(-best[present], kind="stable")][:n]
    return [(index.products[code], float(best[code])) for code in order]


def _nearest(ids: np.ndarray, sims: np.ndarray, n: int) -> list[tuple[int, float]]:
    order = np.argsort(-sims, kind="stable")[:n]
    return [(int(ids[i]), float(sims[i])) for i in order]


def _inconclusive(product: str | None, candidates: list[tuple[str, float]], reason: str,
                  nearest_genuine: list[tuple[int, float]] | None = None,
                  nearest_fake: list[tuple[int, float]] | None = None) -> Assessment:
    return Assessment(product, candidates, INCONCLUSIVE, reason, None, None, None,
                      nearest_genuine or [], nearest_fake or [], None)
