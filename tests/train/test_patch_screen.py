"""The patch-level screen's math: each cell of a photo is compared with the cells of each label,
and a photo is more fake-like where its cells resemble the fakes' more than the genuines'."""

from __future__ import annotations

import numpy as np

from training.patch_screen import by_product, cell_contrast, variant_scores


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
