"""Average the weights of several trainings of one recipe on the same photos (a uniform
"model soup", Wortsman et al. 2022): one network, so one pass an inspection, however many
trainings went into it.

Fine-tuning moves MobileNetV2 little from its ImageNet start, so runs that differ only in their
seed stay close enough for their average to be a network in its own right, and it tends to
rank at least as well as the runs it averages: the randomness of one run (its batches, its
augmentations) partly cancels. Here it did not pay beyond noise (two seeds on folds 1-2: the
soup landed between its runs; ``weights/MODEL_CARD.md``), so the recipe stays one training and
this stays a screening tool. It makes the soup and refuses ingredients that cannot make one:

- every ingredient must list the same training photos, or the soup's own list (which
  galleries use to leave its training photos out of their calibration) would be wrong;
- every tensor must have the same name and shape in each.

    python -m training.soup --out runs/soup/fold2/model.safetensors \\
        runs/cv3/fold2/model.safetensors runs/cv3b/fold2/model.safetensors

The soup keeps the first ingredient's metadata (its settings, side and training photos) and
records the ingredients and their sha256 in its ``training`` metadata under ``soup_of``; its
cell axes are fitted afresh (``python -m training.cell_axes``), as for any checkpoint.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ipr_vision.embedders.finetuned import CheckpointInfo
from ipr_vision.embedders.weights import sha256_file


class SoupError(ValueError):
    """The checkpoints cannot be averaged into one model."""


def _tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata() or {})
    return load_file(str(path)), metadata


def soup(ingredients: Sequence[Path], out: Path) -> Path:
    """Write the average of ``ingredients`` to ``out`` (floats averaged in float64; integer
    buffers, such as batch norm's step counter, kept from the first) and copy the first's
    ``split.json`` beside it, so the photo groups it may not be scored on are known."""
    if len(ingredients) < 2:
        raise SoupError("a soup needs at least two checkpoints")
    infos = [CheckpointInfo.read(path) for path in ingredients]
    if not infos[0].trained_on or any(i.trained_on != infos[0].trained_on for i in infos):
        raise SoupError("the checkpoints do not list the same training photos: a soup of "
                        "runs trained on different photos would have seen all of them")
    first, metadata = _tensors(ingredients[0])
    total = {name: t.double() if t.is_floating_point() else t for name, t in first.items()}
    for path in ingredients[1:]:
        tensors, _ = _tensors(path)
        if {n: t.shape for n, t in tensors.items()} != {n: t.shape for n, t in first.items()}:
            raise SoupError(f"{path} is not the same network as {ingredients[0]}")
        for name, tensor in tensors.items():
            if tensor.is_floating_point():
                total[name] += tensor.double()
    averaged = {name: (t / len(ingredients)).float() if t.is_floating_point() else t
                for name, t in total.items()}
    training = json.loads(metadata.get("training", "{}"))
    training["soup_of"] = [{"path": str(p), "sha256": sha256_file(p)} for p in ingredients]
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({n: t.contiguous() for n, t in averaged.items()}, str(out),
              metadata={**metadata, "training": json.dumps(training)})
    split = ingredients[0].parent / "split.json"
    if split.is_file():
        shutil.copyfile(split, out.parent / "split.json")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.soup",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("checkpoints", type=Path, nargs="+",
                        help="training.train checkpoints of one recipe on the same photos")
    args = parser.parse_args(argv)
    try:
        written = soup(args.checkpoints, args.out)
    except SoupError as error:
        raise SystemExit(f"refused: {error}") from None
    print(f"{written}: the average of {len(args.checkpoints)} checkpoints; sha256 "
          f"{sha256_file(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
