"""Today's PyTorch path against the OpenVINO path, side by side in one run, with the shipped
model at the shipped settings. Prints; asserts nothing.

The machines are shared and noisy, so every figure is printed with its ratio to the PyTorch
path measured in the same run: the ratios are what count.

Four paths where the CPU has bf16: PyTorch (the path before OpenVINO), OpenVINO f32
(``IPR_VISION_RUNTIME=openvino``: PyTorch's vectors; the default where int8 is not), OpenVINO
bf16 (opt-in, ``openvino-bf16``: its own vectors and model id) and OpenVINO int8
(``openvino-int8``, the default on x86 CPUs with AVX2: the model's int8 network made by
``training.quantize``; its own vectors and model id). Which one is the default on this machine
is printed first. Beside them, ``openvino-vectors``: the default path searching by vectors
only, without the re-ranking by cells (what the cells cost in time, and what they change in
the figures).

1. the network alone: photos/s at batch 1 and 8 (a photo is two passes with the mirror image);
2. one inspection end to end on a warm gallery (decode to suggestion), p50/p95 ms, and where
   the time goes: read + decode + EXIF + resize, quality gate (beside the network), network,
   search + calibration + lookups;
3. import: photos/s through ``Gallery.import_index``;
4. the figures from both paths: AUROC and fake recall at 1 % / 5 % of genuine flagged over
   photo groups kept out of the gallery (the vectors agree to 1e-7, so these must match). The
   shipped model trained on nearly every photo of the dataset, so they compare the paths, not
   the model: its expected figures are its recipe's cross-validation (weights/MODEL_CARD.md).

Usage::

    .venv/bin/python bench/bench_speed.py [--dataset DIR] [--gallery-photos 600]
        [--queries 150] [--import-photos 240]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from bench_engine import (
    Table,
    dataset_index,
    gallery_arguments,
    note,
    percentile,
    print_machine,
    section,
    split,
)
from PIL import Image

from ipr_vision import Gallery
from ipr_vision.core.quality import assess_quality
from ipr_vision.embedders import (
    Embedder,
    cell_layout,
    default_embedder,
    draft_size,
    weights,
    with_cells,
)
from ipr_vision.embedders.compiled import RUNTIME_ENV, RUNTIMES, TORCH_CUDA, default_runtime
from ipr_vision.embedders.finetuned import FineTunedEmbedder
from ipr_vision.intake.labelled import LabelledPhoto, read_index, write_index
from ipr_vision.intake.photo import read_photo


def embedders() -> dict[str, Embedder]:
    """The shipped model on each numeric path (bf16 only where the CPU has it and int8 only
    where the model has an int8 network, each with its own model id and so its own gallery
    vectors;
    PyTorch on a GPU only where there is one, as it would otherwise time the CPU path twice
    under another name)."""
    made = {}
    for path in RUNTIMES:
        if path == TORCH_CUDA and not torch.cuda.is_available():
            continue
        os.environ[RUNTIME_ENV] = path
        made[path] = default_embedder()
    del os.environ[RUNTIME_ENV]
    for opt_in in ("openvino-bf16", "openvino-int8"):  # only where the CPU or model has it
        if getattr(made[opt_in], "runtime", "") != opt_in:
            del made[opt_in]
    shipped = made["openvino"]
    if isinstance(shipped, FineTunedEmbedder) and cell_layout(shipped) is not None:
        made[VECTORS_ONLY] = FineTunedEmbedder(weights.require(weights.FINETUNED), cells=False)
    return dict(sorted(made.items(), key=lambda item: item[0] != "torch"))


#: The default path with the shipped model searching by vectors only (no re-ranking by cells):
#: what the cells cost, in the same run.
VECTORS_ONLY = "openvino-vectors"


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "-"


def bench_network(models: dict[str, Embedder], images: Sequence[Image.Image]) -> None:
    table = Table(("path", 14), ("batch", 5), ("photos/s", 9), ("vs torch", 8))
    for batch in (1, 8):
        rates = {}
        for path, model in models.items():
            chunk = list(images[:batch])
            model.embed(chunk)  # warm
            times = []
            for _ in range(max(3, 24 // batch)):
                start = time.perf_counter()
                model.embed(chunk)
                times.append(time.perf_counter() - start)
            rates[path] = batch / float(np.median(times))
            table.row(path, batch, f"{rates[path]:.1f}", ratio(rates[path], rates["torch"]))


def bench_inspection(galleries: dict[str, Gallery], queries: Sequence[LabelledPhoto],
                     brand: str) -> None:
    stages: dict[str, dict[str, list[float]]] = {p: {} for p in galleries}
    for gallery in galleries.values():
        gallery.inspect(queries[0].source, brand=brand)  # warm: index loaded, calibrated
    # PyTorch's path last: its threads stay awake a while after each call and slow whatever
    # runs beside them (timed in turns, photo by photo, every path paid for it: 25 ms for
    # OpenVINO's network instead of 14).
    for path in sorted(galleries, key=lambda p: p == "torch"):
        gallery = galleries[path]
        embedder = gallery.embedder
        side = draft_size(embedder)
        for item in queries:
            start = time.perf_counter()
            gallery.inspect(item.source, brand=brand)
            total = time.perf_counter() - start
            t0 = time.perf_counter()
            photo = read_photo(item.source, draft_size=side)
            t1 = time.perf_counter()
            assess_quality(photo.image, photo.original_size)
            t2 = time.perf_counter()
            if (cells_of := with_cells(embedder)) is None:
                embedder.embed([photo.image])
            else:
                cells_of.embed_with_cells([photo.image])
            t3 = time.perf_counter()
            # The quality gate runs beside the network (gallery/inspector.py), so what is
            # left of the total past decoding and the network is search and lookups.
            for name, seconds in (("total", total), ("read+decode", t1 - t0),
                                  ("quality*", t2 - t1), ("network", t3 - t2),
                                  ("search etc.", total - (t1 - t0) - (t3 - t2))):
                stages[path].setdefault(name, []).append(seconds * 1000)
    others = [p for p in galleries if p != "torch"]
    table = Table(("stage (ms)", 12), *((f"{p} p50", 17) for p in galleries),
                  *((f"{p} vs torch", 21) for p in others),
                  *((f"{p} p95", 17) for p in galleries))
    for name in stages["torch"]:
        p50 = {p: percentile(stages[p][name], 50) for p in galleries}
        p95 = {p: percentile(stages[p][name], 95) for p in galleries}
        table.row(name, *(f"{p50[p]:.1f}" for p in galleries),
                  *(ratio(p50[p], p50["torch"]) for p in others),
                  *(f"{p95[p]:.1f}" for p in galleries))
    note("* the quality gate runs beside the network: it adds to the total only where it "
         "outlasts it")


def bench_import(models: dict[str, Embedder], index: Path, scratch: Path, photos: int) -> None:
    table = Table(("path", 14), ("photos", 6), ("seconds", 8), ("photos/s", 9), ("vs torch", 8))
    rates = {}
    for path, model in models.items():
        with Gallery(scratch / f"import-{path}", embedder=model) as gallery:
            report = gallery.import_index(index, brand="bench")
        rates[path] = len(report.added) / report.seconds
        table.row(path, len(report.added), f"{report.seconds:.1f}", f"{rates[path]:.1f}",
                  ratio(rates[path], rates["torch"]))
    note(f"({photos} photos asked; duplicates and refused photos are not counted)")


def bench_accuracy(galleries: dict[str, Gallery], index: Path, brand: str) -> None:
    table = Table(("path", 14), ("AUROC", 7), ("recall@1%", 9), ("recall@5%", 9),
                  ("can't tell", 10))
    for path, gallery in galleries.items():
        result = gallery.evaluate(index, brand=brand, resamples=0)
        table.row(path, f"{result.auroc:.4f}", f"{result.fake_recall_at_1pct:.3f}",
                  f"{result.fake_recall_at_5pct:.3f}", f"{result.inconclusive:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    gallery_arguments(parser)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--import-photos", type=int, default=240)
    args = parser.parse_args(argv)
    if (index := dataset_index(args.dataset)) is None:
        return 2
    started = time.perf_counter()
    print_machine(quick=False, title="ipr-vision speed: PyTorch and OpenVINO side by side")
    items, _ = read_index(index)
    reference, queries = split(items, args.gallery_photos, args.queries, args.seed)
    models = embedders()
    note(f"model {models['torch'].model_id}; paths: "
         + ", ".join(f"{p} = {getattr(m, 'runtime', '?')}" for p, m in models.items())
         + f"; the default on this machine: {default_runtime()}")
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as folder:
        scratch = Path(folder)
        built = scratch / "gallery"
        with section("Building the gallery (OpenVINO f32; PyTorch shares its vectors, bf16 "
                     "and int8 embed their own on first use)"):
            with Gallery(built, embedder=models["openvino"]) as gallery:
                report = gallery.import_index(write_index(scratch / "gallery.csv", reference),
                                              brand="nike")
            note(f"{len(report.added)} references in {report.seconds:.1f} s")
        galleries = {p: Gallery(built, embedder=m) for p, m in models.items()}
        for path, gallery in galleries.items():
            if added := gallery.reembed("nike"):  # bf16 and int8 embed their own, untimed
                note(f"{path}: {added} references embedded with {gallery.embedder.model_id}")
        images = [read_photo(q.source, draft_size=draft_size(models["torch"])).image
                  for q in queries[:8]]
        with section("1. The network alone (a photo = the photo and its mirror image)"):
            bench_network(models, images)
        with section(f"2. One inspection end to end, warm ({len(queries)} photos "
                     "outside the gallery)"):
            bench_inspection(galleries, queries, "nike")
        with section("3. Import"):
            bench_import(models, write_index(scratch / "import.csv",
                                             list(queries[:args.import_photos])),
                         scratch, args.import_photos)
        with section("4. Figures from both paths (photo groups outside the gallery; the model "
                     "trained on them: this compares the paths, not the model)"):
            bench_accuracy(galleries, write_index(scratch / "queries.csv", list(queries)),
                           "nike")
        for gallery in galleries.values():
            gallery.close()
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
