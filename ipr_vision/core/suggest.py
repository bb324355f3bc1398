"""From a query embedding and a brand's index to an assessment (pure: arrays in, values out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from ..domain import Verdict
from .cells import left_out_reranked, reranked
from .index import BrandIndex, ProductRows
from .reasons import because
from .scoring import (
    Calibration,
    Mode,
    Policy,
    ProductMode,
    TrainedOnMargin,
    calibrate,
    counterfeit_score,
    decide,
    label_similarity,
    leave_one_group_out,
    product_mode,
    unlike_reason,
)


class LeftOut(NamedTuple):
    """A product's references as a brand's calibration scores them, each with its own photo
    group left out. The ids let one model's scores be set against another's on the same
    references (:func:`.health.model_difference`)."""

    scores: np.ndarray
    is_fake: np.ndarray
    nearest: np.ndarray  # similarity to the nearest reference of another photo group
    groups: np.ndarray
    ids: np.ndarray


@dataclass(frozen=True)
class BrandCalibration:
    """Everything a brand's verdicts depend on, computed once per gallery revision."""

    modes: dict[str, ProductMode]  # by product name
    by_mode: dict[Mode, Calibration | str]  # a Calibration, or why there is none
    #: References the model was trained on, left out of the calibration (never of the search):
    #: their left-out scores separate better than a new photo's will.
    skipped: frozenset[int] = frozenset()
    #: Training photos the calibration had to include, too few others being left: while this
    #: is non-zero the operating point is optimistic and the brand is told so.
    trained_included: int = 0
    #: Each judged product's references as the calibration scored them: a product's health
    #: figures and the comparison of models show these (re-ranking by cells makes them
    #: seconds to redo).
    left_out: dict[str, LeftOut] = field(default_factory=dict)
    #: The model's margin the included training photos' scores were moved by, if it has one.
    margin: TrainedOnMargin | None = None

    @property
    def warning(self) -> str:
        if not self.trained_included:
            return ""
        if self.margin is not None:
            return because("calibrated_on_training_with_margin", n=self.trained_included)
        return because("calibrated_on_training", n=self.trained_included)


def mode_of(rows: ProductRows, policy: Policy) -> ProductMode:
    return product_mode(len(np.unique(rows.group[~rows.is_fake])),
                        len(np.unique(rows.group[rows.is_fake])), policy)


def left_out_scores(rows: ProductRows, mode: Mode, policy: Policy,
                    skip: frozenset[int] = frozenset(), workers: int = 1,
                    moved: tuple[frozenset[int], TrainedOnMargin] | None = None) -> LeftOut:
    """A product's references, each scored with its own photo group left out: what the
    brand's calibration is fitted on, and what a product's health figures show, so both see
    exactly the same references.

    References whose id is in ``skip`` are not scored (they still count as neighbours). Beyond
    ``policy.max_calibration_queries`` references a sample is scored, seeded by the product's
    size: the same gallery always gives the same operating point. ``workers``: threads that
    re-rank by cells at once (:func:`.cells.left_out_reranked`; the same scores). ``moved``:
    references the model was trained on and its margin, which their scores are moved by.
    """
    queries = np.flatnonzero(~np.isin(rows.ids, list(skip))) if skip else np.arange(len(rows))
    if len(queries) > policy.max_calibration_queries:
        queries = np.sort(np.random.default_rng(len(rows)).choice(
            queries, policy.max_calibration_queries, replace=False))
    left_out = leave_one_group_out(rows.vectors, rows.is_fake, rows.group, policy.k, queries)
    scores = np.asarray(counterfeit_score(left_out.s_genuine, left_out.s_fake, mode))
    if mode == Mode.CONTRAST and rows.cells is not None and rows.layout is not None:
        scores = scores + left_out_reranked(rows.vectors, rows.cells, rows.is_fake, rows.group,
                                            queries, rows.layout, policy.shortlist,
                                            workers=workers)
    if moved is not None:
        trained, margin = moved
        in_training = np.isin(rows.ids[queries], list(trained))
        scores = scores + np.where(in_training, margin.shift(rows.is_fake[queries]), 0.0)
    # Indexing copies: the rows are updated in place by later imports and removals.
    return LeftOut(scores, rows.is_fake[queries], left_out.nearest, rows.group[queries],
                   rows.ids[queries])


def calibrate_brand(index: BrandIndex, policy: Policy,
                    trained_on: frozenset[int] = frozenset(), workers: int = 1,
                    margin: TrainedOnMargin | None = None) -> BrandCalibration:
    """Leave-one-photo-group-out scores of every product, pooled over the brand per mode.

    ``trained_on`` names references the model was trained on. A model scores its own training
    photos more confidently than new ones (the fine-tuned model on its nike training photos:
    1 % of them flagged at the operating point, 6.4 % of new genuine photos), so they are left
    out of the calibration whenever the other references suffice to calibrate every mode;
    otherwise all are used and :attr:`BrandCalibration.warning` says so; the model's
    ``margin``, when it has one, then moves their scores to where new photos' would lie.
    ``workers``: threads for the re-ranking by cells (:func:`left_out_scores`).
    """
    ids = np.concatenate([rows.ids for rows in index.products.values()] or [np.zeros(0, int)])
    present = frozenset(ids[np.isin(ids, list(trained_on))].tolist()) if trained_on else None
    if present:
        unseen = _calibrate(index, policy, present, workers)
        if not any(isinstance(c, str) for c in unseen.by_mode.values()):
            return unseen
        moved = None if margin is None else (present, margin)
        return replace(_calibrate(index, policy, workers=workers, moved=moved),
                       trained_included=len(present), margin=margin)
    return _calibrate(index, policy, workers=workers)


def _calibrate(index: BrandIndex, policy: Policy, skip: frozenset[int] = frozenset(),
               workers: int = 1, moved: tuple[frozenset[int], TrainedOnMargin] | None = None
               ) -> BrandCalibration:
    modes = {name: mode_of(rows, policy) for name, rows in index.products.items()}
    pooled: dict[Mode, list[LeftOut]] = {}
    left_out: dict[str, LeftOut] = {}
    for name, rows in index.products.items():
        mode = modes[name].mode
        if mode is not None:
            scored = left_out_scores(rows, mode, policy, skip, workers, moved)
            pooled.setdefault(mode, []).append(scored)
            left_out[name] = scored
    by_mode: dict[Mode, Calibration | str] = {}
    for mode in Mode:
        if mode in pooled:
            parts = pooled[mode]
            scores, is_fake, nearest, groups = (
                np.concatenate([getattr(part, name) for part in parts])
                for name in ("scores", "is_fake", "nearest", "groups"))
            by_mode[mode] = calibrate(scores, is_fake, nearest, mode, policy, groups)
    return BrandCalibration(modes, by_mode, skip, left_out=left_out)


def trained_on_scores(index: BrandIndex, policy: Policy, trained_on: frozenset[int],
                      workers: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left-out scores, labels and photo groups of the references in ``trained_on``, in the
    products judged against known fakes, unmoved: what a model's
    :class:`.scoring.TrainedOnMargin` is measured from (set against new photos' scores)."""
    parts = []
    for rows in index.products.values():
        if mode_of(rows, policy).mode == Mode.CONTRAST:
            others = frozenset(rows.ids.tolist()) - trained_on
            scored = left_out_scores(rows, Mode.CONTRAST, policy, others, workers)
            parts.append((scored.scores, scored.is_fake, scored.groups))
    if not parts:
        return np.zeros(0, np.float32), np.zeros(0, bool), np.zeros(0, str)
    scores, is_fake, groups = (np.concatenate(part) for part in zip(*parts, strict=True))
    return scores, is_fake, groups


@dataclass(frozen=True)
class Assessment:
    """The pure result for one photo; references are named by their ids."""

    product: str | None
    product_candidates: list[tuple[str, float]]
    verdict: Verdict
    reason: str
    p_counterfeit: float | None
    score: float | None
    mode: Mode | None
    nearest_genuine: list[tuple[int, float]]
    nearest_fake: list[tuple[int, float]]
    calibration: Calibration | None


def assess(query: np.ndarray, index: BrandIndex, brand_calibration: BrandCalibration,
           policy: Policy, product: str | None = None, n_neighbours: int = 3,
           n_candidates: int = 3, query_cells: np.ndarray | None = None) -> Assessment:
    """Compare one embedding with a product's references; ``product=None`` proposes one.

    Only the product's rows are read when the product is given; proposing one reads the brand
    (see :meth:`BrandIndex.product_maxima`). Under a model with cells the photo's cells
    (``query_cells``) re-rank its score against known fakes, as the calibration scored the
    references (:func:`left_out_scores`).
    """
    query = np.asarray(query, dtype=np.float32)
    if index.layout is not None and query_cells is None:
        raise ValueError("the brand's model describes photos by cells: pass the photo's")
    if len(index) == 0:
        return _inconclusive(product, [], because("no_brand_references"))
    candidates: list[tuple[str, float]] = []
    if product is None:
        candidates = index.product_maxima(query)[0][:n_candidates]
        product = candidates[0][0]
    rows = index.products.get(product)
    if rows is None or len(rows) == 0:
        return _inconclusive(product, candidates, because("no_product_references"))
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
    if mode.mode == Mode.CONTRAST and rows.cells is not None and index.layout is not None:
        cells = np.asarray(query_cells).reshape(index.layout.cells, index.layout.width)
        score += reranked(sims, cells, rows.cells, fake, index.layout, policy.shortlist)
    verdict, reason = decide(score, calibration)
    return Assessment(product, candidates, verdict, reason, calibration.p_counterfeit(score),
                      score, mode.mode, nearest_genuine, nearest_fake, calibration)


@dataclass(frozen=True)
class ItemCandidate:
    """A brand's product that a photo of an unnamed item may show, by its most similar
    reference photo (either label: a fake looks like the product it copies)."""

    brand: str
    product: str
    similarity: float


def propose_items(query: np.ndarray, indexes: Mapping[str, BrandIndex], n: int = 3
                  ) -> list[ItemCandidate]:
    """The products of all the brands given most like the photo, best first. The officer sees
    the top few with their similarity, so a near tie between two products reads as one, and
    the first is judged as if it had been named (see :func:`assess`)."""
    query = np.asarray(query, dtype=np.float32)
    found = [ItemCandidate(brand, product, similarity)
             for brand, index in indexes.items()
             for product, similarity in index.product_maxima(query)[0]]
    return sorted(found, key=lambda c: -c.similarity)[:n]


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
    return Assessment(product, candidates, Verdict.INCONCLUSIVE, reason, None, None, None,
                      nearest_genuine or [], nearest_fake or [], None)
