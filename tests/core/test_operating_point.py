"""The operating point's promise ("at most 1 % of genuine items flagged") must hold for photos
the gallery has never seen, not only for the references it was set on."""

from __future__ import annotations

import math

import numpy as np

from ipr_vision.core.metrics import confident_flag_threshold, flag_threshold
from ipr_vision.core.scoring import Mode, Policy, calibrate

SHARE = 0.01


def clustered_scores(rng: np.random.Generator, groups: int, spread: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Genuine scores of photos in groups of 1-8 that share an offset of sd ``spread``; each
    photo's own noise has sd 1, so every score is N(0, 1 + spread^2) over the population."""
    sizes = rng.integers(1, 9, groups)
    offsets = rng.normal(0, spread, groups)
    group = np.repeat(np.arange(groups), sizes)
    return offsets[group] + rng.normal(0, 1, len(group)), group


def population_flagged(threshold: float, spread: float) -> float:
    """The share of all genuine photos of the population above ``threshold``."""
    return 0.5 * math.erfc(threshold / math.sqrt(2 * (1 + spread**2)))


def test_the_promise_holds_on_new_photo_groups_where_the_plain_quantile_breaks_it() -> None:
    rng = np.random.default_rng(7)
    spread, trials = 1.0, 100
    confidence = Policy().operating_point_confidence
    plain_broken = confident_broken = 0
    confident_rates = []
    for _ in range(trials):
        scores, group = clustered_scores(rng, 150, spread)
        plain = flag_threshold(np.sort(scores), SHARE)
        confident = confident_flag_threshold(scores, group, SHARE, confidence, 200)
        assert confident >= plain
        plain_broken += population_flagged(plain, spread) > SHARE
        confident_broken += population_flagged(confident, spread) > SHARE
        confident_rates.append(population_flagged(confident, spread))
    assert plain_broken / trials > 0.35  # the references' own quantile is a coin toss
    assert confident_broken / trials <= 0.22  # about 1 in 10 (see Policy), sampling aside
    assert np.mean(confident_rates) > 0.3 * SHARE  # and not needlessly strict


def test_the_margin_follows_how_much_photos_of_one_group_move_together() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, 1000)
    many_small = np.arange(1000) // 2  # 500 groups of 2
    few_large = np.arange(1000) // 50  # 20 groups of 50, each with its own offset
    shifted = noise + np.repeat(rng.normal(0, 1, 20), 50)
    plain_small = flag_threshold(np.sort(noise), SHARE)
    plain_large = flag_threshold(np.sort(shifted), SHARE)
    margin_small = confident_flag_threshold(noise, many_small, SHARE, 0.9, 200) - plain_small
    margin_large = confident_flag_threshold(shifted, few_large, SHARE, 0.9, 200) - plain_large
    assert 0 <= margin_small < margin_large


def test_the_same_references_always_give_the_same_operating_point() -> None:
    rng = np.random.default_rng(5)
    scores, group = clustered_scores(rng, 80, 0.5)
    first = confident_flag_threshold(scores, group, SHARE, 0.9, 100)
    assert confident_flag_threshold(scores.copy(), group.copy(), SHARE, 0.9, 100) == first
    # One group is no sample of groups: the plain quantile is all that can be said.
    assert confident_flag_threshold(scores, np.zeros_like(group), SHARE, 0.9, 100) == (
        flag_threshold(np.sort(scores), SHARE))


def test_a_brand_calibrated_with_its_photo_groups_flags_fewer_of_its_own_references() -> None:
    rng = np.random.default_rng(11)
    genuine, genuine_group = clustered_scores(rng, 120, 1.0)
    fake = rng.normal(3, 1, 300)
    scores = np.concatenate([genuine, fake])
    is_fake = np.arange(len(scores)) >= len(genuine)
    groups = np.concatenate([genuine_group, 10_000 + np.arange(len(fake))])
    plain = calibrate(scores, is_fake, np.ones(len(scores)), Mode.CONTRAST, Policy())
    margin = calibrate(scores, is_fake, np.ones(len(scores)), Mode.CONTRAST, Policy(), groups)
    assert not isinstance(plain, str) and not isinstance(margin, str)
    assert margin.threshold > plain.threshold
    assert margin.genuine_flagged < plain.genuine_flagged <= SHARE
    assert margin.clear_below <= margin.threshold
    assert np.all(np.diff(margin.genuine_scores) >= 0)  # still the sorted left-out scores
