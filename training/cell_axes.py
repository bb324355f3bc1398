"""Fit a model's cell axes: the file that lets a gallery re-rank by cells
(:mod:`ipr_vision.embedders.cells`).

The last feature map's cells (1280 numbers each) are kept on their first ``--dims`` principal
axes, fitted on the cells of the photos the model was trained on (the checkpoint lists their
sha256), as the cross-validation screened them (``training/patch_screen.py --small-bank``,
where each fold's axes came from its own training photos): never on photos a gallery will be
judged on.

    python -m training.cell_axes --model weights/ipr-vision-metric-nike-v3.safetensors \\
        --index ../shared/datasets/nike_af1_j1/index.csv

writes ``weights/ipr-vision-metric-nike-v3.safetensors.cells.safetensors``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np
import torch

from ipr_vision.embedders.cells import axes_path, save_axes
from ipr_vision.embedders.finetuned import CheckpointInfo, EmbeddingNet
from ipr_vision.embedders.weights import sha256_file
from ipr_vision.intake.photo import read_photo

from .data import checkpoint_arguments, listed_training_photos
from .patch_screen import feature_maps, principal_axes

#: Photos decoded and run at a time (their last maps are kept as float16).
CHUNK = 64


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.cell_axes",
                                     description=__doc__.splitlines()[0])
    checkpoint_arguments(parser)
    parser.add_argument("--dims", type=int, default=64)
    args = parser.parse_args(argv)
    info = CheckpointInfo.read(args.model)
    items = listed_training_photos(args.model, args.index)
    found = {dict(i.extra)["sha256"] for i in items}
    if found != info.trained_on:
        raise SystemExit(f"{args.index} holds {len(found)} of the model's "
                         f"{len(info.trained_on)} training photos")
    tick = time.perf_counter()
    net = EmbeddingNet.load(args.model).eval()
    side = info.input_size
    last = np.concatenate([
        feature_maps(net, [read_photo(i.source, draft_size=side).image
                           for i in items[start:start + CHUNK]], side)["last"]
        for start in range(0, len(items), CHUNK)])
    axes = principal_axes(last, args.dims)
    out = axes_path(args.model)
    save_axes(out, torch.from_numpy(axes), {
        "model_sha256": sha256_file(args.model), "photos": str(len(items)),
        "cells": str(last.shape[0] * last.shape[1]), "dims": str(args.dims),
        "side": str(side)})
    print(f"{out}: {args.dims} axes of {last.shape[0] * last.shape[1]} cells of {len(items)} "
          f"photos in {time.perf_counter() - tick:.0f} s; sha256 {sha256_file(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
