"""Re-ranking by cells (core/cells.py) and how the index, the calibration and a verdict use it."""

from __future__ import annotations

import numpy as np
import pytest

from ipr_vision.core.cells import (
    CellLayout,
    cell_contrast,
    cell_contrasts,
    left_out_reranked,
    reranked,
    shortlist,
)
from ipr_vision.core.health import product_health
from ipr_vision.core.index import BrandIndex
from ipr_vision.core.metrics import auroc
from ipr_vision.core.scoring import Mode, Policy, leave_one_group_out
from ipr_vision.core.suggest import assess, calibrate_brand, left_out_scores
from tests.support import given, unit

LAYOUT = CellLayout(4, (3, 2))


def test_a_layout_makes_each_layer_of_each_cell_unit_length() -> None:
    cells = LAYOUT.unit(np.random.default_rng(0).normal(size=(5, 4, 5)) * 7)
    assert LAYOUT.dim == 20 and [s.stop - s.start for s in LAYOUT.slices()] == [3, 2]
    for part in LAYOUT.slices():
        assert np.allclose(np.linalg.norm(cells[..., part], axis=-1), 1.0)


def test_the_shortlist_takes_the_nearest_of_each_label_and_never_a_left_out_one() -> None:
    sims = np.array([0.9, 0.8, 0.7, -np.inf, 0.95, 0.1, 0.85])
    is_fake = np.array([False, True, False, True, True, False, False])
    fake, genuine = shortlist(sims, is_fake, 2)
    assert fake.tolist() == [4, 1] and genuine.tolist() == [0, 6]
    fake, _ = shortlist(sims, is_fake, 5)
    assert fake.tolist() == [4, 1]  # the left-out row (-inf) is never picked


def test_a_place_like_a_fake_place_counts_towards_the_fakes() -> None:
    """Each cell of the photo finds its best cell in each label; one cell copied from a fake
    reference, the rest from a genuine one, gives a contrast of the right sign and size."""
    rng = np.random.default_rng(1)
    genuine = LAYOUT.unit(rng.normal(size=(1, 4, 5)))
    fake = LAYOUT.unit(rng.normal(size=(1, 4, 5)))
    query = genuine[0].copy()
    query[2] = fake[0, 2]
    contrasts = cell_contrasts(query, fake, genuine, LAYOUT)
    assert contrasts.shape == (2, 4)
    assert np.all(contrasts[:, 2] > 0) and np.all(contrasts[:, [0, 1, 3]] < 0)
    assert cell_contrast(query, fake, genuine, LAYOUT) == pytest.approx(
        float(contrasts.mean(axis=1).sum()))
    assert cell_contrast(fake[0], fake, genuine, LAYOUT) > 0 > cell_contrast(
        genuine[0], fake, genuine, LAYOUT)
    assert np.isnan(cell_contrast(query, fake[:0], genuine, LAYOUT))
    # Cells kept as float16 (as galleries keep them) are widened exactly: the same contrasts
    # as from their float32 values, subnormal numbers and negative zeros included.
    kept = LAYOUT.unit(rng.normal(size=(6, 4, 5))).astype(np.float16)
    kept[0, 0, :2] = (np.float16(3e-6), np.float16(-0.0))
    widened = kept.astype(np.float32)
    np.testing.assert_array_equal(cell_contrasts(query, kept[:3], kept[3:], LAYOUT),
                                  cell_contrasts(query, widened[:3], widened[3:], LAYOUT))


def _cells_brand(rng: np.random.Generator, groups: int = 12) -> tuple[
        BrandIndex, np.ndarray, np.ndarray]:
    """A product whose pooled vectors do not tell the labels apart (one cloud) while one place
    on the item does: every fake has a mark at cell 0 that no genuine photo has."""
    layout = CellLayout(4, (6,))
    mark = unit(rng.normal(size=(1, 6)))[0]
    count = 2 * groups * 2
    is_fake = np.repeat([False, True], groups * 2)
    vectors = unit(rng.normal(size=(1, 16)) + 0.3 * rng.normal(size=(count, 16)))
    cells = rng.normal(size=(1, 4, 6)) + 0.1 * rng.normal(size=(count, 4, 6))
    cells[is_fake, 0] = mark + 0.1 * rng.normal(size=(is_fake.sum(), 6))
    cells = layout.unit(cells)
    index = BrandIndex(16, layout)
    index.add(np.arange(1, count + 1), vectors, ["shoe"] * count, is_fake,
              [f"g{n // 2}" for n in range(count)], cells.reshape(count, -1))
    return index, is_fake, cells


def test_the_calibration_scores_each_reference_by_its_cells_with_its_group_left_out() -> None:
    rng = np.random.default_rng(2)
    index, _, _ = _cells_brand(rng)
    rows = index.products["shoe"]
    policy = Policy(shortlist=5)
    scores, labels = left_out_scores(rows, Mode.CONTRAST, policy)[:2]
    pooled = leave_one_group_out(rows.vectors, rows.is_fake, rows.group, policy.k)
    by_cells = left_out_reranked(rows.vectors, given(rows.cells), rows.is_fake, rows.group,
                                 np.arange(len(rows)), given(rows.layout), 5)
    assert np.allclose(scores, pooled.s_fake - pooled.s_genuine + by_cells, atol=1e-6)
    # The cells separate the labels; the pooled vectors (one cloud) do not.
    assert by_cells[labels].min() > by_cells[~labels].max()
    assert auroc(labels, pooled.s_fake - pooled.s_genuine) < 0.8
    assert auroc(labels, scores) == 1.0
    # A copy of a reference shares its photo group and never vouches for it; in another group
    # each of its cells would find itself (cosine 1) among the genuine references.
    bank = given(rows.cells)
    copied = (np.concatenate([rows.vectors, rows.vectors[:1]]),
              np.concatenate([bank, bank[:1]]), np.append(rows.is_fake, False))
    same = left_out_reranked(*copied, np.append(rows.group, rows.group[0]), np.array([0]),
                             given(rows.layout), 5)[0]
    other = left_out_reranked(*copied, np.append(rows.group, -1), np.array([0]),
                              given(rows.layout),
                              5)[0]
    assert same == pytest.approx(by_cells[0]) and other < same - 1e-3
    # Scored on several threads, in chunks of 7: the same scores, in the queries' order.
    queries = np.arange(len(rows))[::-1]
    threaded, alone = (left_out_reranked(rows.vectors, bank, rows.is_fake, rows.group, queries,
                                         given(rows.layout), 5, chunk=7, workers=workers)
                       for workers in (3, 1))
    np.testing.assert_array_equal(threaded, alone)
    assert np.allclose(threaded, by_cells[::-1], atol=1e-6)


def test_a_verdict_under_cells_adds_the_contrast_the_calibration_added() -> None:
    rng = np.random.default_rng(3)
    index, _, cells = _cells_brand(rng, groups=15)
    policy = Policy(shortlist=5, min_calibration_genuine=10, min_calibration_fake=10)
    calibration = calibrate_brand(index, policy)
    rows = index.products["shoe"]
    query = rows.vectors[0]  # a genuine reference's twin, as a new photo
    marked = cells[0].copy()
    marked[0] = cells[-1, 0]  # ... now with the fakes' mark
    plain = assess(query, index, calibration, policy, "shoe",
                   query_cells=cells[0].reshape(-1))
    flagged = assess(query, index, calibration, policy, "shoe", query_cells=marked.reshape(-1))
    sims = rows.vectors @ query
    assert flagged.score is not None and plain.score is not None
    bank, layout = given(rows.cells), given(index.layout)
    assert flagged.score - plain.score == pytest.approx(
        reranked(sims, marked, bank, rows.is_fake, layout, 5)
        - reranked(sims, cells[0], bank, rows.is_fake, layout, 5), abs=1e-5)
    assert flagged.score > plain.score
    with pytest.raises(ValueError, match="cells"):
        assess(query, index, calibration, policy, "shoe")


def test_rows_keep_their_cells_through_removals_and_count_those_added_without() -> None:
    rng = np.random.default_rng(4)
    index, _, cells = _cells_brand(rng)
    rows = index.products["shoe"]
    index.remove([1, 5])
    for ref_id, row_cells in zip(rows.ids.tolist(), given(rows.cells), strict=True):
        assert np.allclose(row_cells.astype(np.float32), cells[ref_id - 1], atol=1e-3)
    assert index.missing_cells == 0
    index.add(np.array([900]), unit(rng.normal(size=(1, 16))), ["shoe"], np.array([True]),
              ["g900"])
    assert index.missing_cells == 1
    assert not given(rows.cells)[rows.ids == 900].any()  # zeros: a place that matches nothing



def test_a_products_health_shows_the_scores_its_calibration_computed() -> None:
    """Re-ranked left-out scores cost seconds on a large product: the health panel reads the
    ones the brand's calibration computed, which are those it would compute itself."""
    rng = np.random.default_rng(5)
    index, _, _ = _cells_brand(rng, groups=15)
    policy = Policy(shortlist=5, min_calibration_genuine=10, min_calibration_fake=10)
    calibration = calibrate_brand(index, policy)
    rows = index.products["shoe"]
    mode = calibration.modes["shoe"]
    fitted = calibration.by_mode[Mode.CONTRAST]
    kept = product_health(rows, mode, fitted, policy, left_out=calibration.left_out["shoe"])
    again = product_health(rows, mode, fitted, policy)
    assert len(kept.scores) == len(rows) and np.array_equal(kept.scores, again.scores)
    assert kept.auroc == again.auroc and kept.genuine_flagged == again.genuine_flagged
