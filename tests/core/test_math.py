"""The pure core: index bookkeeping, left-out calibration, operating point, metrics, splits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ipr_vision.core.index import BrandIndex
from ipr_vision.core.metrics import (
    auroc,
    expected_calibration_error,
    recall_at_flag_rate,
    reliability_bins,
)
from ipr_vision.core.scoring import (
    Mode,
    Policy,
    TrainedOnMargin,
    calibrate,
    fit_isotonic,
    fit_platt,
    label_similarity,
    leave_one_group_out,
    trained_on_margin,
)
from ipr_vision.core.splits import split_groups
from ipr_vision.core.suggest import assess, calibrate_brand
from ipr_vision.domain import Verdict
from tests.support import clustered_brand, fitted, unit


def test_index_add_remove_keeps_rows_consistent() -> None:
    rng = np.random.default_rng(0)
    index = BrandIndex(8)
    vectors = unit(rng.normal(size=(200, 8)))
    index.add(np.arange(200), vectors, [f"p{i % 3}" for i in range(200)],
              np.arange(200) % 2 == 0, [f"g{i}" for i in range(200)])
    index.remove([0, 57, 199, 1000])  # unknown ids are ignored
    assert len(index) == 197
    seen = set()
    for name, rows in index.products.items():
        for row, ref_id in enumerate(rows.ids.tolist()):
            np.testing.assert_array_equal(rows.vectors[row], vectors[ref_id])
            assert rows.is_fake[row] == (ref_id % 2 == 0)
            assert name == f"p{ref_id % 3}"
            seen.add(ref_id)
    assert seen == set(range(200)) - {0, 57, 199}
    sims = index.products["p2"].similarities(vectors[5])
    assert index.products["p2"].ids[int(np.argmax(sims))] == 5
    with pytest.raises(ValueError, match="already indexed"):
        index.add(np.array([5]), vectors[:1], ["p0"], np.array([False]), ["g"])



def _rows_match(index: BrandIndex, vectors: np.ndarray) -> set[int]:
    """The ids an index holds, having checked each row against the vector it was given."""
    seen = set()
    for rows in index.products.values():
        for row, ref_id in enumerate(rows.ids.tolist()):
            np.testing.assert_array_equal(rows.vectors[row], vectors[ref_id])
            assert rows.is_fake[row] == (ref_id % 2 == 0)
            seen.add(ref_id)
    return seen


def test_a_frozen_index_reads_as_it_was_whatever_is_written_after() -> None:
    """Adds that fill spare rows or grow the arrays, and removals that move the last row into
    the hole, never reach a frozen copy: an inspection reads one state of the gallery."""
    rng = np.random.default_rng(1)
    vectors = unit(rng.normal(size=(400, 8)))
    index = BrandIndex(8)

    def add(ids: range) -> None:
        index.add(np.array(ids), vectors[ids.start:ids.stop], ["p"] * len(ids),
                  np.array(ids) % 2 == 0, [f"g{i}" for i in ids])

    add(range(0, 100))
    frozen = index.frozen()
    add(range(100, 110))  # into spare rows of the same arrays
    index.remove([3, 50, 0])  # each moves the last row into the hole
    add(range(110, 400))  # the arrays grow
    frozen_after_growth = index.frozen()
    index.remove(list(range(200, 260)))
    assert _rows_match(frozen, vectors) == set(range(100)) and len(frozen) == 100
    assert _rows_match(frozen_after_growth, vectors) == set(range(400)) - {0, 3, 50}
    assert _rows_match(index, vectors) == set(range(400)) - {0, 3, 50} - set(range(200, 260))
    for write in (lambda: frozen.add(np.array([900]), vectors[:1], ["p"], np.array([True]),
                                     ["g"]),
                  lambda: frozen.remove([5]), lambda: frozen.add_product("new"),
                  lambda: frozen.products["p"].remove(5)):
        with pytest.raises(TypeError, match="read-only"):
            write()
    assert len(frozen) == 100 and "new" not in frozen.products

def test_product_maxima_exact_when_small_and_sampled_when_large(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)
    index = BrandIndex(16)
    vectors = unit(rng.normal(size=(3000, 16)))
    names = [f"p{i % 5}" for i in range(3000)]
    index.add(np.arange(3000), vectors, names, np.zeros(3000, dtype=bool),
              [str(i) for i in range(3000)])
    query = vectors[1234]
    maxima, sampled = index.product_maxima(query)
    assert not sampled and maxima[0] == ("p4", pytest.approx(1.0))
    exact = {n: float((vectors[[i for i in range(3000) if names[i] == n]] @ query).max())
             for n in set(names)}
    assert dict(maxima) == pytest.approx(exact)
    monkeypatch.setattr("ipr_vision.core.index.PROPOSAL_ROWS", 600)
    maxima, sampled = index.product_maxima(query)
    assert sampled and {n for n, _ in maxima} == set(exact)
    assert all(value <= exact[n] + 1e-6 for n, value in maxima)


def test_label_similarity_top_k_and_exclusion() -> None:
    sims = np.array([[0.9, 0.8, 0.7, 0.2, 0.1]], dtype=np.float32)
    is_fake = np.array([False, False, False, True, True])
    g, f = label_similarity(sims, is_fake, k=2)
    assert g[0] == pytest.approx(0.85) and f[0] == pytest.approx(0.15)
    exclude = np.array([[True, False, False, False, False]])
    g, _ = label_similarity(sims, is_fake, k=1, exclude=exclude)
    assert g[0] == pytest.approx(0.8)
    g, f = label_similarity(sims, np.zeros(5, dtype=bool), k=1)
    assert np.isnan(f[0]) and g[0] == pytest.approx(0.9)


def test_left_out_scores_never_see_their_own_photo_group() -> None:
    rng = np.random.default_rng(1)
    rows = clustered_brand(rng, n_groups=10, copies=3).products["shoe"]
    left_out = leave_one_group_out(rows.vectors, rows.is_fake, rows.group, k=1)
    sims = rows.vectors @ rows.vectors.T
    for row in range(len(rows)):
        others = rows.group != rows.group[row]
        genuine = others & ~rows.is_fake
        assert left_out.s_genuine[row] == pytest.approx(sims[row, genuine].max(), abs=1e-6)
        # Copies of the same photo are nearly identical: had they been used, s would be ~1.
        assert left_out.nearest[row] < 0.99


def test_operating_point_flags_at_most_the_allowed_share_of_genuine() -> None:
    rng = np.random.default_rng(2)
    genuine, fake = rng.normal(0, 1, 500), rng.normal(2, 1, 500)
    scores = np.concatenate([genuine, fake])
    is_fake = np.arange(1000) >= 500
    for share in (0.01, 0.05, 0.2):
        calibration = calibrate(scores, is_fake, np.ones(1000), Mode.CONTRAST,
                                Policy(max_genuine_flagged=share))
        assert not isinstance(calibration, str)
        assert calibration.genuine_flagged <= share
        assert calibration.genuine_flagged > share - 0.01  # and not needlessly strict
        assert calibration.clear_below <= calibration.threshold
        recall = calibration.expected_fake_recall
        assert recall == pytest.approx(recall_at_flag_rate(is_fake, scores, share))


def test_platt_is_monotone_and_balanced() -> None:
    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.normal(-1, 1, 900), rng.normal(1, 1, 100)])
    labels = np.concatenate([np.zeros(900), np.ones(100)])
    a, b = fit_platt(scores, labels)
    assert a > 0
    # Balanced weights: the 50 % point sits between the two class means, not pushed to the
    # majority class's side by the 9:1 imbalance.
    assert -0.5 < -b / a < 0.5


def test_too_few_references_is_inconclusive_with_a_reason() -> None:
    reason = calibrate(np.zeros(5), np.zeros(5, dtype=bool), np.ones(5), Mode.GENUINE_ONLY,
                       Policy())
    assert isinstance(reason, str) and "too few genuine" in reason


def test_assess_separates_clusters_and_reports_neighbours() -> None:
    rng = np.random.default_rng(4)
    index = clustered_brand(rng, n_groups=30)
    policy = Policy()
    brand = calibrate_brand(index, policy)
    shoe = index.products["shoe"]
    centre_fake = unit(shoe.vectors[shoe.is_fake].mean(0, keepdims=True))[0]
    result = assess(centre_fake, index, brand, policy, product="shoe")
    assert result.verdict == Verdict.COUNTERFEIT
    assert result.p_counterfeit is not None and result.p_counterfeit > 0.9
    assert result.nearest_fake[0][1] >= result.nearest_genuine[0][1]
    assert len(result.nearest_fake) == 3
    centre_genuine = unit(shoe.vectors[~shoe.is_fake].mean(0, keepdims=True))[0]
    result = assess(centre_genuine, index, brand, policy)
    assert result.verdict == Verdict.GENUINE
    assert result.p_counterfeit is not None and result.p_counterfeit < 0.1
    assert result.product == "shoe" and result.product_candidates[0][0] == "shoe"


def test_assess_genuine_only_uses_distance_to_genuine() -> None:
    rng = np.random.default_rng(5)
    index = clustered_brand(rng, n_groups=40, fakes=False)
    policy = Policy()
    brand = calibrate_brand(index, policy)
    assert list(brand.by_mode) == [Mode.GENUINE_ONLY]
    typical = unit(index.products["shoe"].vectors.mean(0, keepdims=True))[0]
    result = assess(typical, index, brand, policy)
    assert result.mode == Mode.GENUINE_ONLY and result.verdict == Verdict.GENUINE
    assert result.nearest_fake == []
    # Walk away from the genuine references: genuine, then counterfeit, then "unlike this
    # product" (no score at all), with p_counterfeit never decreasing on the way.
    away = rng.normal(size=index.dim)
    away = (away - (away @ typical) * typical) / np.linalg.norm(away - (away @ typical) * typical)
    walk = [assess(np.cos(a) * typical + np.sin(a) * away, index, brand, policy)
            for a in np.radians(np.arange(0, 91, 1))]
    verdicts = [r.verdict for r in walk]
    assert verdicts[0] == Verdict.GENUINE and Verdict.COUNTERFEIT in verdicts
    assert verdicts[-1] == Verdict.INCONCLUSIVE and "does not resemble" in walk[-1].reason
    assert walk[-1].p_counterfeit is None
    assert verdicts.index(Verdict.COUNTERFEIT) > verdicts.index(Verdict.GENUINE)
    assert Verdict.GENUINE not in verdicts[verdicts.index(Verdict.COUNTERFEIT):]
    p = [r.p_counterfeit for r in walk if r.p_counterfeit is not None]
    assert all(b >= a - 0.03 for a, b in itertools.pairwise(p))
    assert max(p) == 1.0  # past every genuine reference


def test_assess_refuses_to_guess_with_few_references() -> None:
    rng = np.random.default_rng(6)
    index = clustered_brand(rng, n_groups=2)
    brand = calibrate_brand(index, Policy())
    result = assess(index.products["shoe"].vectors[0], index, brand, Policy())
    assert result.verdict == Verdict.INCONCLUSIVE and result.p_counterfeit is None
    assert "at least 3" in result.reason
    assert result.nearest_genuine  # the references are still shown


def test_assess_on_an_empty_brand() -> None:
    index = BrandIndex(4)
    result = assess(np.ones(4, dtype=np.float32) / 2, index, calibrate_brand(index, Policy()),
                    Policy())
    assert result.verdict == Verdict.INCONCLUSIVE and "no references" in result.reason


def test_auroc_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(7)
    labels = rng.random(200) < 0.4
    scores = np.round(rng.normal(labels * 0.8, 1.0), 1)  # rounded: plenty of ties
    pairs = [(s_p > s_n) + 0.5 * (s_p == s_n) for s_p in scores[labels] for s_n in scores[~labels]]
    assert auroc(labels, scores) == pytest.approx(np.mean(pairs))
    assert np.isnan(auroc(np.ones(3, dtype=bool), np.arange(3)))


def test_split_keeps_groups_whole_and_stratifies() -> None:
    groups = [f"g{i // 3}" for i in range(600)]
    strata = ["a" if i < 300 else "b" for i in range(600)]
    on_query = split_groups(groups, strata, 0.2, seed=1)
    for group in set(groups):
        sides = {bool(on_query[i]) for i, g in enumerate(groups) if g == group}
        assert len(sides) == 1
    for stratum in "ab":
        share = np.mean([on_query[i] for i in range(600) if strata[i] == stratum])
        assert share == pytest.approx(0.2, abs=0.02)
    assert not np.array_equal(on_query, split_groups(groups, strata, 0.2, seed=2))


def test_large_products_are_calibrated_on_a_fixed_sample() -> None:
    rng = np.random.default_rng(9)
    index = clustered_brand(rng, n_groups=100, copies=3)  # 600 references
    full = fitted(calibrate_brand(index, Policy()).by_mode[Mode.CONTRAST])
    capped_policy = Policy(max_calibration_queries=240)
    capped = fitted(calibrate_brand(index, capped_policy).by_mode[Mode.CONTRAST])
    assert len(full.genuine_scores) + len(full.fake_scores) == 600
    assert len(capped.genuine_scores) + len(capped.fake_scores) == 240
    # Same gallery, same sample: the operating point does not wander between recalibrations.
    again = fitted(calibrate_brand(index, capped_policy).by_mode[Mode.CONTRAST])
    assert again.threshold == capped.threshold
    assert abs(capped.threshold - full.threshold) < 0.1


def test_isotonic_is_monotone_balanced_and_used_for_large_galleries() -> None:
    rng = np.random.default_rng(10)
    genuine, fake = rng.normal(-1, 1, 900), rng.normal(1, 1, 300)
    scores = np.concatenate([genuine, fake])
    is_fake = np.arange(1200) >= 900
    knots, values = fit_isotonic(scores, is_fake.astype(float))
    assert np.all(np.diff(knots) > 0) and np.all(np.diff(values) >= 0)
    large = fitted(calibrate(scores, is_fake, np.ones(1200), Mode.CONTRAST, Policy()))
    assert large.method == "isotonic" and large.calibrated
    # Balanced: at the score where both classes are equally dense (0 here), p is near 0.5
    # despite three genuine references for every fake.
    assert 0.35 < large.p_counterfeit(0.0) < 0.65
    assert large.p_counterfeit(-10.0) == 0.01 and large.p_counterfeit(10.0) == 0.99
    p = [large.p_counterfeit(s) for s in np.linspace(-4, 4, 81)]
    assert all(b >= a for a, b in itertools.pairwise(p))
    small = fitted(calibrate(scores[::10], is_fake[::10], np.ones(120), Mode.CONTRAST,
                             Policy()))
    assert small.method == "platt"  # too few scores for isotonic without overfitting


def test_calibration_error_and_reliability_bins() -> None:
    rng = np.random.default_rng(11)
    p = rng.random(20_000)
    honest = rng.random(20_000) < p
    assert expected_calibration_error(honest, p) < 0.02
    overconfident = np.where(p > 0.5, 0.99, 0.01)
    assert expected_calibration_error(honest, overconfident) > 0.2
    points = reliability_bins(honest, p)
    assert len(points) == 10 and sum(pt["count"] for pt in points) == 20_000
    assert all(abs(pt["observed"] - pt["mean_predicted"]) < 0.05 for pt in points)
    assert np.isnan(expected_calibration_error(np.array([]), np.array([])))


def test_tie_broken_ranks_let_a_flag_rate_work_on_clipped_probabilities() -> None:
    from ipr_vision.core.metrics import recall_at_flag_rate, tie_broken_ranks

    # 100 genuine and 10 fakes all clipped to p = 0.99; the raw score still orders them.
    p = np.full(110, 0.99)
    raw = np.concatenate([np.linspace(0, 1, 100), np.linspace(2, 3, 10)])
    is_fake = np.arange(110) >= 100
    assert recall_at_flag_rate(is_fake, p, 0.01) == 0.0  # ties: nothing can be flagged
    ranks = tie_broken_ranks(np.append(p, np.nan), np.append(raw, 5.0))
    assert np.isnan(ranks[-1])
    assert recall_at_flag_rate(is_fake, ranks[:-1], 0.01) == 1.0


def test_references_the_model_trained_on_are_not_calibrated_on() -> None:
    rng = np.random.default_rng(11)
    index = clustered_brand(rng, n_groups=60)  # ids 1-180 genuine, 181-360 fake
    policy = Policy()
    trained = frozenset(range(1, 91)) | frozenset(range(181, 271))
    brand = calibrate_brand(index, policy, trained | {99_999})  # other brands' photos too
    used = fitted(brand.by_mode[Mode.CONTRAST])
    assert brand.skipped == trained and brand.trained_included == 0 and brand.warning == ""
    assert len(used.genuine_scores) == len(used.fake_scores) == 90
    # The skipped rows still answer searches: every reference is scored against all others.
    plain = calibrate_brand(index, policy)
    assert len(fitted(plain.by_mode[Mode.CONTRAST]).genuine_scores) == 180
    # When the model saw nearly everything, calibrating on it all is the only way left; the
    # brand is told its operating point is optimistic.
    most = frozenset(range(1, 351))
    fallback = calibrate_brand(index, policy, most)
    assert fallback.skipped == frozenset() and fallback.trained_included == 350
    assert "350 reference(s) the model was trained on" in fallback.warning
    assert (fitted(fallback.by_mode[Mode.CONTRAST]).threshold
            == fitted(plain.by_mode[Mode.CONTRAST]).threshold)


def test_training_photos_calibrated_on_are_moved_by_the_models_margin() -> None:
    """A gallery of the model's own training photos keeps its promise only once their scores
    are moved to where new photos' would lie: genuine ones up, fakes down, the rest unmoved."""
    rng = np.random.default_rng(11)
    index = clustered_brand(rng, n_groups=60)  # ids 1-180 genuine, 181-360 fake
    policy, margin = Policy(), TrainedOnMargin(genuine=0.1, fake=-0.05)
    most = frozenset(range(1, 351))  # ten fakes (351-360) the model has not seen
    unmoved = calibrate_brand(index, policy, most)
    moved = calibrate_brand(index, policy, most, margin=margin)
    assert moved.margin == margin and "moved by the margin" in moved.warning
    before, after = fitted(unmoved.by_mode[Mode.CONTRAST]), fitted(moved.by_mode[Mode.CONTRAST])
    assert np.allclose(after.genuine_scores, before.genuine_scores + 0.1, atol=1e-6)
    # The 170 fakes it trained on, not the 10 it has not seen.
    assert np.isclose(after.fake_scores.sum() - before.fake_scores.sum(), -0.05 * 170,
                      atol=1e-3)
    assert np.isclose(after.threshold, before.threshold + 0.1)
    assert np.quantile(after.fake_scores, 0.05) < np.quantile(before.fake_scores, 0.05)
    assert moved.left_out and all(np.all(np.isfinite(left.scores))
                                  for left in moved.left_out.values())
    # A brand with enough photos the model has not seen is calibrated on those: no margin.
    unseen = calibrate_brand(index, policy, frozenset(range(1, 91)), margin=margin)
    assert unseen.trained_included == 0 and unseen.margin is None


def test_a_margin_is_the_gap_at_the_quantiles_the_operating_point_rests_on() -> None:
    rng = np.random.default_rng(3)
    policy = Policy()
    trained = np.concatenate([rng.normal(-1, 0.3, 4000), rng.normal(1, 0.3, 4000)])
    trained_fake = np.arange(8000) >= 4000
    spread = np.where(trained_fake, trained - 0.2, trained + 0.3)  # new photos: less apart
    margin = trained_on_margin(trained, trained_fake, spread, trained_fake, policy)
    assert np.isclose(margin.genuine, 0.3) and np.isclose(margin.fake, -0.2)
    # Never less careful than the training photos' own scores: a model that puts new photos
    # further apart than its training photos gets no margin at all.
    closer = np.where(trained_fake, trained + 0.2, trained - 0.3)
    assert trained_on_margin(trained, trained_fake, closer, trained_fake, policy) == (
        TrainedOnMargin(0.0, 0.0))
