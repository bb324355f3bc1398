"""Which rule turns an item's per-photo verdicts into the item's verdict: candidates measured.

Prints; asserts nothing. An inspection is one item photographed from several views; the item's
verdict comes from its photos' suggestions (``ipr_vision.core.item.item_verdict``). Candidates:

* ``a any-C``: any counterfeit view flags the item; genuine only if every view is genuine;
  otherwise can't tell;
* ``b majority``: the verdict of more than half the views; otherwise can't tell;
* ``c mean p``: the views' mean ``p_counterfeit`` against the per-photo cut-offs (the ``p`` at
  the brand's operating-point threshold and at its "likely genuine" bound);
* ``d max p``: the views' largest ``p_counterfeit`` against the same cut-offs;
* ``e any-C, none-G``: ``a``, except that views which contradict each other (a counterfeit and
  a genuine one) make the item inconclusive: ``item_verdict``, the rule the package ships.

The data has no true multi-view items: ``dup_group`` holds augmented copies of ONE photo. So
pseudo-items are built from the held-out query side of the shipped model's split: k = 1, 2, 3
photos of one product and label, from distinct photo groups (one random copy each). Those are
views of DIFFERENT physical items, far less correlated than real views of one item: every gain
from several views measured here is an upper bound. The gallery is the split's other side
(training and validation groups), as in the model card's protocol 1 (``training.evaluate``).

Every query photo is inspected ONCE per operating point through ``Gallery.inspect`` (quality
gate, search, the brand's leave-one-group-out calibration) and its verdict and ``p_counterfeit``
are reused by every pseudo-item it joins. Operating points: the default (1 % of genuine
references flagged) and 5 %, a sensitivity check: at 1 % the held-out genuine photos flagged
all come from very few photo groups, so item-level genuine-flagged figures rest on those alone.

Figures per rule and k: genuine items flagged counterfeit, fake items caught, share
inconclusive (all items), fakes cleared as genuine, and items made genuine although one of
their views could not tell; 95 % percentile intervals from a bootstrap that resamples photo
groups within each product and label (an item weighs the product of its groups' draw counts;
the gallery and its calibration are held fixed). Then the rule is chosen on 5 folds by photo
group, never on the photos it is judged on; see :func:`choose`.

Usage::

    .venv/bin/python bench/bench_item_rule.py [--dataset DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ipr_vision import Gallery
from ipr_vision.core.item import item_verdict
from ipr_vision.core.scoring import Calibration
from ipr_vision.domain import Label, Verdict
from ipr_vision.embedders import weights
from ipr_vision.embedders.finetuned import FineTunedEmbedder
from ipr_vision.errors import PhotoError, WeightsMissingError
from ipr_vision.intake.labelled import LabelledPhoto, group_key, stratum, write_index
from training.data import load_index
from training.evaluate import protocol_sides

REPO = Path(__file__).resolve().parent.parent
DATASET = Path(os.environ.get("IPR_VISION_DATASETS", REPO.parent / "shared" / "datasets"))
BRAND = "eval"
OPERATING_POINTS = (0.01, 0.05)  # the default, then the sensitivity check
VIEWS = (1, 2, 3)
FOLDS = 5

#: One view of an item: its photo's verdict and p_counterfeit (None when it got no score).
View = tuple[Verdict, float | None]


@dataclass(frozen=True)
class Cut:
    """The per-photo cut-offs on p_counterfeit at an operating point, for rules c and d."""

    flag_above: float  # p at the brand's threshold: a photo above it is counterfeit
    clear_below: float  # p at the "likely genuine" bound


def conservative(views: Sequence[View], cut: Cut) -> Verdict:
    verdicts = [v for v, _ in views]
    if Verdict.COUNTERFEIT in verdicts:
        return Verdict.COUNTERFEIT
    return Verdict.GENUINE if set(verdicts) == {Verdict.GENUINE} else Verdict.INCONCLUSIVE


def majority(views: Sequence[View], cut: Cut) -> Verdict:
    verdicts = [v for v, _ in views]
    for verdict in (Verdict.COUNTERFEIT, Verdict.GENUINE):
        if 2 * verdicts.count(verdict) > len(verdicts):
            return verdict
    return Verdict.INCONCLUSIVE


def _by_p(p: float | None, cut: Cut) -> Verdict:
    if p is None:
        return Verdict.INCONCLUSIVE
    if p > cut.flag_above:
        return Verdict.COUNTERFEIT
    return Verdict.GENUINE if p < cut.clear_below else Verdict.INCONCLUSIVE


def mean_p(views: Sequence[View], cut: Cut) -> Verdict:
    scored = [p for _, p in views if p is not None]
    return _by_p(float(np.mean(scored)) if scored else None, cut)


def max_p(views: Sequence[View], cut: Cut) -> Verdict:
    scored = [p for _, p in views if p is not None]
    return _by_p(max(scored) if scored else None, cut)


def shipped(views: Sequence[View], cut: Cut) -> Verdict:
    return item_verdict(v for v, _ in views)


RULES: dict[str, Callable[[Sequence[View], Cut], Verdict]] = {
    "a any-C": conservative, "b majority": majority, "c mean p": mean_p, "d max p": max_p,
    "e any-C, none-G": shipped}


@dataclass
class Photos:
    """The query photos, each inspected once per operating point."""

    group: np.ndarray  # int: photo group
    stratum: np.ndarray  # int: product and label
    is_fake: np.ndarray
    verdict: dict[float, list[Verdict]]  # by operating point
    p: dict[float, list[float | None]]
    cut: dict[float, Cut]
    unreadable: int


def brand_cut(gallery: Gallery) -> Cut:
    """The p at the brand's thresholds. A suggestion carries its score's threshold, not the p
    there, so it is read from the brand's calibration (``_brands``: a bench may look inside)."""
    _, calibration = gallery._brands.get(BRAND)
    fitted = [c for c in calibration.by_mode.values() if isinstance(c, Calibration)]
    if len(fitted) != 1:
        raise SystemExit(f"expected one scoring mode in the brand, found {len(fitted)}")
    c = fitted[0]
    return Cut(c.p_counterfeit(c.threshold), c.p_counterfeit(c.clear_below))


def inspect_queries(checkpoint: Path, gallery_items: list[LabelledPhoto],
                    queries: list[LabelledPhoto]) -> Photos:
    verdict: dict[float, list[Verdict]] = {}
    p: dict[float, list[float | None]] = {}
    cut: dict[float, Cut] = {}
    readable: set[int] = set(range(len(queries)))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with Gallery(root / "gallery", embedder=FineTunedEmbedder(checkpoint)) as gallery:
            # Every reference however poor, as the model card's protocol 1 (training.evaluate).
            report = gallery.import_index(write_index(root / "gallery.csv", gallery_items),
                                          brand=BRAND, added_by="bench", allow_poor_quality=True)
            print(f"  gallery: {len(report.added)} references imported", flush=True)
            for point in OPERATING_POINTS:
                gallery.set_operating_point(BRAND, point)
                cut[point] = brand_cut(gallery)
                verdict[point], p[point] = [], []
                for i, item in enumerate(queries):
                    try:
                        suggestion = gallery.inspect(item.source, brand=BRAND,
                                                     product=item.product)
                    except PhotoError:  # left out below, at every operating point
                        readable.discard(i)
                        verdict[point].append(Verdict.INCONCLUSIVE)
                        p[point].append(None)
                        continue
                    verdict[point].append(suggestion.verdict)
                    p[point].append(suggestion.p_counterfeit)
                print(f"  operating point {point:.0%}: {len(queries)} photos inspected, "
                      f"p cut-offs {cut[point].clear_below:.3f} / {cut[point].flag_above:.3f}",
                      flush=True)
    keep = sorted(readable)
    kept = [queries[i] for i in keep]
    groups = {g: n for n, g in enumerate(sorted({group_key(i) for i in kept}))}
    strata = {s: n for n, s in enumerate(sorted({stratum(i) for i in kept}))}
    return Photos(np.array([groups[group_key(i)] for i in kept]),
                  np.array([strata[stratum(i)] for i in kept]),
                  np.array([i.label == Label.FAKE for i in kept]),
                  {o: [v[i] for i in keep] for o, v in verdict.items()},
                  {o: [v[i] for i in keep] for o, v in p.items()}, cut,
                  len(queries) - len(kept))


def sample_items(photos: Photos, groups: np.ndarray, k: int, per_stratum: int,
                 rng: np.random.Generator) -> np.ndarray:
    """(n, k) photo indices: each row k photos of one product and label from k distinct photo
    groups among ``groups`` (one random copy per group); k = 1 is every photo once."""
    allowed = np.isin(photos.group, groups)
    if k == 1:
        return np.flatnonzero(allowed)[:, None]
    rows = []
    for s in np.unique(photos.stratum[allowed]):
        members = {g: np.flatnonzero(allowed & (photos.group == g))
                   for g in np.unique(photos.group[allowed & (photos.stratum == s)])}
        if len(members) < k:
            continue
        names = np.array(list(members))
        for _ in range(per_stratum):
            rows.append([rng.choice(members[g]) for g in rng.choice(names, k, replace=False)])
    return np.array(rows, dtype=int).reshape(-1, k)


@dataclass
class Judged:
    """The items of one k at one operating point, as each rule judges them."""

    items: np.ndarray
    is_fake: np.ndarray
    unsure_view: np.ndarray  # some view could not tell
    by_rule: dict[str, np.ndarray]  # Verdict per item


def judge(photos: Photos, items: np.ndarray, point: float) -> Judged:
    views = [[(photos.verdict[point][i], photos.p[point][i]) for i in row] for row in items]
    return Judged(items, photos.is_fake[items[:, 0]],
                  np.array([any(v == Verdict.INCONCLUSIVE for v, _ in row) for row in views]),
                  {name: np.array([rule(row, photos.cut[point]) for row in views],
                                  dtype=object) for name, rule in RULES.items()})


FIGURES = ("genuine flagged", "fakes caught", "inconclusive", "fakes cleared",
           "can't tell->genuine")
WIDTH = 21  # a cell: "  0.7 [ 0.0,  2.2]" and a gap


def figures(judged: Judged, rule: str, weight: np.ndarray | None = None) -> np.ndarray:
    """The five FIGURES of a rule, items weighted by ``weight`` (default: equally)."""
    verdict, fake = judged.by_rule[rule], judged.is_fake
    w = np.ones(len(verdict)) if weight is None else weight

    def share(event: np.ndarray, among: np.ndarray) -> float:
        total = w[among].sum()
        return float(w[among & event].sum() / total) if total else float("nan")

    everyone = np.ones(len(verdict), dtype=bool)
    return np.array([share(verdict == Verdict.COUNTERFEIT, ~fake),
                     share(verdict == Verdict.COUNTERFEIT, fake),
                     share(verdict == Verdict.INCONCLUSIVE, everyone),
                     share(verdict == Verdict.GENUINE, fake),
                     share((verdict == Verdict.GENUINE) & judged.unsure_view, everyone)])


def bootstrap_weights(photos: Photos, items: np.ndarray, reps: int,
                      rng: np.random.Generator) -> np.ndarray:
    """(reps, n) item weights: photo groups redrawn with replacement within each product and
    label; an item weighs the product of its groups' draw counts (0: a group not drawn)."""
    group_stratum = np.zeros(photos.group.max() + 1, dtype=int)
    group_stratum[photos.group] = photos.stratum
    used = np.unique(photos.group[items])
    item_groups = photos.group[items]
    out = np.empty((reps, len(items)))
    for r in range(reps):
        counts = np.zeros(len(group_stratum))
        for s in np.unique(group_stratum[used]):
            pool = used[group_stratum[used] == s]
            np.add.at(counts, rng.choice(pool, len(pool)), 1)
        out[r] = counts[item_groups].prod(axis=1)
    return out


def choose(train: dict[tuple[float, int], Judged]) -> str:
    """The rule these (training-fold) items favour, criteria in this order:

    1. no item made genuine although one of its views could not tell (a hard rule: "can't
       tell" must never be turned into "genuine");
    2. the least excess of genuine items flagged over single photos (k = 1), summed over the
       operating points, k > 1 averaged: the brand's operating point promises a share of
       genuine items flagged per inspection, and more views must not quietly raise it. A
       ranking, not a limit: at 5 % the best rules flag about as many genuine items as single
       photos, and noise decides on which side of a hard line they would fall;
    3. the most fakes caught (mean over operating points and k > 1);
    4. the fewest inconclusive.
    """
    points = sorted({point for point, _ in train})
    many = [(point, k) for point, k in train if k > 1]

    def key(rule: str) -> tuple[bool, float, float, float]:
        made_genuine = max(figures(train[c], rule)[4] for c in many)
        excess = sum(max(0.0, float(np.mean([figures(train[(point, k)], rule)[0]
                                              for p, k in many if p == point]))
                         - figures(train[(point, 1)], rule)[0]) for point in points)
        caught = np.mean([figures(train[c], rule)[1] for c in many])
        unsure = np.mean([figures(train[c], rule)[2] for c in many])
        return (made_genuine > 0, excess, -float(caught), float(unsure))

    return min(RULES, key=key)


def folds_of(photos: Photos, rng: np.random.Generator) -> np.ndarray:
    """A fold number per photo group, dealt round-robin within each product and label."""
    fold = np.zeros(photos.group.max() + 1, dtype=int)
    for s in np.unique(photos.stratum):
        groups = rng.permutation(np.unique(photos.group[photos.stratum == s]))
        fold[groups] = np.arange(len(groups)) % FOLDS
    return fold


def cell(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> str:
    return "".join(f"{100 * v:6.1f} [{100 * lo:4.1f},{100 * hi:5.1f}]".rjust(WIDTH)
                   for v, lo, hi in zip(values, low, high, strict=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET / "nike_af1_j1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--items", type=int, default=3000,
                        help="pseudo-items drawn per product and label for each k > 1")
    parser.add_argument("--reps", type=int, default=1000, help="bootstrap replicates")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    index = args.dataset / "index.csv"
    try:
        checkpoint = weights.require(weights.FINETUNED)
    except WeightsMissingError as error:
        print(f"skipped: {error}")
        return 0
    run_split = checkpoint.with_suffix(".split.json")
    if not index.is_file() or not run_split.is_file():
        print(f"skipped: needs the dataset's {index} and the model's split {run_split}")
        return 0
    held = set(json.loads(run_split.read_text())["held_out_groups"])
    gallery_items, queries = protocol_sides(load_index(index), held, "known-fakes")
    print(f"gallery {len(gallery_items)} photos; queries {len(queries)} held-out photos "
          f"({len({group_key(i) for i in queries})} photo groups)", flush=True)
    photos = inspect_queries(checkpoint, gallery_items, queries)
    rng = np.random.default_rng(args.seed)
    every = np.unique(photos.group)
    items = {k: sample_items(photos, every, k, args.items, rng) for k in VIEWS}
    judged = {(point, k): judge(photos, items[k], point)
              for point in OPERATING_POINTS for k in VIEWS}

    print(f"\n{photos.unreadable} unreadable photos left out. Percent, point estimate "
          f"[95 % bootstrap interval by photo group, {args.reps} replicates].")
    for k in VIEWS:
        fake = photos.is_fake[items[k][:, 0]]
        on = {label: items[k][rows] for label, rows in (("genuine", ~fake), ("fake", fake))}
        print(f"k = {k}: " + "; ".join(
            f"{len(rows)} {label} items from {len(np.unique(rows))} photos in "
            f"{len(np.unique(photos.group[rows]))} photo groups" for label, rows in on.items()))
    header = f"{'point':>5} {'k':>1} {'rule':16}" + "".join(f"{f:>{WIDTH}}" for f in FIGURES)
    for point in OPERATING_POINTS:
        print("\n" + header)
        for k in VIEWS:
            boot = bootstrap_weights(photos, items[k], args.reps, rng)
            for rule in RULES:
                sample = np.array([figures(judged[(point, k)], rule, w) for w in boot])
                low, high = np.nanpercentile(sample, [2.5, 97.5], axis=0)
                print(f"{point:5.0%} {k} {rule:16} "
                      + cell(figures(judged[(point, k)], rule), low, high), flush=True)

    fold = folds_of(photos, rng)
    chosen: list[str] = []
    held_out: dict[tuple[float, int], list[tuple[np.ndarray, int]]] = {c: [] for c in judged}
    for f in range(FOLDS):
        train_groups, test_groups = every[fold[every] != f], every[fold[every] == f]
        split_items = [{k: sample_items(photos, g, k, args.items // FOLDS, rng) for k in VIEWS}
                       for g in (train_groups, test_groups)]
        train = {(point, k): judge(photos, split_items[0][k], point) for point, k in judged}
        rule = choose(train)
        chosen.append(rule)
        for point, k in judged:
            test = judge(photos, split_items[1][k], point)
            held_out[(point, k)].append((figures(test, rule), len(test.items)))
    print(f"\nrule chosen on the other {FOLDS - 1} folds, per fold: {', '.join(chosen)}")
    print("its figures on the held-out fold, item-weighted over folds:")
    print(f"{'point':>5} {'k':>1}" + "".join(f"{f:>{WIDTH}}" for f in FIGURES))
    for (point, k), rows in held_out.items():
        values = np.average([r for r, _ in rows], axis=0, weights=[n for _, n in rows])
        print(f"{point:5.0%} {k}" + "".join(f"{100 * v:{WIDTH}.1f}" for v in values))
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
