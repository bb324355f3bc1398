"""CPU inference of the shipped fine-tuned model: what each speed-up buys and what it costs.

Prints; asserts nothing. The same checkpoint run four ways, same preprocessing (whole photo
squashed to the checkpoint's inference side):

* ``eager``: ``EmbeddingNet`` as trained (NCHW tensors, batch norm as separate layers);
* ``folded+CL``: what the package runs (``FineTunedEmbedder``: batch norm folded into the
  convolutions, channels-last tensors);
* ``onnxruntime``: the folded network exported to ONNX and run by ONNX Runtime (when installed:
  ``pip install onnxruntime onnx``);
* ``int8``: PyTorch's post-training static quantisation (FX graph mode, x86 backend), calibrated
  on 64 gallery photos.

For each: images per second at batch 1 and 8 (median call, after warm-up), the largest
difference from ``folded+CL``'s embeddings, and, with the dataset present, protocol 1 (known
fakes) on the checkpoint's held-out photo groups: AUROC and fake recall at 1 % of genuine
flagged, through the same ``Gallery.evaluate`` the training report uses. All of it per network
pass, on the photo alone: the package also embeds each photo's mirror image (in the same
batch), so it embeds photos at half these rates, with the model card's accuracy.

Usage::

    .venv/bin/python bench/bench_model.py [--checkpoint weights/X.safetensors] [--no-accuracy]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ipr_vision import read_photo
from ipr_vision.embedders import weights
from ipr_vision.embedders.finetuned import EmbeddingNet, FineTunedEmbedder
from ipr_vision.embedders.mobilenet import squash_batch
from training.data import load_index
from training.evaluate import evaluate, protocol_sides

REPO = Path(__file__).resolve().parent.parent

DATASET = Path(os.environ.get("IPR_VISION_DATASETS", REPO.parent / "shared" / "datasets"))
WARM_UP, CALLS = 3, 12


@dataclass
class Variant:
    """One way of running the checkpoint, as an ``Embedder`` the gallery accepts."""

    model_id: str
    dim: int
    input_size: int  # read by the gallery too, to decode photos at this side
    run: Callable[[torch.Tensor], np.ndarray]  # preprocessed batch -> unit vectors

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.run(squash_batch(images, self.input_size)).astype(np.float32)


def variants(checkpoint: Path, calibration: torch.Tensor) -> list[Variant]:
    folded = FineTunedEmbedder(checkpoint)
    dim, side = folded.dim, folded.input_size
    eager = EmbeddingNet.load(checkpoint)
    found = [
        Variant("eager", dim, side, lambda b: eager(b.contiguous()).numpy()),
        Variant("folded+CL", dim, side, lambda b: folded.net(b).numpy()),
    ]
    try:
        import onnxruntime
    except ImportError:
        print("onnxruntime: not installed (pip install onnxruntime onnx), skipped")
    else:
        path = Path(tempfile.mkdtemp()) / "model.onnx"
        torch.onnx.export(folded.net, (calibration[:1],), str(path), dynamo=False,
                          input_names=["photos"], output_names=["vectors"],
                          dynamic_axes={"photos": {0: "n"}, "vectors": {0: "n"}})
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = onnxruntime.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
        found.append(Variant("onnxruntime", dim, side, lambda b: session.run(
            None, {"photos": b.contiguous().numpy()})[0]))
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "x86"
    features = copy.deepcopy(eager.features).eval()
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        prepared = prepare_fx(features, get_default_qconfig_mapping("x86"),
                              example_inputs=(calibration[:1],))
        with torch.inference_mode():
            for start in range(0, len(calibration), 8):
                prepared(calibration[start:start + 8])
        quantised = convert_fx(prepared)
    found.append(Variant("int8", dim, side, lambda b: eager.from_pooled(
        quantised(b.contiguous()).mean(dim=(2, 3))).numpy()))
    return found


def throughput(variant: Variant, batch: torch.Tensor) -> float:
    times = []
    for call in range(WARM_UP + CALLS):
        started = time.perf_counter()
        variant.run(batch)
        if call >= WARM_UP:
            times.append(time.perf_counter() - started)
    return len(batch) / float(np.median(times))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="default: the shipped checkpoint in weights/")
    parser.add_argument("--split", type=Path, default=None,
                        help="its split.json (default: beside the shipped checkpoint)")
    parser.add_argument("--no-accuracy", action="store_true")
    args = parser.parse_args(argv)
    checkpoint = args.checkpoint or weights.require(weights.FINETUNED)
    run_split = args.split or checkpoint.with_suffix(".split.json")
    index = DATASET / "nike_af1_j1" / "index.csv"
    torch.set_grad_enabled(False)
    side = FineTunedEmbedder(checkpoint).input_size
    print(f"checkpoint {checkpoint.name}, {side} px, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    if index.is_file():
        items = load_index(index)
        photos = [read_photo(items[i].source).image for i in range(0, len(items), 48)][:64]
    else:
        print(f"dataset not at {index}: generated noise photos stand in, no accuracy figures")
        rng = np.random.default_rng(0)
        photos = [Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
                  for _ in range(64)]
    calibration = squash_batch(photos, side)
    found = variants(checkpoint, calibration)
    reference = found[1].run(calibration[:16])
    accuracy = index.is_file() and run_split.is_file() and not args.no_accuracy
    if accuracy:
        held = set(json.loads(run_split.read_text())["held_out_groups"])
        gallery_items, queries = protocol_sides(items, held, "known-fakes")
        print(f"protocol 1 (known fakes): {len(gallery_items)} gallery photos, "
              f"{len(queries)} held-out queries")
    print(f"{'variant':12} {'img/s b1':>9} {'img/s b8':>9} {'max |diff|':>11}"
          + (f" {'AUROC':>7} {'rec@1%':>7} {'rec@5%':>7}" if accuracy else ""))
    for variant in found:
        row = (f"{variant.model_id:12} {throughput(variant, calibration[:1]):9.1f} "
               f"{throughput(variant, calibration[:8]):9.1f} "
               f"{np.abs(variant.run(calibration[:16]) - reference).max():11.1e}")
        if accuracy:
            result = evaluate(variant, gallery_items, queries)
            row += (f" {result.auroc:7.3f} {result.fake_recall_at_1pct:7.3f} "
                    f"{result.fake_recall_at_5pct:7.3f}")
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
