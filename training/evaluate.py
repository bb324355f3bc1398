"""Evaluate an embedding model with the core's own ``Gallery.evaluate``, in three protocols.

1. ``known-fakes``: the gallery holds both labels of the training side; queries are the
   held-out photo groups (``RUN/split.json``).
2. ``genuine-only``: the same queries against the training side's genuine photos only.
3. ``unseen-product``: a model trained without ``--product`` (``--products air_force_1``) is
   evaluated on that product alone, split by photo group into gallery and queries.

Each run prints and writes AUROC, fake recall at 1 % and 5 % of genuine flagged, and expected
calibration error, and saves the ROC curve as PNG::

    python -m training.evaluate --index ../shared/datasets/nike_af1_j1/index.csv \\
        --split runs/nike/split.json --model runs/nike/model.safetensors --out reports/nike
    python -m training.evaluate ... --model imagenet          # the frozen baseline
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ipr_vision import Gallery
from ipr_vision.embedders import Embedder
from ipr_vision.embedders.finetuned import FineTunedEmbedder
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.gallery import LabelledPhoto
from ipr_vision.metrics import roc_curve
from ipr_vision.plots import roc_plot
from ipr_vision.results import Evaluation

from .data import load_index, split

PROTOCOLS = ("known-fakes", "genuine-only", "unseen-product")


def protocol_sides(items: list[LabelledPhoto], held_out_groups: set[str], protocol: str,
                   product: str = "jordan_1", seed: int = 0
                   ) -> tuple[list[LabelledPhoto], list[LabelledPhoto]]:
    """(gallery, queries) of a protocol; a photo group is never on both sides."""
    if protocol == "unseen-product":
        return split([i for i in items if i.product == product], 0.2, seed)
    queries = [i for i in items if i.group in held_out_groups]
    gallery = [i for i in items if i.group not in held_out_groups]
    if protocol == "genuine-only":
        gallery = [i for i in gallery if i.label == "genuine"]
    return gallery, queries


def write_csv(path: Path, items: list[LabelledPhoto]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "product", "dup_group"])
        writer.writerows([i.source.resolve(), i.label, i.product, i.group] for i in items)
    return path


def evaluate(embedder: Embedder, gallery_items: list[LabelledPhoto],
             queries: list[LabelledPhoto]) -> Evaluation:
    """Build a throw-away gallery with this model and inspect the queries against it."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with Gallery(root / "gallery", embedder=embedder) as gallery:
            gallery.import_index(write_csv(root / "gallery.csv", gallery_items), brand="eval",
                                 added_by="evaluation")
            return gallery.evaluate(write_csv(root / "queries.csv", queries), brand="eval")


def summary(evaluation: Evaluation) -> dict[str, float | int]:
    return {"queries": evaluation.photos, "auroc": evaluation.auroc,
            "fake_recall_at_1pct": evaluation.fake_recall_at_1pct,
            "fake_recall_at_5pct": evaluation.fake_recall_at_5pct, "ece": evaluation.ece,
            "inconclusive": evaluation.inconclusive}


def roc_points(evaluation: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    scored = [(f, p) for f, p in zip(evaluation.is_fake, evaluation.p_counterfeit, strict=True)
              if p is not None]
    return roc_curve(np.array([f for f, _ in scored]), np.array([p for _, p in scored]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--split", type=Path, required=True, help="the run's split.json")
    parser.add_argument("--model", action="append", required=True,
                        help="'imagenet' or a .safetensors checkpoint (repeat to compare)")
    parser.add_argument("--protocol", choices=PROTOCOLS, action="append")
    parser.add_argument("--product", default="jordan_1", help="unseen-product protocol")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    items = load_index(args.index)
    held = set(json.loads(args.split.read_text())["held_out_groups"])
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict[str, float | int]]] = {}
    for protocol in args.protocol or PROTOCOLS[:2]:
        gallery_items, queries = protocol_sides(items, held, protocol, args.product)
        curves = {}
        for model in args.model:
            embedder: Embedder = (MobileNetV2Embedder() if model == "imagenet"
                                  else FineTunedEmbedder(model))
            evaluation = evaluate(embedder, gallery_items, queries)
            figures = summary(evaluation)
            results.setdefault(protocol, {})[model] = figures
            curves[f"{Path(model).parent.name or model} (AUROC {evaluation.auroc:.3f})"] = (
                roc_points(evaluation))
            print(f"{protocol:15s} {model}: " + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in figures.items()), flush=True)
        title = f"ROC, protocol {protocol}: {len(queries)} held-out photos"
        roc_plot(curves, operating_point=0.01, title=title).save(
            args.out / f"roc-{protocol}.png")
    (args.out / "results.json").write_text(json.dumps(results, indent=1, allow_nan=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
