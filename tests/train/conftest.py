"""A small fine-tuned model with cells, for the tests of what is made from a checkpoint."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ipr_vision.embedders import weights
from ipr_vision.embedders.finetuned import EmbeddingNet
from tests.support import nike_rows
from training.cell_axes import main as fit_axes

SIDE = 128


@pytest.fixture(scope="module")
def cells_model(nike_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A checkpoint (ImageNet features, 128 px) that lists 16 real photos as its training
    photos, an index holding them, and its axes fitted by ``training.cell_axes``."""
    folder = tmp_path_factory.mktemp("cells")
    rows = nike_rows(nike_dir)[::190][:16]
    index = folder / "index.csv"
    with index.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "product", "dup_group",
                                                    "sha256"])
        writer.writeheader()
        for row in rows:
            writer.writerow({key: row[key] for key in writer.fieldnames} |
                            {"path": str((nike_dir / row["path"]).resolve())})
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=32,
                                     searched="pooled")
    checkpoint = folder / "model.safetensors"
    net.eval().save(checkpoint, {"size": SIDE}, trained_on=[row["sha256"] for row in rows])
    assert fit_axes(["--model", str(checkpoint), "--index", str(index), "--dims", "8"]) == 0
    return checkpoint, index


