"""Cross-validated figures: k folds by photo group, each fold scored by a gallery of the others.

One held-out split of a thousand photo groups gives figures that move by several points from
one seed to the next, and every setting chosen on it makes them optimistic. Here every photo
is scored once, by a gallery that never held its photo group: the photos are dealt into folds
by photo group, stratified by product and label (:func:`training.data.folds_of`, the same
folds ``training.train --folds`` trains on), and for each fold a throw-away gallery of the
other folds inspects the fold's photos through ``Gallery.evaluate``, quality gate, calibration
and operating point included, exactly as in :mod:`training.evaluate`.

The brand's calibration is fitted on the gallery alone (its references, each photo group left
out in turn; a checkpoint's own training photos skipped, which leaves a fold checkpoint's
validation groups), so the operating point, the probabilities and the "can't tell" band are
chosen inside the training folds, and the test fold shows whether its promise (at most 1 % of
genuine items flagged) holds on photos the gallery has never seen.

Each fold reports AUROC, fake recall at 1 % and 5 % of genuine flagged, genuine items flagged
and fakes caught at the operating point, the "can't tell" share and the calibration error;
then the mean and standard deviation over folds, and, on all folds' photos pooled, a 95 %
bootstrap interval that resamples photo groups (copies of one photo move together, so the
interval is not narrowed by counting a photo three times), within each product and label.
For a fine-tuned model each fold also sets its gallery's training photos against its test
photos: the margin a gallery of training photos alone needs (:mod:`training.trained_margin`).

A checkpoint must not be scored on photos it trained on or was tuned on: a model argument
with ``{fold}`` in its path names one checkpoint per fold, and each is refused on a fold whose
photo groups it has seen, read from the photos it names as its training photos and from its
run's ``split.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from ipr_vision import Evaluation, Policy
from ipr_vision.core.metrics import (
    auroc,
    flag_threshold,
    group_bootstrap,
    recall_at_flag_rate,
    roc_curve,
    tie_broken_ranks,
)
from ipr_vision.core.scoring import clear_threshold
from ipr_vision.embedders import Embedder, weights
from ipr_vision.embedders.finetuned import CheckpointInfo
from ipr_vision.figures.plots import roc_plot
from ipr_vision.gallery import evaluator
from ipr_vision.intake.labelled import LabelledPhoto, group_key, stratum

from . import trained_margin
from .data import folds_of, split
from .embedding_cache import CachedEmbedder
from .evaluate import BRAND, ModelArgument, built_gallery, evaluate, inspect_all, summary
from .trained_margin import FoldScores

#: What each fold reports, in the order tables show them.
FIGURES = ("auroc", "fake_recall_at_1pct", "fake_recall_at_5pct", "genuine_flagged",
           "fake_recall", "fake_cleared", "inconclusive", "ece")
#: Each fold also reports what its photos' ranking allows (:func:`inconclusive_floor`).
REPORTED = (*FIGURES, "inconclusive_floor")
#: The pooled figures given a bootstrap interval.
BOOTSTRAPPED = ("auroc", "fake_recall_at_1pct", "fake_recall_at_5pct")
#: Written in a model's path, names one checkpoint per fold.
FOLD = "{fold}"


class SeenPhotosError(ValueError):
    """A checkpoint would be scored on photo groups it trained on or was tuned on."""


def for_fold(model: ModelArgument, fold: int) -> ModelArgument:
    """The model of one fold: a path with ``{fold}`` names that fold's checkpoint."""
    return dataclasses.replace(model, name=model.name.replace(FOLD, str(fold)))


def seen_groups(checkpoint: Path, items: list[LabelledPhoto], sha256: list[str]
                ) -> set[str] | None:
    """The photo groups of ``items`` a checkpoint may have learnt from or been tuned on: those
    of the photos it names as training photos, and, where its run's ``split.json`` lies beside
    it, every group that split did not hold out (its validation groups chose its inference
    side). None when it says neither, so nothing can be vouched for."""
    trained_on = CheckpointInfo.read(checkpoint).trained_on
    seen = {group_key(i) for i, sha in zip(items, sha256, strict=True) if sha in trained_on}
    for split_file in (checkpoint.parent / "split.json", checkpoint.with_suffix(".split.json")):
        if split_file.is_file():
            held = set(json.loads(split_file.read_text())["held_out_groups"])
            return seen | {group_key(i) for i in items} - held
    return seen if trained_on else None


def check_unseen(model: ModelArgument, fold: int, items: list[LabelledPhoto],
                 sha256: list[str], test_groups: set[str]) -> None:
    """Refuse to score a checkpoint on a fold whose photo groups it has seen."""
    if model.is_frozen:
        return
    seen = seen_groups(Path(model.name), items, sha256)
    advice = ("train one checkpoint per fold (python -m training.train --folds K --fold I "
              "--out runs/cv/foldI) and name them --model 'runs/cv/fold{fold}/model.safetensors'")
    if seen is None:
        raise SeenPhotosError(f"{model.name} names neither its training photos nor a split: "
                              f"it cannot be cross-validated; {advice}")
    overlap = seen & test_groups
    if overlap:
        raise SeenPhotosError(
            f"{model.name} has seen {len(overlap)} of the {len(test_groups)} photo groups of "
            f"fold {fold} (trained or tuned on them): its figures there would be optimistic; "
            + advice)


def fold_figures(evaluation: Evaluation, queries: list[LabelledPhoto], policy: Policy
                 ) -> dict[str, float | int]:
    """A fold's figures: the evaluation's summary, with the operating point's outcome."""
    return {**summary(evaluation), "groups": len({group_key(i) for i in queries}),
            "genuine": evaluation.genuine, "fake": evaluation.fake,
            "genuine_flagged": evaluation.genuine_flagged, "fake_recall": evaluation.fake_recall,
            "fake_cleared": evaluation.fake_cleared,
            "inconclusive_floor": inconclusive_floor(evaluation, policy)}


def inconclusive_floor(evaluation: Evaluation, policy: Policy) -> float:
    """The "can't tell" share were the operating point set on the test photos themselves
    (flagging exactly ``max_genuine_flagged`` of them and clearing ``max_fake_cleared`` of the
    fakes), which no gallery can do: what the model's ranking allows, apart from what an
    honest calibration on a gallery's few unseen photos costs. Photos without a score count as
    "can't tell"; those the quality gate refused are judged by their score here."""
    is_fake = np.array(evaluation.is_fake, dtype=bool)
    score = np.array([np.nan if s is None else s for s in evaluation.score], dtype=np.float64)
    scored = np.isfinite(score)
    genuine, fake = np.sort(score[scored & ~is_fake]), np.sort(score[scored & is_fake])
    if not len(genuine) or not len(fake):
        return float("nan")
    flag = flag_threshold(genuine, policy.max_genuine_flagged)
    clear = min(clear_threshold(fake, policy.max_fake_cleared), flag)
    return float(np.mean(~(scored & ((score > flag) | (score < clear)))))


#: The columns of ``photos.csv``: which photo each model judged how, in which fold.
PHOTO_COLUMNS = ("model", "fold", "photo", "photo_group", "product", "label", "verdict",
                 "p_counterfeit", "score")


def photo_rows(fold: int, evaluation: Evaluation, queries: list[LabelledPhoto]
               ) -> list[dict[str, object]]:
    """One row per test photo of a fold: the photos behind a fold's figures (which genuine
    photos broke the promise, which fakes were cleared), for review and for analyses that need
    no checkpoint. The evaluation inspected ``queries`` in order (:meth:`Pooled.add` checks
    that none was skipped)."""
    return [{"fold": fold, "photo": str(item.source), "photo_group": group_key(item),
             "product": item.product, "label": item.label, "verdict": verdict,
             "p_counterfeit": p, "score": score}
            for item, verdict, p, score in zip(queries, evaluation.verdict,
                                               evaluation.p_counterfeit, evaluation.score,
                                               strict=True)]


def ranking_figures(is_fake: np.ndarray, ranks: np.ndarray) -> dict[str, float]:
    """:data:`BOOTSTRAPPED`: what a ranking of the photos is worth."""
    return {"auroc": auroc(is_fake, ranks),
            "fake_recall_at_1pct": recall_at_flag_rate(is_fake, ranks, 0.01),
            "fake_recall_at_5pct": recall_at_flag_rate(is_fake, ranks, 0.05)}


@dataclasses.dataclass
class Pooled:
    """Scored photos of one fold or of several together: what the bootstrap resamples."""

    is_fake: list[bool] = dataclasses.field(default_factory=list)
    p: list[float] = dataclasses.field(default_factory=list)
    score: list[float] = dataclasses.field(default_factory=list)
    groups: list[str] = dataclasses.field(default_factory=list)
    strata: list[str] = dataclasses.field(default_factory=list)
    #: Each photo's file: which rows two models' figures pair up on.
    photos: list[str] = dataclasses.field(default_factory=list)

    def add(self, evaluation: Evaluation, queries: list[LabelledPhoto]) -> None:
        """The evaluation's photos that got a probability (the others cannot be ranked)."""
        if evaluation.photos != len(queries):
            raise ValueError(f"{len(queries) - evaluation.photos} photos could not be read: "
                             "cross-validation needs every photo of the index scored")
        for item, fake, p, score in zip(queries, evaluation.is_fake, evaluation.p_counterfeit,
                                        evaluation.score, strict=True):
            if p is not None:
                self.is_fake.append(fake)
                self.p.append(p)
                self.score.append(np.nan if score is None else score)
                self.groups.append(group_key(item))
                self.strata.append(stratum(item))
                self.photos.append(str(item.source))

    @classmethod
    def join(cls, parts: list[Pooled]) -> Pooled:
        return cls(*([value for part in parts for value in getattr(part, field.name)]
                     for field in dataclasses.fields(cls)))

    def ranks(self) -> np.ndarray:
        """The photos in order of p_counterfeit, ties broken by the raw score, as a single
        evaluation ranks its own (:func:`ipr_vision.core.metrics.tie_broken_ranks`)."""
        return tie_broken_ranks(np.array(self.p), np.array(self.score))

    def figures(self, resamples: int) -> PooledFigures:
        if not self.p:
            raise ValueError("no photo of the folds scored got a probability, which a gallery "
                             "too small to calibrate (too few genuine references or known "
                             "fakes per product), or a photo unlike all its references, "
                             "does not get")
        is_fake, ranks = np.array(self.is_fake, dtype=bool), self.ranks()
        return PooledFigures(
            len(ranks), len(set(self.groups)), **ranking_figures(is_fake, ranks),
            resamples=resamples, ci95=group_bootstrap(
                lambda rows: ranking_figures(is_fake[rows], ranks[rows]), self.groups,
                self.strata, resamples))

    def difference(self, baseline: Pooled, resamples: int) -> dict[str, Any] | None:
        """These figures less ``baseline``'s on the photos both scored, with a 95 % interval
        from resampling the same photo groups for both (paired: what the photos have in common
        cancels, so a small difference can be told from noise that each figure alone would
        hide). A photo one model left without a probability (one or two in 3,068 here) is left
        out of both. None when the two share no photo, or label one differently."""
        mine = {photo: n for n, photo in enumerate(self.photos)}
        rows = np.array([mine.get(photo, -1) for photo in baseline.photos], dtype=int)
        base_rows = np.flatnonzero(rows >= 0)
        rows = rows[base_rows]
        is_fake = np.array(self.is_fake, dtype=bool)[rows]
        if not len(rows) or not np.array_equal(
                is_fake, np.array(baseline.is_fake, dtype=bool)[base_rows]):
            return None
        ranks, base = self.ranks()[rows], baseline.ranks()[base_rows]

        def delta(sample: np.ndarray) -> dict[str, float]:
            mine, theirs = (ranking_figures(is_fake[sample], r[sample]) for r in (ranks, base))
            return {name: mine[name] - theirs[name] for name in BOOTSTRAPPED}

        return {**delta(np.arange(len(rows))), "photos": len(rows),
                "ci95": group_bootstrap(delta, [baseline.groups[n] for n in base_rows],
                                        [baseline.strata[n] for n in base_rows], resamples)}


@dataclasses.dataclass(frozen=True)
class PooledFigures:
    """Figures over every fold's scored photos, with their 95 % bootstrap intervals."""

    scored: int
    groups: int
    auroc: float
    fake_recall_at_1pct: float
    fake_recall_at_5pct: float
    resamples: int
    ci95: dict[str, tuple[float, float]]


def cache_path(folder: Path, model_id: str) -> Path:
    return folder / (re.sub(r"[^A-Za-z0-9.+-]+", "_", model_id) + ".npz")


@dataclasses.dataclass(frozen=True)
class ModelResult:
    """One model's cross-validated figures: each fold's, and its scored photos."""

    label: str
    model_ids: list[str]
    folds: list[dict[str, float | int]]
    parts: list[Pooled]
    resamples: int
    #: Every test photo's verdict, score and probability, fold by fold (:func:`photo_rows`).
    photos: list[dict[str, object]] = dataclasses.field(default_factory=list)
    #: A fine-tuned model's training photos and test photos, fold by fold
    #: (:mod:`training.trained_margin`); empty for frozen features.
    trained: list[FoldScores] = dataclasses.field(default_factory=list)
    policy: Policy = dataclasses.field(default_factory=Policy)

    @functools.cached_property
    def pooled(self) -> Pooled:
        return Pooled.join(self.parts)

    @functools.cached_property
    def pooled_figures(self) -> PooledFigures:
        return self.pooled.figures(self.resamples)

    @property
    def mean(self) -> dict[str, float]:
        return {k: float(np.nanmean(self._values(k))) for k in REPORTED}

    @property
    def sd(self) -> dict[str, float]:
        """Over folds (ddof 1): how much a figure moves from one set of photos to another."""
        return {k: float(np.nanstd(self._values(k), ddof=1))
                if np.isfinite(self._values(k)).sum() > 1 else float("nan") for k in REPORTED}

    def _values(self, key: str) -> np.ndarray:
        return np.array([row[key] for row in self.folds], dtype=np.float64)

    @property
    def ms_per_photo(self) -> float:
        """The model's time per photo where it embedded any (one at a time, as the gallery
        embeds them; on a shared machine, an upper bound)."""
        photos = sum(row["embedded"] for row in self.folds)
        return 1000 * sum(row["embed_seconds"] for row in self.folds) / photos if photos else (
            float("nan"))

    @functools.cached_property
    def trained_on_margin(self) -> dict[str, Any] | None:
        """The training photos' margin by fold (:func:`training.trained_margin.summary`)."""
        return trained_margin.summary(self.trained, self.policy) if self.trained else None

    def to_dict(self) -> dict[str, object]:
        return {"label": self.label, "model_ids": self.model_ids, "folds": self.folds,
                "mean": self.mean, "sd": self.sd, "ms_per_photo": self.ms_per_photo,
                "pooled": dataclasses.asdict(self.pooled_figures),
                "trained_on_margin": self.trained_on_margin}


def cross_fitted(embedder: Embedder, gallery: list[LabelledPhoto],
                 queries: list[LabelledPhoto], policy: Policy, seed: int) -> Evaluation:
    """A fold's photos judged by galleries that also hold half of them as new references.

    The fold's photo groups are dealt in two halves (by photo group, stratified by product and
    label, as folds are), and each half is inspected by a gallery of the other folds plus the
    other half. No photo is judged by a gallery holding its own group, and the ranking is the
    same model's; what changes is that a fold checkpoint's gallery calibrates on about twice
    as many photos the model never trained on (its validation groups and the other half). So
    set against the plain fold, it measures what more new photos in a right holder's gallery
    would buy, and how much of a fold's "can't tell" the calibration's small sample costs."""
    first, second = split(queries, 0.5, seed)
    in_first = {group_key(item) for item in first}
    with built_gallery(embedder, gallery + second, policy) as judges_first, \
            built_gallery(embedder, gallery + first, policy) as judges_second:
        return evaluator.evaluate(
            queries, [], lambda item: (judges_first if group_key(item) in in_first
                                       else judges_second).inspect(
                item.source, brand=BRAND, product=item.product),
            judges_first.model_for(BRAND).model_id, resamples=0)


def cross_validate(items: list[LabelledPhoto], model: ModelArgument, folds: int, seed: int,
                   out: Path, resamples: int = 2000, validation_share: float = 0.0,
                   only: list[int] | None = None, cross_fit: bool = False) -> ModelResult:
    """One model's figures over ``folds`` folds (``only`` some of them: a screening run, or
    the folds trained so far); ``out`` keeps its vectors between runs.

    With ``validation_share``, each fold's training side is also split by photo group (as
    ``training.train`` splits it, same seed) and its validation groups scored against the rest,
    the figures that may choose between models (:func:`choose`) without the test fold. With
    ``cross_fit``, each fold's photos are judged by :func:`cross_fitted` galleries instead.
    """
    fold_of = folds_of(items, folds, seed)
    sha256 = [] if model.is_frozen else [weights.sha256_file(i.source) for i in items]
    shared = None if FOLD in model.name else model.embedder()
    result = ModelResult(model.label, [], [], [], resamples, policy=model.policy)
    for fold in only or range(folds):
        tick = time.perf_counter()
        gallery = [i for i, f in zip(items, fold_of, strict=True) if f != fold]
        queries = [i for i, f in zip(items, fold_of, strict=True) if f == fold]
        this = for_fold(model, fold)
        check_unseen(this, fold, items, sha256, {group_key(i) for i in queries})
        embedder = this.embedder() if shared is None else shared
        cached = CachedEmbedder(embedder, cache_path(out / "embeddings", embedder.model_id))
        if cross_fit:
            evaluation = cross_fitted(cached, gallery, queries, model.policy, seed)
        else:
            with built_gallery(cached, gallery, model.policy) as built:
                evaluation = inspect_all(built, queries)
                if cached.trained_on:
                    result.trained.append(FoldScores.of(built.trained_on_scores(BRAND),
                                                        evaluation))
        row = {"fold": fold, **fold_figures(evaluation, queries, model.policy)}
        if validation_share:
            references, validation = split(gallery, validation_share, seed)
            chosen_on = summary(evaluate(cached, references, validation, model.policy))
            row.update({f"validation_{k}": v for k, v in chosen_on.items()})
        cached.save()
        result.parts.append(Pooled())
        result.parts[-1].add(evaluation, queries)
        result.photos.extend(photo_rows(fold, evaluation, queries))
        row.update(seconds=round(time.perf_counter() - tick, 1), embedded=cached.computed,
                   embed_seconds=round(cached.seconds, 1))
        result.folds.append(row)
        result.model_ids.append(embedder.model_id)
        print(f"  fold {fold}: " + ", ".join(f"{k} {row[k]:.3f}" for k in REPORTED)
              + f" ({row['seconds']} s, {cached.computed} photos embedded)", flush=True)
    return result


def choose(results: dict[str, ModelResult]) -> ModelResult:
    """The recipe chosen in each fold among ``results`` by AUROC on that fold's validation
    groups (ties to the first), with its test fold's figures: what choosing a model by
    cross-validation can promise, where picking the best mean over test folds would be
    optimistic by the luck of the pick."""
    texts = list(results)
    result = ModelResult("chosen per fold on validation", [], [], [],
                         results[texts[0]].resamples)
    for n in range(len(results[texts[0]].folds)):
        aurocs = [results[t].folds[n]["validation_auroc"] for t in texts]
        best = texts[int(np.argmax(np.nan_to_num(aurocs, nan=-np.inf)))]
        result.folds.append({**results[best].folds[n], "model": best})  # type: ignore[dict-item]
        result.model_ids.append(results[best].model_ids[n])
        result.parts.append(results[best].parts[n])
    return result


def differences(results: dict[str, ModelResult]) -> dict[str, dict[str, Any]]:
    """Each model's pooled figures less the first model's, paired photo for photo
    (:meth:`Pooled.difference`), for the models that scored the same photos."""
    texts = list(results)
    if len(texts) < 2:
        return {}
    first, paired = results[texts[0]], {}
    for text in texts[1:]:
        found = results[text].pooled.difference(first.pooled, first.resamples)
        if found is not None:
            paired[text] = {"baseline": texts[0], **found}
    return paired


def report(results: dict[str, ModelResult], folds: int, out: Path) -> str:
    """The table printed at the end; the pooled ROC curves are drawn to ``roc-crossval.png``."""
    promise = Policy().max_genuine_flagged
    lines = [f"{folds}-fold cross-validation by photo group; the operating point promises at "
             f"most {promise:.0%} of genuine items flagged"]
    curves = {}
    for text, result in results.items():
        mean, sd, pooled = result.mean, result.sd, dataclasses.asdict(result.pooled_figures)
        lines.append(f"{text}: " + ", ".join(f"{k} {mean[k]:.3f} +- {sd[k]:.3f}"
                                             for k in REPORTED))
        lines.append("  pooled, 95 % interval over photo groups: " + ", ".join(
            f"{k} {pooled[k]:.3f} [{pooled['ci95'][k][0]:.3f}, {pooled['ci95'][k][1]:.3f}]"
            for k in BOOTSTRAPPED))
        if result.trained_on_margin is not None:
            lines += trained_margin.lines(result.trained_on_margin)
        curves[f"{result.label} (pooled AUROC {result.pooled_figures.auroc:.3f})"] = roc_curve(
            np.array(result.pooled.is_fake, dtype=bool), result.pooled.ranks())
    for text, found in differences(results).items():
        ci95 = found["ci95"]
        lines.append(f"{text} less {found['baseline']}, same photos, paired 95 % interval: "
                     + ", ".join(f"{k} {found[k]:+.4f} [{ci95[k][0]:+.4f}, {ci95[k][1]:+.4f}]"
                                 for k in BOOTSTRAPPED))
    roc_plot(curves, operating_point=promise,
             title=f"ROC, {folds}-fold cross-validation (every photo scored once)").save(
        out / "roc-crossval.png")
    return "\n".join(lines)
