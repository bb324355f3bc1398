"""Fixtures shared by every test folder: the real ImageNet model, generated photos, the real
dataset (skipped when absent). Helpers that are not fixtures live in :mod:`tests.support`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipr_vision.embedders import weights
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder

from .support import NIKE, write_photo_folder


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
