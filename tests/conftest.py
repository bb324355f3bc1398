"""Shared fixtures: generated photos for unit tests, the real model, the real dataset.

Unit tests use small generated images with the real MobileNetV2 (no stand-in model): two
visually distinct "products", each with a "genuine" and a "fake" pattern, so nearest-neighbour
behaviour is predictable. Integration tests read ``../shared/datasets`` and skip when absent.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ipr_vision import weights
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder

REPO = Path(__file__).resolve().parent.parent
DATASET = Path(os.environ.get("IPR_VISION_DATASETS", REPO.parent / "shared" / "datasets"))
NIKE = DATASET / "nike_af1_j1"


def synthetic_photo(product: str, label: str, seed: int, size: int = 320) -> Image.Image:
    """A generated 'photo': product sets the shape, label sets the pattern, seed the variation."""
    rng = np.random.default_rng(seed)
    background = tuple(int(v) for v in rng.integers(200, 255, 3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    margin = int(size * rng.uniform(0.08, 0.18))
    box = (margin, margin + int(rng.integers(0, 10)), size - margin, size - margin)
    colour = (180, 30, 30) if product == "boot" else (30, 60, 170)
    if product == "boot":
        draw.rectangle(box, fill=colour)
    else:
        draw.ellipse(box, fill=colour)
    step = 6 if label == "genuine" else 14
    for offset in range(box[0], box[2], step):
        if label == "genuine":
            draw.line((offset, box[1], offset, box[3]), fill=(250, 250, 250), width=2)
        else:
            draw.line((box[0], offset, box[2], offset), fill=(20, 20, 20), width=5)
    noise = rng.normal(0, 6, (size, size, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def write_photo_folder(root: Path, per_cell: int = 8, seed: int = 0) -> Path:
    """``root/<product>/<label>/*.jpg`` with ``per_cell`` generated photos per cell."""
    for p_index, product in enumerate(("boot", "bag")):
        for l_index, label in enumerate(("genuine", "fake")):
            folder = root / product / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_cell):
                photo_seed = seed * 10_000 + p_index * 1000 + l_index * 100 + i
                synthetic_photo(product, label, photo_seed).save(folder / f"{i:03d}.jpg",
                                                                 quality=92)
    return root


@pytest.fixture(scope="session")
def embedder() -> MobileNetV2Embedder:
    """The real ImageNet MobileNetV2; `make test` fetches its weights first."""
    weights.require(weights.IMAGENET_MOBILENET_V2)  # a clear error naming the fetch command
    return MobileNetV2Embedder()


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photo_folder(tmp_path_factory.mktemp("photos"), per_cell=12)


@pytest.fixture(scope="session")
def nike_dir() -> Path:
    if not (NIKE / "index.csv").is_file():
        pytest.skip(f"real dataset not present at {NIKE}")
    return NIKE


def nike_rows(nike: Path) -> list[dict[str, str]]:
    with (nike / "index.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_index(path: Path, rows: list[dict[str, str]], source: Path) -> Path:
    """Write an index CSV whose paths point at ``source`` files, relative to ``path``."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "product", "dup_group"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"path": os.path.relpath(source / row["path"], path.parent),
                             "label": row["label"], "product": row["product"],
                             "dup_group": row["dup_group"]})
    return path
