"""How well one product's references separate genuine from fake (pure: arrays in, figures out).

Right holders curate galleries; a product whose fakes score like its genuine references, or
whose probabilities are off, needs better references. The figures come from the same
leave-one-photo-group-out scores the brand is calibrated on (:func:`.suggest.left_out_scores`)
and are judged at the brand's own operating point, so they show what inspections will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..domain import json_safe
from .index import ProductRows
from .metrics import (
    RESAMPLES,
    auroc,
    expected_calibration_error,
    group_bootstrap,
    recall_at_flag_rate,
    reliability_bins,
    roc_curve,
)
from .scoring import Calibration, Mode, Policy, ProductMode
from .suggest import BrandCalibration, LeftOut, left_out_scores

#: (bound, word): the first word whose bound the AUROC reaches; below them all, "weak".
SEPARATION_GRADES = ((0.9, "strong"), (0.75, "fair"), (float("-inf"), "weak"))
#: (bound, word): the first word whose bound the calibration error (ECE) stays under.
CALIBRATION_GRADES = ((0.05, "good"), (0.15, "fair"), (float("inf"), "poor"))


# eq=False: arrays have no single truth value, so two health records compare by identity.
@dataclass(frozen=True, eq=False)
class ProductHealth:
    """A product's references, each scored with its own photo group left out."""

    genuine: int  # genuine references
    fake: int  # known fakes
    genuine_groups: int  # distinct genuine photos (copies of one photo count once)
    fake_groups: int
    mode: Mode | None  # None when the product cannot be scored
    reason: str  # why figures are missing ("" when all are given)
    scores: np.ndarray = field(repr=False)  # left-out scores (a fixed sample on large products)
    is_fake: np.ndarray = field(repr=False)  # the label of each score
    p_counterfeit: np.ndarray = field(repr=False)  # each score through the brand's calibration
    calibrated: bool  # p_counterfeit fitted on known fakes (else an atypicality rank)
    auroc: float  # NaN without both labels
    #: Its 95 % interval over the references' photo groups (None without both labels): a
    #: product of a few dozen references moves by tenths from one draw of photos to the next.
    auroc_ci95: tuple[float, float] | None
    roc: tuple[np.ndarray, np.ndarray] = field(repr=False)  # (false, true positive rates)
    #: Reliability diagram points of p_counterfeit, only when it is fitted. p_counterfeit
    #: assumes equal priors, so a product with many more genuine references than fakes shows
    #: observed shares below predicted ones even when well calibrated.
    reliability: list[dict[str, float]]
    ece: float  # expected calibration error over those bins; NaN when not fitted
    threshold: float | None  # the brand's operating point: flagged when score > threshold
    max_genuine_flagged: float  # the brand's policy
    genuine_flagged: float  # share of this product's left-out genuine references flagged
    expected_fake_caught: float  # share of this product's left-out known fakes flagged
    brand_expected_fake_recall: float | None  # the same over the whole brand
    #: References of this product the model was trained on: neither scored here nor used to
    #: calibrate (see :func:`.suggest.calibrate_brand`).
    skipped: int = 0
    #: Training photos the brand's calibration had to include: its operating point is then
    #: optimistic (:attr:`.suggest.BrandCalibration.warning`), unless the model's margin
    #: moved their scores (``trained_moved``), as the scores here are.
    trained_included: int = 0
    trained_moved: bool = False

    @property
    def separation_grade(self) -> str | None:
        """The AUROC in a word a right holder can act on: "strong", "fair" or "weak" (None
        without both labels)."""
        return _grade(self.auroc, SEPARATION_GRADES, higher_is_better=True)

    @property
    def calibration_grade(self) -> str | None:
        """The calibration error in a word: "good", "fair" or "poor" (None when not fitted)."""
        return _grade(self.ece, CALIBRATION_GRADES, higher_is_better=False)

    def to_dict(self) -> dict[str, Any]:
        """Summary figures and curve points (4 decimals) as JSON, undefined figures as null; the
        raw per-reference arrays are left out, they can run to thousands of values."""
        fpr, tpr = self.roc
        return json_safe({
            "genuine": self.genuine, "fake": self.fake,
            "genuine_groups": self.genuine_groups, "fake_groups": self.fake_groups,
            "mode": self.mode, "reason": self.reason,
            "scored_genuine": int((~self.is_fake).sum()), "scored_fake": int(self.is_fake.sum()),
            "calibrated": self.calibrated, "auroc": self.auroc,
            "auroc_ci95": None if self.auroc_ci95 is None else list(self.auroc_ci95),
            "ece": self.ece,
            "skipped_training_photos": self.skipped,
            "calibrated_on_training_photos": self.trained_included,
            "training_photos_moved_by_margin": self.trained_moved,
            "roc": {"fpr": np.round(fpr, 4).tolist(), "tpr": np.round(tpr, 4).tolist()},
            "reliability": self.reliability,
            "operating_point": {
                "threshold": self.threshold,
                "max_genuine_flagged": self.max_genuine_flagged,
                "genuine_flagged": self.genuine_flagged,
                "expected_fake_caught": self.expected_fake_caught,
                "brand_expected_fake_recall": self.brand_expected_fake_recall,
            },
        })


def product_health(rows: ProductRows, mode: ProductMode, calibration: Calibration | str | None,
                   policy: Policy, skip: frozenset[int] = frozenset(), trained_included: int = 0,
                   left_out: LeftOut | None = None,
                   trained_moved: bool = False) -> ProductHealth:
    """The product's health figures under the brand's calibration for its mode.

    ``mode`` is the product's entry in :attr:`.suggest.BrandCalibration.modes` and
    ``calibration`` the brand's entry for that mode in ``by_mode`` (a reason when the brand
    could not be calibrated), or None when the product has no mode. ``policy`` must be the one
    the brand was calibrated with, and ``skip`` and ``trained_included`` the brand
    calibration's ``skipped`` and ``trained_included``, so the left-out sample is the same;
    ``left_out``, the product's references as the calibration scored them
    (:attr:`.suggest.BrandCalibration.left_out`), spares computing them again, and
    ``trained_moved`` says the training photos among them were moved by the model's margin.
    Without a calibration the separation (scores, AUROC, ROC) is still shown: it is what more
    references would fix.
    """
    empty = np.zeros(0)
    scores, is_fake, groups = empty, np.zeros(0, dtype=bool), np.zeros(0, dtype=str)
    if mode.mode is not None:
        scored = left_out or left_out_scores(rows, mode.mode, policy, skip)
        usable = np.isfinite(scored.scores)
        scores, is_fake = scored.scores[usable], scored.is_fake[usable]
        groups = scored.groups[usable]
    fitted = calibration if isinstance(calibration, Calibration) else None
    reason = mode.reason or (calibration if isinstance(calibration, str) else "")
    # Python floats, as an inspection passes them: float32 scores would be clipped to a
    # float32 0.99, a hair above the documented bound.
    p = np.array([fitted.p_counterfeit(float(s)) for s in scores]) if fitted else empty
    calibrated = fitted is not None and fitted.calibrated
    threshold = fitted.threshold if fitted else None
    return ProductHealth(
        genuine=int((~rows.is_fake).sum()), fake=int(rows.is_fake.sum()),
        genuine_groups=mode.genuine_groups, fake_groups=mode.fake_groups,
        mode=mode.mode, reason=reason, scores=scores, is_fake=is_fake, p_counterfeit=p,
        calibrated=calibrated, auroc=auroc(is_fake, scores),
        auroc_ci95=auroc_interval(is_fake, scores, groups), roc=roc_curve(is_fake, scores),
        reliability=reliability_bins(is_fake, p) if calibrated else [],
        ece=expected_calibration_error(is_fake, p) if calibrated else float("nan"),
        threshold=threshold, max_genuine_flagged=policy.max_genuine_flagged,
        genuine_flagged=_flagged(scores[~is_fake], threshold),
        expected_fake_caught=_flagged(scores[is_fake], threshold),
        brand_expected_fake_recall=fitted.expected_fake_recall if fitted else None,
        skipped=int(np.isin(rows.ids, list(skip)).sum()) if skip else 0,
        trained_included=trained_included, trained_moved=trained_moved)


def auroc_interval(is_fake: np.ndarray, scores: np.ndarray, groups: np.ndarray,
                   resamples: int = RESAMPLES) -> tuple[float, float] | None:
    """95 % interval of the AUROC over photo groups resampled within each label (seeded:
    the same references always give the same interval); None without both labels."""
    if is_fake.all() or not is_fake.any():
        return None
    strata = ["fake" if fake else "genuine" for fake in is_fake]
    low, high = group_bootstrap(lambda rows: {"auroc": auroc(is_fake[rows], scores[rows])},
                                [str(group) for group in groups], strata, resamples)["auroc"]
    return low, high


#: Shares of genuine items flagged at which models' fake catch rates are compared: the issue's
#: yardsticks, beside each brand's own operating point.
COMPARED_FLAG_RATES = (0.01, 0.05)


@dataclass(frozen=True)
class Separation:
    """How well one model tells a brand's known fakes from its genuine references in one
    scoring mode, from the left-out scores the brand's calibration under that model was fitted
    on: the figures by which a brand's model is chosen."""

    genuine: int  # left-out genuine scores
    fake: int  # left-out fake scores
    auroc: float  # NaN without fakes
    fake_caught: float | None  # at the brand's operating point; None without fakes
    #: Share of fakes caught at each share of genuine flagged in :data:`COMPARED_FLAG_RATES`.
    fake_caught_at: dict[float, float]

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"genuine": self.genuine, "fake": self.fake, "auroc": self.auroc,
                          "fake_caught": self.fake_caught,
                          "fake_caught_at": {str(k): v for k, v in self.fake_caught_at.items()}})


def separation(calibration: Calibration) -> Separation:
    """A calibration's own left-out scores summed up, thresholds drawn as its operating point
    draws its own (:func:`.metrics.flag_threshold`), so the figures are what inspections get."""
    genuine, fake = calibration.genuine_scores, calibration.fake_scores
    labels = np.r_[np.zeros(len(genuine), dtype=bool), np.ones(len(fake), dtype=bool)]
    scores = np.r_[genuine, fake]
    return Separation(len(genuine), len(fake), auroc(labels, scores),
                      calibration.expected_fake_recall,
                      {share: recall_at_flag_rate(labels, scores, share)
                       for share in COMPARED_FLAG_RATES})


@dataclass(frozen=True)
class ModelDifference:
    """Another model's left-out AUROC on a brand less the model in use's, on the references
    both scored, with a 95 % interval over the brand's photo groups. Two AUROCs of a few
    hundred references each move by a few hundredths from one draw of photos to the next, so
    a right holder who sees 0.78 against 0.76 needs to know whether switching would help or
    only seems to."""

    references: int  # scored under both models
    auroc: float  # the other model's less the model in use's
    low: float
    high: float

    @property
    def verdict(self) -> str:
        """"better" or "worse" where the interval leaves out zero, else "no_clear_difference"."""
        if self.low > 0:
            return "better"
        if self.high < 0:
            return "worse"
        return "no_clear_difference"

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"references": self.references, "auroc": self.auroc,
                          "ci95": [self.low, self.high], "verdict": self.verdict})


def model_difference(other: BrandCalibration, in_use: BrandCalibration,
                     resamples: int = RESAMPLES) -> ModelDifference | None:
    """``other``'s AUROC less ``in_use``'s over the references both calibrations scored in
    products judged against known fakes, paired: each resample draws photo groups (within
    product and label) and scores them under both models, so what the photos have in common
    cancels and a difference smaller than either AUROC's own noise can still show. None
    without a genuine and a fake reference scored by both. Seeded, so the same references
    always give the same interval."""
    theirs = {int(ref): float(score) for name, left in other.left_out.items()
              if other.modes[name].mode == Mode.CONTRAST
              for ref, score in zip(left.ids, left.scores, strict=True)}
    rows = [(theirs[int(ref)], float(score), bool(fake), f"{name}/{group}",
             f"{name}/{'fake' if fake else 'genuine'}")
            for name, left in in_use.left_out.items()
            if in_use.modes[name].mode == Mode.CONTRAST
            for ref, score, fake, group in zip(left.ids, left.scores, left.is_fake, left.groups,
                                                strict=True)
            if int(ref) in theirs and np.isfinite(score) and np.isfinite(theirs[int(ref)])]
    if not rows:
        return None
    mine, used = (np.array([row[n] for row in rows], dtype=np.float64) for n in (0, 1))
    is_fake = np.array([row[2] for row in rows], dtype=bool)
    if is_fake.all() or not is_fake.any():
        return None

    def delta(drawn: np.ndarray) -> dict[str, float]:
        return {"auroc": auroc(is_fake[drawn], mine[drawn]) - auroc(is_fake[drawn], used[drawn])}

    low, high = group_bootstrap(delta, [row[3] for row in rows], [row[4] for row in rows],
                                resamples)["auroc"]
    return ModelDifference(len(rows), delta(np.arange(len(rows)))["auroc"], low, high)


def _grade(value: float, grades: tuple[tuple[float, str], ...], *,
           higher_is_better: bool) -> str | None:
    if value != value:  # NaN: not defined
        return None
    for bound, word in grades:
        if (value >= bound) if higher_is_better else (value < bound):
            return word
    return grades[-1][1]


def _flagged(scores: np.ndarray, threshold: float | None) -> float:
    if threshold is None or len(scores) == 0:
        return float("nan")
    return float(np.mean(scores > threshold))
