"""Helpers the tests share: generated photos, the real dataset's rows, index CSVs.

Unit tests use small generated images with the real MobileNetV2 (no stand-in model): two
visually distinct "products", each with a "genuine" and a "fake" pattern, so nearest-neighbour
behaviour is predictable. Integration tests read ``../shared/datasets`` and skip when absent.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ipr_vision.core.index import BrandIndex
from ipr_vision.core.scoring import Calibration

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


def query_photo(folder: Path, product: str, label: str, seed: int, suffix: str = ".png") -> Path:
    """A new generated photo (no gallery holds it) written to a file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"q-{product}-{label}-{seed}{suffix}"
    synthetic_photo(product, label, seed).save(path, quality=90)
    return path


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


def nike_rows(nike: Path) -> list[dict[str, str]]:
    with (nike / "index.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def one_per_group(nike: Path, product: str) -> dict[str, list[dict[str, str]]]:
    """One photo of each photo group of ``product``, by label, in the index's order: real
    references and queries that are never copies of one another."""
    picked: dict[str, list[dict[str, str]]] = {"genuine": [], "fake": []}
    seen = set()
    for row in nike_rows(nike):
        if row["product"] == product and row["dup_group"] not in seen:
            seen.add(row["dup_group"])
            picked[row["label"]].append(row)
    return picked


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


T = TypeVar("T")


def given(value: T | None) -> T:
    """A value the test expects to be there (None fails the test here, not as a TypeError)."""
    assert value is not None
    return value


def fitted(calibration: Calibration | str) -> Calibration:
    """A calibration the test expects to have been fitted (a reason instead fails it)."""
    assert isinstance(calibration, Calibration), calibration
    return calibration


def unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1, as embeddings are (so dot products are cosines)."""
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered_brand(rng: np.random.Generator, n_groups: int = 30, copies: int = 3,
                    dim: int = 32, fakes: bool = True, spread: float = 0.1) -> BrandIndex:
    """Two labels around two centres; each photo group holds near-identical copies."""
    centre_genuine, centre_fake = unit(rng.normal(size=(2, dim)))
    index = BrandIndex(dim)
    next_id = 1
    for label in ("genuine", "fake") if fakes else ("genuine",):
        centre = centre_genuine if label == "genuine" else centre_fake
        for g in range(n_groups):
            base = centre + spread * rng.normal(size=dim)
            vectors = unit(base + 0.02 * rng.normal(size=(copies, dim)))
            ids = np.arange(next_id, next_id + copies)
            next_id += copies
            index.add(ids, vectors, ["shoe"] * copies, np.full(copies, label == "fake"),
                      [f"{label}-{g}"] * copies)
    return index


def cli(*args: object, check: bool = True, model: str | None = "imagenet"
        ) -> subprocess.CompletedProcess[str]:
    """Run the CLI; ``model`` sets $IPR_VISION_MODEL (None: unset). These tests use generated
    shapes, which the ImageNet features separate and the sneaker-trained model was never meant
    to, so they pin ImageNet's whatever the default is."""
    env = {k: v for k, v in os.environ.items() if k != "IPR_VISION_MODEL"}
    if model is not None:
        env["IPR_VISION_MODEL"] = model
    result = subprocess.run([sys.executable, "-m", "ipr_vision", *map(str, args)],
                            capture_output=True, text=True, timeout=300, check=False, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]


#: A perspective a phone held at an angle gives: what alignment tests must recover.
KNOWN = np.array([[0.9, 0.08, 40.0], [-0.05, 0.95, 25.0], [0.0001, 0.00005, 1.0]])


def texture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like texture with distinctive detail at several scales (for SIFT)."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((size[1], size[0], 3), np.float32)
    for sigma, weight in ((12, 1.0), (4, 0.6), (1.5, 0.3)):
        noise = rng.normal(0, 1, (size[1], size[0], 3)).astype(np.float32)
        pixels += weight * cv2.GaussianBlur(noise, (0, 0), sigma) * sigma
    pixels = (pixels - pixels.min()) / (pixels.max() - pixels.min()) * 255
    return Image.fromarray(pixels.astype(np.uint8))


def warped(image: Image.Image) -> Image.Image:
    return Image.fromarray(cv2.warpPerspective(np.asarray(image), KNOWN, image.size))
