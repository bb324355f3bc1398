"""Patch-level search, screened by cross-validation (issue 18 item 3): does matching a photo's
local features against the local features of its product's genuine and fake references rank
fakes better than the pooled embedding galleries search today?

A gallery compares one vector per photo, the average of the network's last feature map; the
stitching, print or logo that gives a fake away is one cell of that map among dozens. Here each
cell of a photo's map is matched against every cell of the product's references in the
training folds: its most similar fake cell less its most similar genuine cell says which label
that part of the photo resembles more, and the photo's score is the mean of those contrasts
over its cells (``last-mean``, ``stem-mean``), or over its most fake-like cells
(``last-topK``). Two maps, from one pass (the photo and its mirror image averaged, cell for
cell): the last one (9 x 9 cells of 1280 numbers at 288 px) and the stride-16 stem the heat
maps read (18 x 18 cells of 96, each averaged over its 3 x 3 neighbourhood, as
``SquashEmbedder.patch_features`` does). The sums add scores as they are (each a difference of
cosines), with no weight to tune: ``global+stem`` and ``global+last+stem``, ``global`` being
the gallery's own score (:func:`ipr_vision.core.scoring.label_similarity`, the package's
``k``).

Each fold's checkpoint scores its test fold (gallery: the other folds) and its own validation
groups (gallery: its training photos); the variant a fold uses is chosen on the validation
groups alone. Screening only: nothing here is in the package.

Matching every reference's cells costs about 20 GFLOP a photo against a product of 1,200
references. ``--shortlist N`` matches only the N references of each label nearest by the
pooled vector, as a search engine re-ranks its first hits, and then also fits each variant's
operating point the way a gallery does (:func:`ipr_vision.core.scoring.calibrate`, on the
validation groups scored against all the fold's gallery with their own photo group left out)
and reports what the verdicts do on the test fold: genuine items flagged, fakes caught, "can't
tell", ECE. ``--small-bank D`` shrinks what a gallery would keep per reference: the last map's
cells on their first D principal axes (fitted on the fold's training photos) and the stem's
pooled to 9 x 9 cells.

    python -m training.patch_screen --index ../shared/datasets/nike_af1_j1/index.csv \\
        --folds 5 --model 'runs/gpu-cv/fold{fold}/model.safetensors' --out reports/patch-screen \\
        [--shortlist 20 [--small-bank 64]]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ipr_vision.core.cells import CellLayout, cell_contrasts, shortlist
from ipr_vision.core.metrics import group_bootstrap, tie_broken_ranks, verdict_figures
from ipr_vision.core.scoring import (
    Mode,
    Policy,
    calibrate,
    decide,
    label_similarity,
    leave_one_group_out,
)
from ipr_vision.embedders.finetuned import CheckpointInfo, EmbeddingNet, FineTunedEmbedder
from ipr_vision.embedders.mobilenet import PATCH_STAGE, squash_batch
from ipr_vision.embedders.weights import sha256_file
from ipr_vision.intake.labelled import group_key, stratum
from ipr_vision.intake.photo import read_photo

from .crossval import (
    BOOTSTRAPPED,
    FIGURES,
    FOLD,
    cache_path,
    ranking_figures,
)
from .data import folds_of, load_index
from .embedding_cache import CachedEmbedder

#: Cells a ``last-topK`` variant averages.
TOP_CELLS = (10, 40)
#: The two maps: the stride-16 stem and the last one.
LAYERS = ("stem", "last")
#: The side that fits a variant's operating point (with ``--shortlist``): the validation
#: groups scored against every other photo of the gallery, each with its own group left out.
CALIBRATION = "calibration"
#: The variant each fold chose on its validation groups, and the plain sum also reported.
CHOSEN = "chosen on validation"
SUM = "global+last+stem"


def feature_maps(net: EmbeddingNet, images: Sequence[Image.Image], side: int,
                 batch: int = 32) -> dict[str, np.ndarray]:
    """Each photo's stem and last feature maps, ``(n, cells, channels)`` float16 by layer, the
    photo's and its mirror image's (flipped back, so a cell is one place on the item)
    averaged; the stem's cells over their 3 x 3 neighbourhood."""
    maps: dict[str, list[np.ndarray]] = {layer: [] for layer in LAYERS}
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            pixels = squash_batch(images[start:start + batch], side)
            stem = net.stem(torch.cat([pixels, pixels.flip(3)]))
            last = net.features[PATCH_STAGE:](stem)
            local = torch.nn.functional.avg_pool2d(stem, 3, stride=1, padding=1)
            for layer, both in (("stem", local), ("last", last)):
                half = len(both) // 2
                mean = (both[:half] + both[half:].flip(3)) / 2
                maps[layer].append(mean.flatten(2).transpose(1, 2).half().numpy())
    return {layer: np.concatenate(parts) for layer, parts in maps.items()}


def unit_cells(cells: np.ndarray) -> np.ndarray:
    """Cells scaled to unit length, float32 (what :func:`cell_contrast` compares)."""
    cells = cells.astype(np.float32)
    return cells / np.maximum(np.linalg.norm(cells, axis=-1, keepdims=True), 1e-12)


def cell_contrast(maps: np.ndarray, is_fake: np.ndarray, queries: np.ndarray,
                  references: np.ndarray, chunk: int = 8) -> np.ndarray:
    """``(len(queries), cells)``: for each cell of each query, its best cosine with any cell
    of a fake reference less its best with a genuine one (all rows of one product)."""
    banks = [torch.from_numpy(unit_cells(maps[references[is_fake[references] == label]])
                              ).flatten(0, 1) for label in (True, False)]
    out = np.empty((len(queries), maps.shape[1]), np.float32)
    for start in range(0, len(queries), chunk):
        cells = torch.from_numpy(unit_cells(maps[queries[start:start + chunk]]))
        flat = cells.flatten(0, 1)
        fake, genuine = (torch.stack([(flat @ part.T).amax(1) for part in bank.split(40_000)]
                                     ).amax(0) for bank in banks)
        out[start:start + chunk] = (fake - genuine).reshape(cells.shape[:2]).numpy()
    return out


def shortlist_contrast(cells: np.ndarray, vectors: np.ndarray, is_fake: np.ndarray,
                       queries: np.ndarray, references: np.ndarray, size: int,
                       groups: np.ndarray | None = None) -> np.ndarray:
    """:func:`cell_contrast` against only the ``size`` references of each label whose pooled
    vectors are most like the query's: the gallery's own search picks the shortlist and the
    cells re-rank it, for 2 x ``size`` photos' cells instead of every reference's. ``cells``
    are unit cells (:func:`unit_cells`); ``groups`` leaves out each query's own photo group, as
    a brand's calibration scores its references. The package's own functions
    (:mod:`ipr_vision.core.cells`) pick and match, one layer at a time."""
    layout = CellLayout(cells.shape[1], (cells.shape[2],))
    sims = vectors[queries] @ vectors[references].T
    if groups is not None:
        sims[groups[queries][:, None] == groups[references][None, :]] = -np.inf
    out = np.empty((len(queries), cells.shape[1]), np.float32)
    for n, query in enumerate(queries):
        fake, genuine = shortlist(sims[n], is_fake[references], size)
        out[n] = cell_contrasts(cells[query], cells[references[fake]],
                                cells[references[genuine]], layout)[0]
    return out


def principal_axes(cells: np.ndarray, dims: int) -> np.ndarray:
    """The ``dims`` directions along which cells vary most, ``(channels, dims)``: fitted on a
    fold's training photos only, they shrink every photo's cells before matching
    (:func:`project_cells`)."""
    flat = torch.from_numpy(cells.reshape(-1, cells.shape[-1]).astype(np.float32))
    centred = flat - flat.mean(0)
    values, vectors = torch.linalg.eigh(centred.T @ centred)
    return vectors[:, torch.argsort(values, descending=True)[:dims]].numpy()


def coarser_cells(maps: np.ndarray, factor: int = 2) -> np.ndarray:
    """A square map's cells averaged ``factor`` x ``factor`` (the stem's 18 x 18 to 9 x 9):
    a quarter of the cells to keep and to match."""
    n, cells, channels = maps.shape
    side = math.isqrt(cells)
    grid = maps.astype(np.float32).reshape(n, side // factor, factor, side // factor, factor,
                                           channels)
    return grid.mean(axis=(2, 4)).reshape(n, -1, channels)


def project_cells(maps: np.ndarray, axes: np.ndarray, batch: int = 256) -> np.ndarray:
    """Unit cells of ``maps`` on :func:`principal_axes` (what a smaller bank would keep per
    reference: ``dims`` numbers a cell instead of the map's channels). The cells are projected
    as they are, not centred: on the validation groups of all five folds that ranked fakes a
    little better at every size screened (32 to 256 axes; AUROC +0.0002 to +0.0010, mean over
    folds)."""
    return np.concatenate([unit_cells(maps[start:start + batch].astype(np.float32) @ axes)
                           for start in range(0, len(maps), batch)])


def variant_scores(contrast: dict[str, np.ndarray], pooled: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """Every variant's score of the same photos (higher: more like the fakes), from each
    layer's cell contrasts and the gallery's own score."""
    last, stem = contrast["last"].mean(1), contrast["stem"].mean(1)
    scores = {"global": pooled, "last-mean": last, "stem-mean": stem,
              "global+stem": pooled + stem, "global+last+stem": pooled + last + stem}
    for top in TOP_CELLS:
        scores[f"last-top{top}"] = -np.sort(-contrast["last"], axis=1)[:, :top].mean(1)
    return scores


def pooled_score(vectors: np.ndarray, is_fake: np.ndarray, queries: np.ndarray,
                 references: np.ndarray, k: int) -> np.ndarray:
    """The gallery's own score of each query (fake minus genuine similarity, top ``k``)."""
    genuine, fake = label_similarity(vectors[queries] @ vectors[references].T,
                                     is_fake[references], k)
    return fake - genuine


def by_product(score: Callable[[np.ndarray, np.ndarray], np.ndarray], products: np.ndarray,
               queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """``score(queries, references)`` within each product, rows in the queries' order."""
    parts = []
    for product in np.unique(products[queries]):
        rows = products[queries] == product
        parts.append((rows, score(queries[rows], references[products[references] == product])))
    out = np.empty((len(queries), *parts[0][1].shape[1:]), np.float32)
    for rows, values in parts:
        out[rows] = values
    return out


def left_out_pooled(vectors: np.ndarray, is_fake: np.ndarray, groups: np.ndarray, k: int,
                    queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """``(len(queries), 2)``: the gallery's own score of each query and its best similarity to
    another photo group, each query's group left out, exactly as a brand's calibration scores
    its references (:func:`ipr_vision.core.scoring.leave_one_group_out`); the queries are
    among the references, both in ascending order."""
    left = leave_one_group_out(vectors[references], is_fake[references], groups[references], k,
                               np.searchsorted(references, queries))
    return np.stack([left.s_fake - left.s_genuine, left.nearest], axis=1)


def screen_fold(maps: dict[str, np.ndarray], vectors: np.ndarray, is_fake: np.ndarray,
                products: np.ndarray, groups: np.ndarray,
                sides: dict[str, tuple[np.ndarray, np.ndarray]], k: int,
                shortlist: int | None = None
                ) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray, float]:
    """Each variant's scores of each side's queries, the nearest-other-group similarity of the
    :data:`CALIBRATION` side's (empty without it), and the milliseconds the cells' matching
    took per test photo. With ``shortlist`` the maps are unit cells matched against each
    query's shortlist (:func:`shortlist_contrast`), else raw maps matched against every
    reference (:func:`cell_contrast`)."""
    scored, nearest, ms_per_photo = {}, np.zeros(0, np.float32), float("nan")
    for name, (queries, references) in sides.items():
        left_out = name == CALIBRATION
        tick = time.perf_counter()
        contrast = {layer: by_product(
            partial(shortlist_contrast, m, vectors, is_fake, size=shortlist,
                    groups=groups if left_out else None) if shortlist
            else partial(cell_contrast, m, is_fake), products, queries, references)
            for layer, m in maps.items()}
        if name == "test":
            ms_per_photo = 1000 * (time.perf_counter() - tick) / len(queries)
        if left_out:
            both = by_product(partial(left_out_pooled, vectors, is_fake, groups, k), products,
                              queries, references)
            pooled, nearest = both[:, 0], both[:, 1]
        else:
            pooled = by_product(lambda q, r: pooled_score(vectors, is_fake, q, r, k),
                                products, queries, references)
        scored[name] = variant_scores(contrast, pooled)
    return scored, nearest, ms_per_photo


def operating_figures(calibration: np.ndarray, calibration_rows: np.ndarray,
                      nearest: np.ndarray, test: np.ndarray, test_rows: np.ndarray,
                      is_fake: np.ndarray, groups: np.ndarray, policy: Policy
                      ) -> dict[str, float]:
    """What a brand's verdicts would do on the test fold with a variant as its score: the
    operating point, the "can't tell" band and the probabilities fitted on the calibration
    side's scores (:func:`ipr_vision.core.scoring.calibrate`, as a gallery fits them), then
    each test photo judged by :func:`~ipr_vision.core.scoring.decide`. Neither the quality gate
    nor the unlike-the-product check runs here, for the gallery's score as for the others."""
    fitted = calibrate(calibration, is_fake[calibration_rows], nearest, Mode.CONTRAST, policy,
                       groups[calibration_rows])
    if isinstance(fitted, str):
        raise SystemExit(f"cannot calibrate: {fitted}")
    verdicts = np.array([decide(float(score), fitted)[0] for score in test])
    p = np.array([fitted.p_counterfeit(float(score)) for score in test])
    figures = verdict_figures(is_fake[test_rows], verdicts, p, np.ones(len(p), bool),
                              tie_broken_ranks(p, test))
    return {name: figures[name] for name in FIGURES}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.patch_screen",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold", type=int, action="append",
                        help="score only these folds (repeatable; default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", required=True,
                        help="one checkpoint per fold, {fold} in its path")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--embeddings", type=Path,
                        help="where the checkpoints' vectors are cached (default OUT/embeddings; "
                        "training.evaluate's OUT/embeddings serves as well)")
    parser.add_argument("--shortlist", type=int,
                        help="match cells against the N references of each label nearest by "
                        "the pooled vector only, and fit each variant's operating point")
    parser.add_argument("--small-bank", type=int, metavar="D",
                        help="with --shortlist: the last map's cells reduced to their first D "
                        "principal axes (fitted on each fold's training photos), the stem's "
                        "pooled to 9 x 9")
    args = parser.parse_args(argv)
    if FOLD not in args.model:
        parser.error("--model names one checkpoint per fold: put {fold} in its path")
    if args.small_bank and not args.shortlist:
        parser.error("--small-bank needs --shortlist")
    items = load_index(args.index)
    of = folds_of(items, args.folds, args.seed)
    is_fake = np.array([i.label == "fake" for i in items])
    products = np.array([i.product for i in items])
    groups = np.array([group_key(i) for i in items])
    policy = Policy()

    @functools.cache
    def decoded(side: int) -> list[Image.Image]:
        """The photos as a model of this side reads them, decoded once for every fold."""
        return [read_photo(i.source, draft_size=side).image for i in items]

    pooled: dict[str, list[np.ndarray]] = {}
    rows: list[np.ndarray] = []
    by_fold: dict[str, dict[str, Any]] = {}
    for fold in args.fold or range(args.folds):
        tick = time.perf_counter()
        checkpoint = Path(args.model.replace(FOLD, str(fold)))
        split = json.loads((checkpoint.parent / "split.json").read_text())
        test = of == fold
        if set(split["held_out_groups"]) != set(groups[test]):
            raise SystemExit(f"{checkpoint}: its held-out groups are not fold {fold}'s")
        validation = np.isin(groups, split["validation_groups"])
        side = CheckpointInfo.read(checkpoint).input_size
        maps_file = args.out / "maps" / f"{sha256_file(checkpoint)[:16]}-{side}.npz"
        if maps_file.is_file():
            with np.load(maps_file) as stored:
                maps = {layer: stored[layer] for layer in LAYERS}
        else:
            maps = feature_maps(EmbeddingNet.load(checkpoint).eval(), decoded(side), side)
            maps_file.parent.mkdir(parents=True, exist_ok=True)
            np.savez(maps_file, stem=maps["stem"], last=maps["last"])
        if args.small_bank:
            axes = principal_axes(maps["last"][~test & ~validation], args.small_bank)
            maps = {"stem": unit_cells(coarser_cells(maps["stem"])),
                    "last": project_cells(maps["last"], axes)}
        elif args.shortlist:
            maps = {layer: unit_cells(m) for layer, m in maps.items()}
        model = FineTunedEmbedder(checkpoint, mirror=True)
        embedder = CachedEmbedder(model, cache_path(args.embeddings or args.out / "embeddings",
                                                    model.model_id))
        vectors = embedder.embed(decoded(side))
        embedder.save()
        sides = {"test": (np.flatnonzero(test), np.flatnonzero(~test)),
                 "validation": (np.flatnonzero(validation), np.flatnonzero(~test & ~validation))}
        if args.shortlist:
            sides[CALIBRATION] = (np.flatnonzero(validation), np.flatnonzero(~test))
        scored, nearest, ms_per_photo = screen_fold(maps, vectors, is_fake, products, groups,
                                                    sides, policy.k, args.shortlist)
        figures = {side_name: {name: ranking_figures(is_fake[sides[side_name][0]], s)
                               for name, s in by_variant.items()}
                   for side_name, by_variant in scored.items() if side_name != CALIBRATION}
        chosen = max(figures["validation"], key=lambda n: figures["validation"][n]["auroc"])
        scored["test"][CHOSEN] = scored["test"][chosen]
        figures["test"][CHOSEN] = figures["test"][chosen]
        result: dict[str, Any] = {"chosen": chosen, **figures,
                                  "ms_per_photo_matching": round(ms_per_photo, 1)}
        if args.shortlist:
            result["operating"] = {
                name: operating_figures(scored[CALIBRATION][variant], sides[CALIBRATION][0],
                                        nearest, scored["test"][variant], sides["test"][0],
                                        is_fake, groups, policy)
                for name, variant in (("global", "global"), (SUM, SUM), (CHOSEN, chosen))}
        by_fold[str(fold)] = {**result, "seconds": round(time.perf_counter() - tick)}
        rows.append(sides["test"][0])
        for name, s in scored["test"].items():
            pooled.setdefault(name, []).append(s)
        print(f"fold {fold}: chosen {chosen}; test AUROC " + ", ".join(
            f"{n} {f['auroc']:.4f}" for n, f in figures["test"].items()), flush=True)
    report: dict[str, Any] = {
        "shortlist": args.shortlist, "small_bank": args.small_bank, "folds": by_fold,
        "pooled": _pooled(pooled, np.concatenate(rows), is_fake, list(groups),
                          [stratum(i) for i in items], args.resamples)}
    if args.shortlist:
        report["operating"] = _over_folds([f["operating"] for f in by_fold.values()])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "patch-screen.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({key: report[key] for key in ("pooled", "operating") if key in report},
                     indent=1))
    return 0


def _over_folds(folds: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, list[float]]]:
    """Mean and standard deviation over folds of each variant's operating figures."""
    return {name: {figure: [round(float(np.mean(values)), 4), round(float(np.std(values)), 4)]
                   for figure in FIGURES
                   for values in [[fold[name][figure] for fold in folds]]}
            for name in folds[0]}


def _pooled(scores: dict[str, list[np.ndarray]], rows: np.ndarray, is_fake: np.ndarray,
            groups: list[str], strata: list[str], resamples: int) -> dict[str, object]:
    """Each variant on all folds' photos, with 95 % intervals over photo groups, and its
    difference from the gallery's score photo for photo (the same groups drawn for both).
    Scores of different folds are not on one scale, so each fold's are ranked first."""
    labels = is_fake[rows]
    ranked = {name: np.concatenate([np.argsort(np.argsort(s)) / len(s) for s in parts])
              for name, parts in scores.items()}
    row_groups = [groups[r] for r in rows]
    row_strata = [strata[r] for r in rows]
    out: dict[str, object] = {}
    for name, ranks in ranked.items():
        def paired(drawn: np.ndarray, ranks: np.ndarray = ranks) -> dict[str, float]:
            own = ranking_figures(labels[drawn], ranks[drawn])
            base = ranking_figures(labels[drawn], ranked["global"][drawn])
            return {**own, **{f"{f}_less_global": own[f] - base[f] for f in BOOTSTRAPPED}}
        whole = paired(np.arange(len(rows)))
        intervals = group_bootstrap(paired, row_groups, row_strata, resamples)
        out[name] = {figure: [round(whole[figure], 4), *np.round(intervals[figure], 4)]
                     for figure in whole}
    return out


if __name__ == "__main__":
    raise SystemExit(main())
