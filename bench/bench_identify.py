"""What is this item? How often the proposed product is right, for photos whose brand and
product nobody named. Prints; asserts nothing.

Cross-validated by photo group (``core.splits.assign_folds``, stratified by product and label):
each fold's photos are identified through ``Gallery.identify`` against a gallery of the other
folds, so no photo is matched against a copy of itself. Top-1 and top-3 accuracy of the product
(brand and product), per fold and pooled, with a 95 % interval by bootstrap over photo groups.

The dataset holds one brand of two products, so top-3 is right by construction here and top-1
is a two-way choice: this measures the path and its accuracy on these goods, not a catalogue
of thousands of products. The frozen ImageNet model is the default (the shipped model was
fine-tuned on most of these photos); vectors are cached as in ``bench_learning.py``.

Usage::

    cd bench && ../.venv/bin/python bench_identify.py [--folds 5] [--model imagenet] [--cache DIR]
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from bench_engine import Table, note, section
from bench_learning import BRAND, cached_model, photo_arguments, real_photos

from ipr_vision import Gallery
from ipr_vision.core.metrics import group_bootstrap
from ipr_vision.core.splits import assign_folds
from ipr_vision.errors import PhotoError
from ipr_vision.intake.labelled import group_key, stratum, write_index


def main(argv: Sequence[str] | None = None) -> int:
    parser = photo_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    items = real_photos(args, "ipr-vision: what is this item?")
    if not items:
        return 0
    groups = [group_key(i) for i in items]
    fold_of = assign_folds(groups, [stratum(i) for i in items], args.folds)
    embedder = cached_model(args)
    top1: list[bool] = []
    top3: list[bool] = []
    scored_groups: list[str] = []
    table = Table(("fold", 4), ("photos", 6), ("top-1", 6), ("top-3", 6))
    with tempfile.TemporaryDirectory() as scratch, section("folds"):
        for fold in range(args.folds):
            gallery = Gallery(Path(scratch) / str(fold), embedder=embedder)
            train = [i for i, f in zip(items, fold_of, strict=True) if f != fold]
            gallery.import_index(write_index(Path(scratch) / f"{fold}.csv", train), brand=BRAND,
                                 added_by="bench")
            first = len(top1)
            for item, f, group in zip(items, fold_of, groups, strict=True):
                if f != fold:
                    continue
                try:
                    found = gallery.identify(item.source)
                except PhotoError:
                    continue
                named = [(c.brand, c.product) for c in found]
                top1.append(named[0] == (BRAND, item.product))
                top3.append((BRAND, item.product) in named)
                scored_groups.append(group)
            gallery.close()
            table.row(str(fold), str(len(top1) - first), f"{np.mean(top1[first:]):.3f}",
                      f"{np.mean(top3[first:]):.3f}")
    embedder.save()
    hits = np.array(top1, dtype=float)
    low, high = group_bootstrap(lambda rows: {"top1": float(hits[rows].mean())}, scored_groups,
                                ["all"] * len(hits), 2000)["top1"]
    table.row("all", str(len(top1)), f"{np.mean(top1):.3f}", f"{np.mean(top3):.3f}")
    note(f"top-1 95 % interval by bootstrap over photo groups: {low:.3f} to {high:.3f}; "
         f"model {embedder.model_id}; {args.folds} folds by photo group.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
