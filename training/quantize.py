"""Make a fine-tuned model's int8 network (:mod:`ipr_vision.embedders.quantized`): NNCF's
post-training quantization of the network the f32 path compiles, its value ranges taken from
the model's own training photos (the checkpoint lists their sha256) and their mirror images,
never from photos a gallery will be judged on.

    python -m training.quantize --model weights/ipr-vision-metric-nike-v3.safetensors \\
        --index ../shared/datasets/nike_af1_j1/index.csv

writes ``<model>.int8.xml`` and ``.int8.bin`` beside the weights (made again by running it
again). NNCF (``pip install nncf``; Intel's quantization library for OpenVINO, the maintained
tool for it, rather than any calibration code of our own) is needed here only: the package
reads the file with OpenVINO Runtime alone.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ipr_vision.embedders.cells import CellsAndVector, SquashedToCells, axes_path, load_axes
from ipr_vision.embedders.compiled import export_onnx
from ipr_vision.embedders.finetuned import CheckpointInfo, EmbeddingNet
from ipr_vision.embedders.mobilenet import SquashedToVectors, fold_batch_norm, squash_uint8
from ipr_vision.embedders.quantized import int8_path, int8_sha256
from ipr_vision.embedders.weights import sha256_file
from ipr_vision.intake.photo import read_photo

from .data import checkpoint_arguments, listed_training_photos

#: Training photos whose value ranges set the quantization (each also mirrored): NNCF's
#: default subset is 300.
PHOTOS = 300
#: Operations left in f32 (OpenVINO's type names): see :func:`quantize`.
IN_F32 = ("GroupConvolution", "AvgPool")


def network(model: Path) -> tuple[torch.nn.Module, tuple[str, ...], str]:
    """What the f32 path compiles for ``model`` with the mirror image apart, the outputs it
    gives, and the sha256 of the cell axes it uses ("" for a model without them)."""
    net = fold_batch_norm(EmbeddingNet.load(model))
    if not axes_path(model).is_file():
        return SquashedToVectors(net, mirror=False).eval(), ("vectors",), ""
    axes, sha = load_axes(axes_path(model))
    return (SquashedToCells(CellsAndVector(net, axes), mirror=False).eval(),
            ("vectors", "cells"), sha)


def training_pixels(model: Path, index: str, count: int, seed: int) -> np.ndarray:
    """``count`` of the model's training photos, drawn at random, squashed as the package
    squashes them, each followed by its mirror image."""
    info = CheckpointInfo.read(model)
    items = listed_training_photos(model, index)
    if not items:
        raise SystemExit(f"{index} holds none of the model's training photos")
    chosen = random.Random(seed).sample(items, min(count, len(items)))
    pixels = squash_uint8([read_photo(i.source, draft_size=info.input_size).image
                           for i in chosen], info.input_size)
    return np.stack([view for photo in pixels for view in (photo, photo[:, ::-1])])


def quantize(model: Path, pixels: np.ndarray) -> Path:
    """Write ``model``'s int8 network, quantized on ``pixels``, beside it; its path."""
    # NNCF reports its use to Intel through openvino_telemetry unless the machine has opted
    # out; without that module it sends nothing (its own fallback), as this tool must not.
    sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]
    import nncf
    import openvino as ov
    from nncf.quantization.advanced_parameters import (
        AdvancedQuantizationParameters,
        OverflowFix,
    )

    module, outputs, axes_sha = network(model)
    side = pixels.shape[1]
    with tempfile.TemporaryDirectory(dir=model.parent) as scratch:
        onnx = Path(scratch) / "network.onnx"
        export_onnx(module, side, outputs, onnx)
        calibration = nncf.Dataset(list(pixels), lambda photo: np.ascontiguousarray(photo[None]))
        # Chosen by how close the vectors and cells stay to f32's (no label looked at):
        # MIXED quantizes activations with a zero point, as ReLU6 outputs are all >= 0 while
        # the normalised input is not; the depthwise convolutions (9 input values each) and
        # the average pooling of the stem's cells stay in f32, which saved no time in int8 and
        # cost the most fidelity. On 200 photos with the shipped model, cosine to f32's
        # vectors (median / 5th percentile / least): symmetric 0.9944 / - / 0.975, MIXED
        # 0.9947 / 0.9887 / 0.981, MIXED without the depthwise 0.9970 / 0.9947 / 0.990. A
        # fold checkpoint's stem cells agreed with f32's at 0.73 on average with the pooling
        # in int8 (the re-ranking then lost fakes: weights/MODEL_CARD.md), 0.995 without.
        # Weights on 7 bits everywhere (NNCF's overflow fix): a CPU without int8 dot-product
        # instructions (VNNI) sums pairs of products in 16 bits, which 8-bit weights can
        # overflow. With 7 bits CPUs with and without VNNI agree: OpenVINO held to AVX2
        # (ONEDNN_MAX_CPU_ISA=AVX2) gave the shipped model's 100 photos bit for bit, where
        # 8-bit weights moved them to a cosine of 0.996 (median; 0.992 least), as far as
        # int8 is from f32. Cross-validated, 7 bits cost nothing measurable either.
        quantized = nncf.quantize(ov.Core().read_model(onnx), calibration,
                                  preset=nncf.QuantizationPreset.MIXED,
                                  subset_size=len(pixels),
                                  ignored_scope=nncf.IgnoredScope(types=list(IN_F32)),
                                  advanced_parameters=AdvancedQuantizationParameters(
                                      overflow_fix=OverflowFix.ENABLE))
        made_for = {"weights_sha256": sha256_file(model), "axes_sha256": axes_sha,
                    "side": str(side), "outputs": ",".join(outputs)}
        for key, value in made_for.items():
            quantized.set_rt_info(value, ["ipr_vision", key])
        written = Path(scratch) / "int8.xml"
        # compress_to_fp16=False: the layers left in f32 keep the weights f32 computes with.
        ov.save_model(quantized, written, compress_to_fp16=False)
        out = int8_path(model)
        # The numbers first, then the graph that names them: a reader finds no graph, or both.
        os.replace(written.with_suffix(".bin"), out.with_suffix(".bin"))
        os.replace(written, out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.quantize",
                                     description=__doc__.splitlines()[0])
    checkpoint_arguments(parser)
    parser.add_argument("--photos", type=int, default=PHOTOS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tick = time.perf_counter()
    pixels = training_pixels(args.model, args.index, args.photos, args.seed)
    out = quantize(args.model, pixels)
    print(f"{out}: int8, from {len(pixels) // 2} training photos and their mirror images, in "
          f"{time.perf_counter() - tick:.0f} s; sha256 {int8_sha256(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
