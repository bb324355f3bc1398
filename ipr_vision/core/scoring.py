"""The suggestion's math: similarity to each label, leave-one-photo-group-out calibration, verdict.

Pure functions of arrays. A photo's *score* says how much more it resembles the product's known
fakes than its genuine references (``contrast`` mode), or, for a product with genuine references
only, how far it is from the nearest genuine one (``genuine_only`` mode). Scores only mean
something relative to the gallery, so each brand is calibrated on its own references: every
reference is scored against the rest of the gallery with its own photo group left out (copies of
one photo must never vouch for each other), and those scores set the operating point and map a
score to ``p_counterfeit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..domain import OperatingPoint, StrEnum, Verdict
from .metrics import confident_flag_threshold, flag_threshold
from .reasons import because


class Mode(StrEnum):
    """How a product is scored: against its known fakes, or by distance from its genuine
    references when it has too few fakes."""

    CONTRAST = "contrast"
    GENUINE_ONLY = "genuine_only"


@dataclass(frozen=True)
class Policy:
    """The knobs a brand's operating point depends on; defaults follow the core-engine issue."""

    #: Operating point: at most this share of genuine items is flagged, set on the genuine
    #: references (left out in turn) so that it holds for new photos too: the threshold is
    #: this quantile over resamples of their photo groups
    #: (:func:`.metrics.confident_flag_threshold`). A percentile bootstrap of a 99th percentile
    #: falls short of its nominal level: in simulations of 150-500 groups (photos of a group
    #: sharing an offset) 0.95 kept the promise 85-94 % of the time, 0.9 only 77-87 %
    #: (``tests/core/test_operating_point.py``). Chosen so, never on the real photos' figures.
    max_genuine_flagged: float = 0.01
    operating_point_confidence: float = 0.95
    operating_point_resamples: int = 200
    #: "Likely genuine" only where at most this share of known fakes would be cleared.
    max_fake_cleared: float = 0.05
    #: Genuine-only products: "likely genuine" within this quantile of genuine references' scores.
    genuine_only_clear_quantile: float = 0.90
    #: Neighbours averaged per label (1 = nearest neighbour).
    k: int = 3
    #: Under a model with cells, the references of each label nearest by the pooled vector
    #: whose cells re-rank a photo (:mod:`.cells`): the size screened by cross-validation.
    shortlist: int = 20
    #: A product needs this many genuine photo groups before it gets a verdict.
    min_genuine_groups: int = 3
    #: Known fakes are used once a product has this many fake photo groups.
    min_fake_groups: int = 3
    #: Left-out genuine scores a brand needs before its operating point means anything.
    min_calibration_genuine: int = 20
    #: Left-out fake scores a brand needs before fakes are used for calibration.
    min_calibration_fake: int = 10
    #: Isotonic calibration once a brand has this many left-out scores (and a quarter of them
    #: of each label); below, the two-parameter Platt fit, which cannot overfit a small gallery.
    min_isotonic_scores: int = 200
    #: References per product scored for calibration, at most: a fixed random sample beyond
    #: this keeps recalibration after an import to seconds on large products (cost grows with
    #: sample x product size instead of product size squared).
    max_calibration_queries: int = 2000


def label_similarity(sims: np.ndarray, is_fake: np.ndarray, k: int = 1,
                     exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the top-``k`` similarities to genuine and to fake columns, per query row.

    ``sims`` is ``(m, n)``; ``exclude`` (same shape) hides pairs that must not count, such as a
    reference and the copies of its own photo. A label with no usable column gives NaN.
    """
    sims = np.atleast_2d(sims).astype(np.float32, copy=True)
    if exclude is not None:
        sims[exclude] = -np.inf
    return _top_k_mean(sims[:, ~is_fake], k), _top_k_mean(sims[:, is_fake], k)


def _top_k_mean(sims: np.ndarray, k: int) -> np.ndarray:
    if sims.shape[1] == 0:
        return np.full(sims.shape[0], np.nan, dtype=np.float32)
    k = min(k, sims.shape[1])
    top = sims.max(axis=1, keepdims=True) if k == 1 else -np.partition(-sims, k - 1, axis=1)[:, :k]
    with np.errstate(invalid="ignore"):
        mean = top.mean(axis=1)
    mean[~np.isfinite(mean)] = np.nan
    return mean.astype(np.float32)


def counterfeit_score(s_genuine: np.ndarray | float, s_fake: np.ndarray | float,
                      mode: Mode) -> np.ndarray | float:
    """Higher means more likely counterfeit. Contrast: fake minus genuine similarity."""
    if mode == Mode.CONTRAST:
        return np.subtract(s_fake, s_genuine)
    return np.subtract(1.0, s_genuine)


@dataclass(frozen=True)
class ProductMode:
    """How a product can be judged, given how many distinct photos of each label it has."""

    mode: Mode | None  # None when the product cannot be judged
    genuine_groups: int
    fake_groups: int
    reason: str = ""


def product_mode(genuine_groups: int, fake_groups: int, policy: Policy) -> ProductMode:
    if genuine_groups < policy.min_genuine_groups:
        return ProductMode(None, genuine_groups, fake_groups,
                           because("few_genuine_photos", n=genuine_groups,
                                   need=policy.min_genuine_groups))
    mode = Mode.CONTRAST if fake_groups >= policy.min_fake_groups else Mode.GENUINE_ONLY
    return ProductMode(mode, genuine_groups, fake_groups)


@dataclass(frozen=True)
class TrainedOnMargin:
    """How much further apart a model puts its own training photos than new ones, per label,
    where a brand's operating point is set: added to the left-out scores of references the
    model was trained on when a brand has to be calibrated on them.

    A model scores its training photos too confidently: calibrated on them alone, cross-
    validation of the shipped recipe flagged 3.4-5.1 % of new genuine photos where 1 % was
    promised and cleared 13-17 % of new fakes where 5 % was (``weights/MODEL_CARD.md``). The
    gap is a property of the recipe, so it is measured once, by cross-validation
    (:func:`trained_on_margin`, ``training.evaluate --folds``), and kept beside the weights.
    """

    genuine: float  # >= 0: a trained-on genuine reference scores this much too low
    fake: float  # <= 0: a trained-on fake reference scores this much too high

    def shift(self, is_fake: np.ndarray) -> np.ndarray:
        """What to add to each trained-on reference's left-out score."""
        return np.where(is_fake, self.fake, self.genuine)

    def to_dict(self) -> dict[str, float]:
        return {"genuine": self.genuine, "fake": self.fake}


def trained_on_margin(trained: np.ndarray, trained_fake: np.ndarray, new: np.ndarray,
                      new_fake: np.ndarray, policy: Policy) -> TrainedOnMargin:
    """The margin one fold measures: for each label, how far the quantile its operating
    point rests on (genuine: the ``1 - max_genuine_flagged`` quantile; fakes: the
    ``max_fake_cleared`` one) lies between the left-out scores of the photos the model was
    trained on and the scores of photos it has never seen. Never a margin that would make the
    brand less careful than its training photos' own scores would."""
    trained, new = np.asarray(trained, dtype=np.float64), np.asarray(new, dtype=np.float64)
    trained_fake, new_fake = np.asarray(trained_fake, bool), np.asarray(new_fake, bool)
    flag, clear = 1.0 - policy.max_genuine_flagged, policy.max_fake_cleared
    genuine = np.quantile(new[~new_fake], flag) - np.quantile(trained[~trained_fake], flag)
    fake = np.quantile(new[new_fake], clear) - np.quantile(trained[trained_fake], clear)
    return TrainedOnMargin(max(float(genuine), 0.0), min(float(fake), 0.0))


@dataclass(frozen=True)
class LeftOutScores:
    """Each reference scored against its product with its own photo group left out."""

    s_genuine: np.ndarray
    s_fake: np.ndarray
    nearest: np.ndarray  # best similarity to any other photo group of the product


def leave_one_group_out(vectors: np.ndarray, is_fake: np.ndarray, group: np.ndarray,
                        k: int = 1, queries: np.ndarray | None = None,
                        chunk: int = 2048) -> LeftOutScores:
    """Score references of a product as if each were an inspection photo, never letting it see
    its own photo group; ``queries`` (row indices) limits which are scored, against all rows.

    Computed ``chunk`` query rows at a time so memory stays bounded on large products.
    """
    rows = np.arange(len(vectors)) if queries is None else np.asarray(queries)
    n = len(rows)
    s_genuine = np.full(n, np.nan, dtype=np.float32)
    s_fake = np.full(n, np.nan, dtype=np.float32)
    nearest = np.full(n, np.nan, dtype=np.float32)
    for start in range(0, n, chunk):
        block = slice(start, start + chunk)
        sims = vectors[rows[block]] @ vectors.T
        same = group[rows[block]][:, None] == group[None, :]
        s_genuine[block], s_fake[block] = label_similarity(sims, is_fake, k, exclude=same)
        best = np.where(same, -np.inf, sims).max(axis=1)
        nearest[block] = np.where(np.isfinite(best), best, np.nan)
    return LeftOutScores(s_genuine, s_fake, nearest)


@dataclass(frozen=True)
class Calibration:
    """A brand's operating point and score-to-probability map for one scoring mode."""

    mode: Mode
    threshold: float  # counterfeit when score > threshold
    clear_below: float  # genuine when score < clear_below
    min_similarity: float  # below this the photo does not resemble the product's references
    genuine_scores: np.ndarray = field(repr=False)  # sorted, left-out scores of genuine refs
    fake_scores: np.ndarray = field(repr=False)  # sorted, left-out scores of fake refs
    #: How a score becomes p_counterfeit: "isotonic", "platt" (both fitted on known fakes) or
    #: "rank" (genuine references only).
    method: str = "rank"
    #: isotonic: knot scores and probabilities; platt: (a, b) of sigmoid(a * score + b).
    params: tuple[np.ndarray, ...] = field(default=(), repr=False)

    @property
    def calibrated(self) -> bool:
        """True when p_counterfeit is a probability fitted on known fakes, not a rank."""
        return self.method != "rank"

    @property
    def genuine_flagged(self) -> float:
        """Share of genuine references (left out) that the operating point flags."""
        return float(np.mean(self.genuine_scores > self.threshold))

    @property
    def expected_fake_recall(self) -> float | None:
        """Share of known fakes (left out) flagged at the operating point."""
        if len(self.fake_scores) == 0:
            return None
        return float(np.mean(self.fake_scores > self.threshold))

    def operating_point(self, max_genuine_flagged: float) -> OperatingPoint:
        """The brand's promise with what this calibration's threshold does on its references."""
        return OperatingPoint(max_genuine_flagged, self.threshold, self.genuine_flagged,
                              self.expected_fake_recall)

    def p_counterfeit(self, score: float) -> float:
        """Probability of counterfeit under equal priors (contrast), else an atypicality rank.

        Fitted probabilities are kept within [0.01, 0.99]: a gallery of a few hundred photos
        cannot vouch for more certainty than that. Without known fakes no probability can be
        fitted; the value is then the share of genuine references that look more genuine than
        the photo, which orders photos the same way.
        """
        if self.method == "isotonic":
            knots, values = self.params
            return float(np.clip(np.interp(score, knots, values), 0.01, 0.99))
        if self.method == "platt":
            a, b = (float(v) for v in self.params)
            return float(np.clip(1.0 / (1.0 + np.exp(-(a * score + b))), 0.01, 0.99))
        rank = np.searchsorted(self.genuine_scores, score, side="left")
        return float(rank / max(len(self.genuine_scores), 1))


def calibrate(scores: np.ndarray, is_fake: np.ndarray, nearest: np.ndarray, mode: Mode,
              policy: Policy, groups: np.ndarray | None = None) -> Calibration | str:
    """Fit a brand's operating point from left-out scores; return a reason when it cannot.

    ``groups`` (each score's photo group) lets the operating point carry a margin for photos
    the gallery has never seen; without them it is the plain share of the scores at hand.
    """
    usable = np.isfinite(scores)
    genuine_rows = usable & ~is_fake
    order = np.argsort(scores[genuine_rows], kind="stable")
    genuine = scores[genuine_rows][order]
    fake = np.sort(scores[usable & is_fake])
    if len(genuine) < policy.min_calibration_genuine:
        return because("few_genuine_to_calibrate", n=len(genuine),
                       need=policy.min_calibration_genuine)
    if mode == Mode.CONTRAST and len(fake) < policy.min_calibration_fake:
        return because("few_fakes_to_calibrate", n=len(fake), need=policy.min_calibration_fake)
    threshold = (flag_threshold(genuine, policy.max_genuine_flagged) if groups is None else
                 confident_flag_threshold(genuine, groups[genuine_rows][order],
                                          policy.max_genuine_flagged,
                                          policy.operating_point_confidence,
                                          policy.operating_point_resamples))
    method: str = "rank"
    params: tuple[np.ndarray, ...] = ()
    if mode == Mode.CONTRAST:
        clear_below = min(clear_threshold(fake, policy.max_fake_cleared), threshold)
        scores = np.concatenate([genuine, fake])
        labels = np.concatenate([np.zeros(len(genuine)), np.ones(len(fake))])
        enough = len(scores) >= policy.min_isotonic_scores
        if enough and min(len(genuine), len(fake)) >= policy.min_isotonic_scores // 4:
            method, params = "isotonic", fit_isotonic(scores, labels)
        else:
            method, params = "platt", tuple(np.array(fit_platt(scores, labels)))
    else:
        clear_below = min(float(np.quantile(genuine, policy.genuine_only_clear_quantile)),
                          threshold)
    close = nearest[np.isfinite(nearest)]
    min_similarity = float(np.quantile(close, 0.005)) - 0.05 if len(close) else -1.0
    return Calibration(mode, threshold, clear_below, min_similarity, genuine, fake, method,
                       params)


def clear_threshold(fake_sorted: np.ndarray, max_cleared: float) -> float:
    """Largest bound below which at most ``max_cleared`` of the fake scores fall."""
    allowed = int(np.floor(max_cleared * len(fake_sorted)))
    return float(fake_sorted[allowed])


def _balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Each label weighs half in total: the gallery's share of fakes is the right holder's
    choice, not the share at the border, so p = 0.5 means "as like the fakes as the genuines"."""
    return np.where(labels > 0.5, 0.5 / max(labels.sum(), 1), 0.5 / max((1 - labels).sum(), 1))


def fit_isotonic(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monotone fit of label on score (pool adjacent violators, balanced weights).

    Returns knots (each pooled block's mean score) and the block's fake share; p is linearly
    interpolated between knots, which keeps it monotone and avoids steps at single scores.
    On held-out sneaker photos it halved Platt's calibration error at some splits.
    """
    order = np.argsort(scores, kind="mergesort")
    x = np.asarray(scores, dtype=np.float64)[order]
    y = np.asarray(labels, dtype=np.float64)[order]
    w = _balanced_weights(y)
    block_y: list[float] = []
    block_w: list[float] = []
    block_xw: list[float] = []
    for xi, yi, wi in zip(x, y, w, strict=True):
        block_y.append(yi)
        block_w.append(wi)
        block_xw.append(xi * wi)
        while len(block_y) > 1 and block_y[-2] >= block_y[-1]:
            total = block_w[-2] + block_w[-1]
            block_y[-2] = (block_y[-2] * block_w[-2] + block_y[-1] * block_w[-1]) / total
            block_xw[-2] += block_xw[-1]
            block_w[-2] = total
            del block_y[-1], block_w[-1], block_xw[-1]
    # With balanced weights a block's weighted mean label is already its probability of fake
    # under equal priors.
    return np.array(block_xw) / np.array(block_w), np.array(block_y)


def fit_platt(scores: np.ndarray, labels: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Logistic fit of label on score with balanced class weights (Newton's method, ridge 1e-3)."""
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    weights = _balanced_weights(y)
    mean, scale = x.mean(), x.std() or 1.0
    z = (x - mean) / scale
    design = np.stack([z, np.ones_like(z)], axis=1)
    theta = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (weights * (p - y)) + 1e-3 * theta
        hessian = (design * (weights * p * (1 - p))[:, None]).T @ design + 1e-3 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-9:
            break
    a = theta[0] / scale
    return float(a), float(theta[1] - a * mean)


def unlike_reason(best_similarity: float, calibration: Calibration) -> str | None:
    """Why no score is given to a photo unlike every reference of the product, if it is."""
    if best_similarity >= calibration.min_similarity:
        return None
    return because("unlike_product", best=f"{best_similarity:.2f}")


def decide(score: float, calibration: Calibration) -> tuple[Verdict, str]:
    """Verdict and, when inconclusive, the reason."""
    if score > calibration.threshold:
        return Verdict.COUNTERFEIT, ""
    if score < calibration.clear_below:
        return Verdict.GENUINE, ""
    if calibration.mode == Mode.CONTRAST:
        return Verdict.INCONCLUSIVE, because("between")
    return Verdict.INCONCLUSIVE, because("less_typical")
