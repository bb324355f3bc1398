"""A model's cells: axes fitted on its training photos (training/cell_axes.py), and the cells a
gallery stores equal to the ones the cross-validation screened (training/patch_screen.py
--small-bank), on every numeric path and through the server's queue."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from ipr_vision.embedders import cell_layout, weights, with_cells
from ipr_vision.embedders.batching import BatchingEmbedder
from ipr_vision.embedders.cells import axes_path, load_axes, save_axes
from ipr_vision.embedders.compiled import RUNTIME_ENV
from ipr_vision.embedders.finetuned import EmbeddingNet, FineTunedEmbedder
from ipr_vision.intake.photo import read_photo
from tests.embedders.test_compiled import all_at_once
from tests.support import nike_rows
from tests.train.conftest import SIDE
from training.cell_axes import main as fit_axes
from training.embedding_cache import CachedEmbedder
from training.patch_screen import coarser_cells, feature_maps, project_cells, unit_cells


def test_a_models_cells_are_the_cells_its_screen_scored(
        cells_model: tuple[Path, Path], nike_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint, _ = cells_model
    axes, _ = load_axes(axes_path(checkpoint))
    assert axes.shape == (1280, 8)
    rows = nike_rows(nike_dir)[5::301][:6]
    images = [read_photo(nike_dir / row["path"], draft_size=SIDE).image for row in rows]
    fast = FineTunedEmbedder(checkpoint)
    monkeypatch.setenv(RUNTIME_ENV, "torch")
    reference = FineTunedEmbedder(checkpoint)
    layout = cell_layout(fast)
    assert layout is not None and (layout.cells, layout.widths) == (16, (8, 96))
    assert fast.cells_id == reference.cells_id and fast.cells_id.startswith(fast.model_id)
    maps = feature_maps(EmbeddingNet.load(checkpoint), images, SIDE)
    screened = np.concatenate([project_cells(maps["last"], axes.numpy()),
                               unit_cells(coarser_cells(maps["stem"]))], axis=2)
    for embedder in (fast, reference):
        vectors, cells = embedder.embed_with_cells(images)
        assert cells.shape == (6, layout.dim)
        # Maps kept as float16 by the screen: cosines of unit cells agree to about 1e-3.
        np.testing.assert_allclose(cells.reshape(screened.shape).astype(np.float32), screened,
                                   atol=4e-3)
        np.testing.assert_allclose(vectors, embedder.embed(images), atol=2e-6)
    # Both rounded to float16 (as galleries keep cells): within a step of it.
    assert fast.embed_with_cells(images)[1].dtype == np.float16
    np.testing.assert_allclose(fast.embed_with_cells(images)[1].astype(np.float32),
                               reference.embed_with_cells(images)[1].astype(np.float32),
                               atol=1e-3)


def test_the_servers_queue_gives_each_caller_its_own_vector_and_cells(
        cells_model: tuple[Path, Path], nike_dir: Path) -> None:
    embedder = FineTunedEmbedder(cells_model[0])
    queued = BatchingEmbedder(embedder, max_batch=4)
    assert cell_layout(queued) == cell_layout(embedder) and queued.cells_id == embedder.cells_id
    rows = nike_rows(nike_dir)[7::401][:8]
    images = [read_photo(nike_dir / row["path"], draft_size=SIDE).image for row in rows]
    vectors, cells = embedder.embed_with_cells(images)
    results = all_at_once(8, lambda i: np.concatenate(queued.embed_with_cells([images[i]]),
                                                      axis=1))
    for i in range(8):
        np.testing.assert_allclose(results[i][0, :embedder.dim], vectors[i], atol=1e-5)
        np.testing.assert_allclose(results[i][0, embedder.dim:], cells[i], atol=1e-3)


def test_axes_that_do_not_fit_the_network_leave_the_model_without_cells(
        cells_model: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(cells_model[0].read_bytes())
    save_axes(axes_path(checkpoint), torch.zeros(640, 8), {})
    with caplog.at_level(logging.WARNING):
        embedder = FineTunedEmbedder(checkpoint)
    assert cell_layout(embedder) is None and "cannot give this model cells" in caplog.text
    with pytest.raises(ValueError, match="no cells"):
        embedder.embed_with_cells([])


def test_axes_are_fitted_only_on_the_models_own_training_photos(
        cells_model: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, index = cells_model
    fewer = tmp_path / "index.csv"
    lines = index.read_text().splitlines()
    fewer.write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(SystemExit, match="holds 13 of the model's 16 training photos"):
        fit_axes(["--model", str(checkpoint), "--index", str(fewer)])


def test_the_shipped_models_axes_are_verified(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """The shipped model re-ranks by its published axes only: altered ones are warned about
    and the model searches by vectors, as its card's figures were not measured with them."""
    shipped = weights.require(weights.FINETUNED)
    assert weights.require(weights.FINETUNED_CELLS) == axes_path(shipped)
    assert cell_layout(FineTunedEmbedder(shipped)) is not None
    copy = tmp_path / shipped.name
    copy.write_bytes(shipped.read_bytes())
    axes, _ = load_axes(axes_path(shipped))
    save_axes(axes_path(copy), axes * 2, {})
    with caplog.at_level(logging.WARNING):
        assert cell_layout(FineTunedEmbedder(copy)) is None
    assert "the shipped model's axes" in caplog.text


def test_the_cross_validations_cache_keeps_cells_so_folds_are_scored_re_ranked(
        cells_model: tuple[Path, Path], nike_dir: Path, tmp_path: Path) -> None:
    """A fold checkpoint with axes beside it: the cache hands galleries its cells too (so
    ``evaluate --folds`` scores the fold as a gallery re-ranks), computes each photo once, and
    keeps the cells on disk beside the vectors."""
    embedder = FineTunedEmbedder(cells_model[0])
    images = [read_photo(nike_dir / row["path"], draft_size=SIDE).image
              for row in nike_rows(nike_dir)[3::501][:5]]
    cached = CachedEmbedder(embedder, tmp_path / "cache.npz")
    assert with_cells(cached) is not None and cached.cells_id == embedder.cells_id
    vectors, cells = cached.embed_with_cells(images)
    expected = embedder.embed_with_cells(images)
    np.testing.assert_allclose(vectors, expected[0], atol=1e-6)
    np.testing.assert_array_equal(cells, expected[1])
    assert cached.computed == 5
    np.testing.assert_array_equal(cached.embed(images), vectors)  # no second pass
    cached.save()
    again = CachedEmbedder(embedder, tmp_path / "cache.npz")
    np.testing.assert_array_equal(again.embed_with_cells(images)[1], cells)
    assert again.computed == 0
    plain = FineTunedEmbedder(cells_model[0], cells=False)
    assert with_cells(CachedEmbedder(plain, tmp_path / "cache.npz")) is None
