"""The margin between a recipe's training photos and new ones, measured by cross-validation.

A gallery calibrates on references its model was not trained on. A gallery holding only the
model's own training photos (a right holder's gallery built from the very photos the shipped
model learnt from) cannot, and calibrated on them it breaks its promise: the model puts its
training photos too far from the other label. Each fold measures by how much, per label, at
the quantile the operating point rests on (:func:`ipr_vision.core.scoring.trained_on_margin`):
the left-out scores of the fold gallery's training photos against the scores its test photos
get when inspected. The mean over folds is what ``--margin-for`` writes beside the shipped
weights (:mod:`ipr_vision.embedders.margin`), trained by the same recipe on all photos.

Whether moving the training photos' scores by it keeps the promise is measured fold by fold
with the margin of the *other* folds (:func:`left_one_fold_out`): the fold's training photos
alone calibrate a brand, and its test photos are judged at that operating point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ipr_vision import Evaluation, Policy
from ipr_vision.core.scoring import Mode, TrainedOnMargin, calibrate, decide, trained_on_margin
from ipr_vision.domain import Verdict
from ipr_vision.embedders import weights
from ipr_vision.embedders.margin import margin_path, save_margin

#: What a gallery of training photos alone does to a fold's test photos.
VERDICT_FIGURES = ("genuine_flagged", "fake_cleared", "inconclusive")


@dataclass(frozen=True)
class FoldScores:
    """One fold's material: its gallery's training photos, each scored with its photo group
    left out, and its test photos' scores as inspected (photos without a score left out)."""

    trained: np.ndarray
    trained_fake: np.ndarray
    trained_groups: np.ndarray
    new: np.ndarray
    new_fake: np.ndarray

    @classmethod
    def of(cls, trained: tuple[np.ndarray, np.ndarray, np.ndarray],
           evaluation: Evaluation) -> FoldScores:
        scored = [(s, f) for s, f in zip(evaluation.score, evaluation.is_fake, strict=True)
                  if s is not None and np.isfinite(s)]
        new, new_fake = (np.array(column) for column in zip(*scored, strict=True))
        return cls(*trained, new.astype(np.float64), new_fake.astype(bool))

    def margin(self, policy: Policy) -> TrainedOnMargin:
        return trained_on_margin(self.trained, self.trained_fake, self.new, self.new_fake,
                                 policy)

    def judged(self, policy: Policy, margin: TrainedOnMargin | None) -> dict[str, float]:
        """The test photos' verdicts at the operating point the training photos alone give,
        their scores moved by ``margin`` (None: unmoved, as before the margin)."""
        moved = self.trained + (0.0 if margin is None else margin.shift(self.trained_fake))
        calibration = calibrate(moved, self.trained_fake, np.ones(len(moved)), Mode.CONTRAST,
                                policy, self.trained_groups)
        if isinstance(calibration, str):
            raise ValueError(f"the fold's training photos cannot calibrate: {calibration}")
        verdicts = np.array([decide(float(s), calibration)[0] for s in self.new])
        genuine = ~self.new_fake
        return {"genuine_flagged": float(np.mean(verdicts[genuine] == Verdict.COUNTERFEIT)),
                "fake_cleared": float(np.mean(verdicts[~genuine] == Verdict.GENUINE)),
                "inconclusive": float(np.mean(verdicts == Verdict.INCONCLUSIVE))}


def mean_margin(parts: list[FoldScores], policy: Policy) -> TrainedOnMargin:
    """The folds' margins averaged, label by label."""
    margins = [part.margin(policy) for part in parts]
    return TrainedOnMargin(float(np.mean([m.genuine for m in margins])),
                           float(np.mean([m.fake for m in margins])))


def left_one_fold_out(parts: list[FoldScores], policy: Policy) -> dict[str, Any]:
    """Each fold judged by its training photos alone, moved by the other folds' mean margin
    and unmoved, with the means over folds: what the margin does for photos it was not
    measured on. Needs two folds at least."""
    rows = []
    for n, part in enumerate(parts):
        others = mean_margin(parts[:n] + parts[n + 1:], policy)
        rows.append({"margin": others.to_dict(), "moved": part.judged(policy, others),
                     "unmoved": part.judged(policy, None)})
    return {"folds": rows, **{
        way: {k: float(np.mean([row[way][k] for row in rows])) for k in VERDICT_FIGURES}
        for way in ("moved", "unmoved")}}


def summary(parts: list[FoldScores], policy: Policy) -> dict[str, Any]:
    """Each fold's margin, their mean and, with two folds or more, the left-one-fold-out
    figures."""
    found: dict[str, Any] = {"folds": [part.margin(policy).to_dict() for part in parts],
                             "mean": mean_margin(parts, policy).to_dict()}
    if len(parts) > 1:
        found["left_one_fold_out"] = left_one_fold_out(parts, policy)
    return found


def lines(found: dict[str, Any]) -> list[str]:
    """The report's lines on the margin."""
    folds = ", ".join(f"{m['genuine']:+.3f} / {m['fake']:+.3f}" for m in found["folds"])
    said = [f"  training photos' margin (genuine / fake) by fold: {folds}; mean "
            f"{found['mean']['genuine']:+.3f} / {found['mean']['fake']:+.3f}"]
    if "left_one_fold_out" in found:
        out = found["left_one_fold_out"]
        said.append("  a gallery of training photos alone, test photos judged: " + "; ".join(
            f"{way} " + ", ".join(f"{k} {out[way][k]:.3f}" for k in VERDICT_FIGURES)
            for way in ("unmoved", "moved")) + " (moved by the other folds' margin)")
    return said


def write(checkpoint: Path, parts: list[FoldScores], policy: Policy,
          measured: dict[str, Any]) -> Path:
    """The folds' mean margin, beside ``checkpoint`` (the weights the recipe shipped)."""
    path = margin_path(checkpoint)
    save_margin(path, mean_margin(parts, policy), weights.sha256_file(checkpoint),
                {**measured, **summary(parts, policy)})
    return path
