"""Training photos: split by photo group, decoded once, augmented the way phone photos vary."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.transforms.v2 as T
from PIL import Image

from ipr_vision.core.splits import assign_folds, split_groups
from ipr_vision.embedders.finetuned import CheckpointInfo
from ipr_vision.embedders.mobilenet import IMAGENET_MEAN, IMAGENET_STD
from ipr_vision.intake.labelled import LabelledPhoto, group_key, read_index, stratum
from ipr_vision.intake.photo import read_photo

#: Photos are kept in memory this much above the network's input side, so random crops still
#: see detail: 288 px for a 224 px input, where 3,000 photos take about 0.6 GB.
STORED_MARGIN = 9 / 7

#: What training separates: each product's genuine and fake are two classes (the strata splits
#: keep in proportion), so the hardest negatives (same product, other label) sit closest in
#: every batch.
class_name = stratum


def split(items: list[LabelledPhoto], query_share: float, seed: int
          ) -> tuple[list[LabelledPhoto], list[LabelledPhoto]]:
    """(train, held out) by photo group, stratified by product and label: no group is on both
    sides, so a copy of a training photo is never scored as a new one."""
    groups = [group_key(item) for item in items]
    held = split_groups(groups, [stratum(i) for i in items], query_share, seed)
    return ([i for i, h in zip(items, held, strict=True) if not h],
            [i for i, h in zip(items, held, strict=True) if h])


def folds_of(items: list[LabelledPhoto], folds: int, seed: int) -> np.ndarray:
    """Each photo's cross-validation fold, by photo group and stratified by product and label;
    training and evaluation both call this, so a fold's checkpoint and its evaluation agree on
    which photos it never saw."""
    return assign_folds([group_key(i) for i in items], [stratum(i) for i in items], folds, seed)


def fold_sides(items: list[LabelledPhoto], folds: int, fold: int, seed: int
               ) -> tuple[list[LabelledPhoto], list[LabelledPhoto]]:
    """(training side, test fold) of fold ``fold``: the other folds, and this one."""
    if not 0 <= fold < folds:
        raise ValueError(f"fold {fold} does not exist among {folds} folds (0 to {folds - 1})")
    of = folds_of(items, folds, seed)
    return ([i for i, f in zip(items, of, strict=True) if f != fold],
            [i for i, f in zip(items, of, strict=True) if f == fold])


def load_index(index_csv: str | Path, products: set[str] | None = None) -> list[LabelledPhoto]:
    items, failed = read_index(index_csv)
    if failed:
        raise ValueError(f"{index_csv}: {len(failed)} rows unusable, first: {failed[0]}")
    return [i for i in items if products is None or i.product in products]


def listed_training_photos(checkpoint: Path, index_csv: str | Path) -> list[LabelledPhoto]:
    """The photos of ``index_csv`` that ``checkpoint`` lists as its training photos (by
    sha256): what a file made beside a checkpoint (its cell axes, its int8 network) is fitted
    on, so that it never saw a photo a gallery will be judged on."""
    listed = CheckpointInfo.read(checkpoint).trained_on
    if not listed:
        raise SystemExit(f"{checkpoint} does not list its training photos")
    return [i for i in load_index(index_csv) if dict(i.extra).get("sha256") in listed]


def checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` and ``--index``: a checkpoint and an index CSV holding its training
    photos, for the tools that make a file beside it from them."""
    parser.add_argument("--model", type=Path, required=True, help="a training.train checkpoint")
    parser.add_argument("--index", required=True,
                        help="an index CSV holding the model's training photos")


class JpegOnCpu(T.JPEG):
    """JPEG re-encoding wherever the image lies: torchvision's JPEG decoder gives CPU tensors,
    so an image on a GPU makes the round trip through the CPU for this one step."""

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return super().transform(inpt.cpu(), params).to(inpt.device)


def phone_augment(size: int) -> T.Compose:
    """Rotation, framing, perspective, light, colour cast, blur and JPEG quality, as officers'
    phone photos of one item differ from each other. Each step runs on the image's device, so
    a GPU run augments there (``training.train --augment-on``)."""
    return T.Compose([
        T.RandomResizedCrop(size, scale=(0.55, 1.0), ratio=(0.75, 1.33), antialias=True),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.RandomRotation(20)], p=0.5),
        T.RandomPerspective(distortion_scale=0.25, p=0.4),
        T.ColorJitter(brightness=0.35, contrast=0.3, saturation=0.25, hue=0.04),
        T.RandomApply([T.GaussianBlur(5, sigma=(0.1, 1.8))], p=0.3),
        T.RandomApply([JpegOnCpu((35, 95))], p=0.5),
        T.ToDtype(torch.float32, scale=True),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def plain(size: int) -> T.Compose:
    """What inference does: the whole photo squashed to a square (see MobileNetV2Embedder)."""
    return T.Compose([T.Resize((size, size), antialias=True),
                      T.ToDtype(torch.float32, scale=True),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


@dataclass
class PhotoSet(torch.utils.data.Dataset):
    """Decoded photos (uint8 CHW tensors) with their class ids, augmented on access (or given
    as they are, for the training loop to augment a whole batch on the GPU)."""

    images: list[torch.Tensor]
    labels: np.ndarray
    classes: list[str]
    transform: Callable[[torch.Tensor], torch.Tensor]

    @classmethod
    def decode(cls, items: list[LabelledPhoto], classes: list[str],
               transform: Callable[[torch.Tensor], torch.Tensor], size: int) -> PhotoSet:
        side = round(size * STORED_MARGIN)
        images = []
        for item in items:
            image = read_photo(item.source, draft_size=side).image
            image = image.resize((side, side), Image.Resampling.BILINEAR)
            images.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1))
        labels = np.array([classes.index(class_name(i)) for i in items], dtype=np.int64)
        return cls(images, labels, classes, transform)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        """An augmented view, its class id and its row (the gallery-score loss's memory slot)."""
        return self.transform(self.images[index]), int(self.labels[index]), index
