"""The patch-level screen's math: each cell of a photo is compared with the cells of each label,
and a photo is more fake-like where its cells resemble the fakes' more than the genuines'."""

from __future__ import annotations

import numpy as np
import pytest

from ipr_vision.core.scoring import Policy
from training.crossval import FIGURES
from training.patch_screen import (
    by_product,
    cell_contrast,
    coarser_cells,
    left_out_pooled,
    operating_figures,
    pooled_score,
    principal_axes,
    project_cells,
    shortlist_contrast,
    unit_cells,
    variant_scores,
)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def test_a_cell_counts_towards_the_label_whose_cells_it_matches() -> None:
    rng = np.random.default_rng(0)
    maps = (rng.normal(size=(5, 4, 16)) * 3).astype(np.float16)  # 5 photos of 4 cells
    is_fake = np.array([False, False, True, True, False])
    # The query (photo 4): cell 0 is a fake's cell 2, cell 1 a genuine's cell 3.
    maps[4, 0], maps[4, 1] = maps[2, 2], maps[0, 3]
    contrast = cell_contrast(maps, is_fake, np.array([4]), np.array([0, 1, 2, 3]), chunk=1)
    assert contrast.shape == (1, 4)
    assert contrast[0, 0] > 0.2 and contrast[0, 1] < -0.2
    # Best fake cell less best genuine cell, by cosine, computed directly.
    unit = _unit(maps.astype(np.float32))
    sims = unit[4] @ unit[:4].reshape(-1, 16).T
    best = sims.reshape(4, 4, 4).max(axis=2)  # (query cell, reference photo)
    expected = best[:, is_fake[:4]].max(axis=1) - best[:, ~is_fake[:4]].max(axis=1)
    np.testing.assert_allclose(contrast[0], expected, atol=1e-6)


def test_variants_average_all_cells_or_the_most_fake_like_and_add_scores_as_they_are(
        ) -> None:
    last = np.array([np.linspace(-1, 1, 81), np.zeros(81)], dtype=np.float32)
    stem = np.array([np.full(324, 0.2), np.full(324, -0.3)], dtype=np.float32)
    scores = variant_scores({"last": last, "stem": stem}, pooled=np.array([0.1, -0.1]))
    np.testing.assert_allclose(scores["last-mean"], [0.0, 0.0], atol=1e-6)
    assert scores["last-top10"][0] > 0.85 and scores["last-top10"][1] == 0
    np.testing.assert_allclose(scores["global+stem"], [0.3, -0.4], atol=1e-6)
    np.testing.assert_allclose(scores["global+last+stem"], [0.3, -0.4], atol=1e-6)
    assert set(scores) == {"global", "last-mean", "stem-mean", "global+stem",
                           "global+last+stem", "last-top10", "last-top40"}


def test_each_product_is_scored_against_its_own_references_only() -> None:
    products = np.array(["boot", "shoe", "boot", "shoe", "boot"])
    seen: list[tuple[list[int], list[int]]] = []

    def score(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
        seen.append((queries.tolist(), references.tolist()))
        return queries.astype(np.float32) * 10

    out = by_product(score, products, np.array([4, 3, 0]), np.array([1, 2]))
    assert sorted(seen) == [([3], [1]), ([4, 0], [2])]
    np.testing.assert_array_equal(out, [40, 30, 0])  # in the queries' order


def _photos(rng: np.random.Generator, n: int, cells: int = 4, channels: int = 16
            ) -> np.ndarray:
    return rng.normal(size=(n, cells, channels)).astype(np.float32)


def test_a_shortlist_as_long_as_the_gallery_matches_every_reference() -> None:
    rng = np.random.default_rng(1)
    maps = _photos(rng, 7)
    vectors = _unit(rng.normal(size=(7, 8)))
    is_fake = np.array([False, True, False, True, False, True, False])
    queries, references = np.array([0, 6]), np.arange(1, 6)
    everything = cell_contrast(maps, is_fake, queries, references)
    shortlisted = shortlist_contrast(unit_cells(maps), vectors, is_fake, queries, references,
                                     size=10)
    np.testing.assert_allclose(shortlisted, everything, atol=1e-6)


def test_the_shortlist_is_the_references_nearest_by_the_pooled_vector() -> None:
    rng = np.random.default_rng(2)
    maps = _photos(rng, 5)
    is_fake = np.array([False, False, False, True, True])
    # The query (0) holds genuine photo 2's cells, but photo 1 is its nearest genuine by the
    # pooled vector: a shortlist of one sees photo 1's cells only.
    maps[0] = maps[2]
    vectors = _unit(np.array([[1, 0, 0], [1, 0.1, 0], [0, 1, 0], [0.9, 0, 0.5], [0, 0, 1.0]]))
    references = np.arange(1, 5)
    one = shortlist_contrast(unit_cells(maps), vectors, is_fake, np.array([0]), references,
                             size=1)
    expected = cell_contrast(maps, is_fake, np.array([0]), np.array([1, 3]))
    np.testing.assert_allclose(one, expected, atol=1e-6)
    both = shortlist_contrast(unit_cells(maps), vectors, is_fake, np.array([0]), references,
                              size=2)
    assert both.mean() < one.mean()  # with photo 2 in it, every cell finds its genuine twin


def test_a_calibration_side_never_matches_a_photo_against_its_own_group() -> None:
    rng = np.random.default_rng(3)
    maps = _photos(rng, 6)
    vectors = _unit(rng.normal(size=(6, 8)))
    is_fake = np.array([False, False, False, True, True, True])
    groups = np.array(["a", "a", "b", "c", "d", "e"])
    maps[1] = maps[0]  # a copy of photo 0, in its group
    references = np.arange(6)
    own = shortlist_contrast(unit_cells(maps), vectors, is_fake, np.array([0]), references,
                             size=5, groups=groups)
    others = cell_contrast(maps, is_fake, np.array([0]), np.arange(2, 6))
    np.testing.assert_allclose(own, others, atol=1e-6)
    scores = left_out_pooled(vectors, is_fake, groups, 1, np.array([0, 2]), references)
    np.testing.assert_allclose(
        scores[:, 0], [pooled_score(vectors, is_fake, np.array([0]), np.arange(2, 6), 1)[0],
                       pooled_score(vectors, is_fake, np.array([2]),
                                    np.array([0, 1, 3, 4, 5]), 1)[0]], atol=1e-6)
    assert scores[0, 1] == pytest.approx(float((vectors[0] @ vectors[2:].T).max()), abs=1e-6)


def test_principal_axes_keep_the_cells_of_a_flat_bank_as_they_compare() -> None:
    rng = np.random.default_rng(4)
    plane = rng.normal(size=(2, 32))
    maps = (rng.normal(size=(10, 9, 2)) @ plane).astype(np.float16)  # a 2-d bank
    axes = principal_axes(maps[:6], 2)
    assert axes.shape == (32, 2)
    projected = project_cells(maps, axes, batch=4)
    assert projected.shape == (10, 9, 2)
    np.testing.assert_allclose(np.linalg.norm(projected, axis=-1), 1, atol=1e-5)
    cells = unit_cells(maps)
    np.testing.assert_allclose(projected[7] @ projected[8].T, cells[7] @ cells[8].T, atol=2e-3)
    one = project_cells(maps, principal_axes(maps[:6], 1))
    assert not np.allclose(one[7] @ one[8].T, cells[7] @ cells[8].T, atol=0.05)


def test_operating_figures_judge_the_test_photos_with_the_calibration_sides_point() -> None:
    rng = np.random.default_rng(5)
    is_fake = np.array([False] * 300 + [True] * 300 + [False] * 100 + [True] * 100)
    groups = np.arange(len(is_fake)).astype(str)
    calibration_rows, test_rows = np.arange(600), np.arange(600, 800)
    calibration = np.where(is_fake[calibration_rows], 1.0, -1.0) + rng.normal(0, 0.1, 600)
    # Half the test's genuine photos score like fakes: the calibration cannot know, and they
    # are flagged.
    test = np.concatenate([np.r_[np.full(50, -1.0), np.full(50, 1.0)], np.full(100, 1.0)])
    figures = operating_figures(calibration, calibration_rows, np.ones(600), test, test_rows,
                                is_fake, groups, Policy())
    assert figures["genuine_flagged"] == pytest.approx(0.5)
    assert figures["fake_recall"] == 1.0
    assert figures["inconclusive"] == 0.0
    assert set(figures) == set(FIGURES)


def test_coarser_cells_average_each_square_of_neighbouring_cells() -> None:
    grid = np.arange(16, dtype=np.float32).reshape(1, 16, 1)  # a 4 x 4 map, row by row
    np.testing.assert_allclose(coarser_cells(grid)[0, :, 0], [2.5, 4.5, 10.5, 12.5])
