"""A product's health figures: the ROC curve, the per-product figures under the brand's
calibration, ``Gallery.health`` on real embeddings, and the figures drawn in both languages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ipr_vision import Gallery, GalleryError
from ipr_vision.app.web.gallery_health import health_markdown
from ipr_vision.core.health import (
    ProductHealth,
    auroc_interval,
    model_difference,
    product_health,
    separation,
)
from ipr_vision.core.index import BrandIndex
from ipr_vision.core.metrics import auroc, roc_curve
from ipr_vision.core.scoring import Mode, Policy
from ipr_vision.core.suggest import calibrate_brand
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.figures import plots as plots_module
from ipr_vision.figures.plots import health_figures, reliability_diagram, roc_plot, score_histogram
from tests.support import clustered_brand, fitted

SIZE = (640, 420)


def health_of(index: BrandIndex, policy: Policy, product: str = "shoe") -> ProductHealth:
    """The health of one product the way ``Gallery.health`` computes it."""
    brand = calibrate_brand(index, policy)
    mode = brand.modes[product]
    calibration = None if mode.mode is None else brand.by_mode[mode.mode]
    return product_health(index.products[product], mode, calibration, policy)


def trapezoid(fpr: np.ndarray, tpr: np.ndarray) -> float:
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def test_roc_curve_exact_points_with_a_tie_across_labels() -> None:
    labels = np.array([1, 1, 0, 0, 1], dtype=bool)
    scores = np.array([0.9, 0.8, 0.8, 0.5, 0.3])
    fpr, tpr = roc_curve(labels, scores)
    # The tie at 0.8 (one fake, one genuine) is one diagonal step, not two.
    np.testing.assert_allclose(fpr, [0, 0, 1 / 2, 1, 1])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 2 / 3, 1])
    assert trapezoid(fpr, tpr) == pytest.approx(3.5 / 6)
    empty = roc_curve(np.zeros(3, dtype=bool), np.arange(3.0))
    assert len(empty[0]) == len(empty[1]) == 0


def test_roc_area_equals_auroc_with_ties() -> None:
    rng = np.random.default_rng(20)
    for _ in range(5):
        labels = rng.random(300) < 0.3
        scores = np.round(rng.normal(labels * 0.7, 1.0), 1)  # rounded: many ties
        fpr, tpr = roc_curve(labels, scores)
        assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
        assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
        assert len(fpr) == len(np.unique(scores)) + 1
        assert trapezoid(fpr, tpr) == pytest.approx(auroc(labels, scores))


def test_separable_product_is_healthy_and_matches_the_brand_calibration() -> None:
    index = clustered_brand(np.random.default_rng(21), n_groups=30)
    policy = Policy()
    health = health_of(index, policy)
    calibration = fitted(calibrate_brand(index, policy).by_mode[Mode.CONTRAST])
    assert (health.genuine, health.fake, health.genuine_groups, health.fake_groups) == (
        90, 90, 30, 30)
    assert health.mode == Mode.CONTRAST and health.reason == "" and health.calibrated
    assert health.auroc > 0.99
    assert health.auroc_ci95 is not None
    assert health.auroc_ci95[0] <= health.auroc <= health.auroc_ci95[1] <= 1.0
    # The very left-out scores the brand was calibrated on (one product: the whole brand).
    np.testing.assert_array_equal(np.sort(health.scores[~health.is_fake]),
                                  calibration.genuine_scores)
    np.testing.assert_array_equal(np.sort(health.scores[health.is_fake]),
                                  calibration.fake_scores)
    assert health.p_counterfeit.shape == health.scores.shape
    assert np.all((health.p_counterfeit >= 0.01) & (health.p_counterfeit <= 0.99))
    assert sum(b["count"] for b in health.reliability) == 180 and np.isfinite(health.ece)
    fpr, tpr = health.roc
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    flagged = health.scores > health.threshold
    assert health.genuine_flagged == np.mean(flagged[~health.is_fake])
    assert health.genuine_flagged <= policy.max_genuine_flagged
    assert health.expected_fake_caught == np.mean(flagged[health.is_fake]) > 0.9
    assert health.brand_expected_fake_recall == pytest.approx(health.expected_fake_caught)
    data = json.loads(json.dumps(health.to_dict(), allow_nan=False))
    assert data["operating_point"]["max_genuine_flagged"] == policy.max_genuine_flagged
    assert data["scored_genuine"] == data["scored_fake"] == 90
    assert data["auroc_ci95"] == list(health.auroc_ci95)
    assert len(data["roc"]["fpr"]) == len(fpr) and "scores" not in data


def test_large_product_uses_the_calibration_sample() -> None:
    index = clustered_brand(np.random.default_rng(22), n_groups=40)  # 240 references
    policy = Policy(max_calibration_queries=100)
    health = health_of(index, policy)
    calibration = fitted(calibrate_brand(index, policy).by_mode[Mode.CONTRAST])
    assert health.genuine + health.fake == 240 and len(health.scores) == 100
    np.testing.assert_array_equal(np.sort(health.scores[~health.is_fake]),
                                  calibration.genuine_scores)


def test_genuine_only_product_has_no_reliability_but_an_operating_point() -> None:
    health = health_of(clustered_brand(np.random.default_rng(23), n_groups=30, fakes=False),
                       Policy())
    assert health.mode == Mode.GENUINE_ONLY and health.reason == ""
    assert (health.genuine, health.fake) == (90, 0)
    assert not health.calibrated and health.reliability == [] and np.isnan(health.ece)
    assert np.isnan(health.auroc) and len(health.roc[0]) == 0
    assert health.threshold is not None and health.genuine_flagged <= 0.01
    assert np.isnan(health.expected_fake_caught) and health.brand_expected_fake_recall is None
    assert len(health.p_counterfeit) == 90  # ranks among the genuine references
    data = health.to_dict()
    assert data["auroc"] is None and data["ece"] is None and data["auroc_ci95"] is None
    json.dumps(data, allow_nan=False)


def test_too_few_references_give_the_reason_and_no_figures() -> None:
    health = health_of(clustered_brand(np.random.default_rng(24), n_groups=2), Policy())
    assert health.mode is None and "at least 3" in health.reason
    assert (health.genuine, health.fake, health.genuine_groups) == (6, 6, 2)
    assert len(health.scores) == 0 and health.threshold is None
    assert np.isnan(health.auroc) and health.reliability == []
    assert health_figures(health) == {}


def test_uncalibrated_brand_still_shows_the_separation() -> None:
    # 5 genuine photos: the product has a mode, the brand too few references to calibrate.
    health = health_of(clustered_brand(np.random.default_rng(25), n_groups=5, copies=1),
                       Policy())
    assert health.mode == Mode.CONTRAST and "too few genuine references" in health.reason
    assert health.auroc > 0.9 and len(health.scores) == 10
    assert health.threshold is None and len(health.p_counterfeit) == 0
    assert np.isnan(health.genuine_flagged)


def test_gallery_health_counts_the_gallery(tmp_path: Path, embedder: MobileNetV2Embedder,
                                           photo_folder: Path) -> None:
    with Gallery(tmp_path / "g", embedder=embedder) as gallery:
        gallery.import_folder(photo_folder, brand="acme")
        health = gallery.health("acme", "boot")
        refs = gallery.references("acme", "boot")
        assert health.genuine == sum(r.label == "genuine" for r in refs) == 12
        assert health.fake == sum(r.label == "fake" for r in refs) == 12
        assert health.genuine_groups == health.fake_groups == 12
        assert health.mode == Mode.CONTRAST and health.calibrated and health.auroc > 0.9
        assert health.max_genuine_flagged == gallery.policy_for("acme").max_genuine_flagged
        with pytest.raises(GalleryError, match=r"no product 'shoe'.*bag, boot"):
            gallery.health("acme", "shoe")
        with pytest.raises(GalleryError):
            gallery.health("nobody", "boot")


@pytest.fixture(scope="module")
def healthy() -> ProductHealth:
    return health_of(clustered_brand(np.random.default_rng(26), n_groups=30, spread=0.5),
                     Policy())


def test_health_figures_in_both_languages(healthy: ProductHealth) -> None:
    english, chinese = health_figures(healthy, "en"), health_figures(healthy, "zh")
    assert set(english) == set(chinese) == {"roc", "scores", "reliability"}
    for name, image in [*english.items(), *chinese.items()]:
        assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == SIZE
        assert np.asarray(image).std() > 10, name  # something is drawn
    for name in english:
        assert english[name].tobytes() != chinese[name].tobytes(), name


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_plots_with_nothing_to_show(lang: str) -> None:
    curves = {"a": roc_curve(np.array([0, 1, 1], dtype=bool), np.array([0.1, 0.5, 0.9])),
              "b": (np.array([0.0, 1.0]), np.array([0.0, 1.0]))}
    images = [roc_plot(curves, lang=lang, operating_point=0.05), roc_plot({}, lang=lang),
              score_histogram(np.zeros(0), np.zeros(0, dtype=bool), threshold=None, lang=lang),
              reliability_diagram([], lang=lang)]
    assert all(image.mode == "RGB" and image.size == SIZE for image in images)


def test_chinese_falls_back_to_english_without_a_cjk_font(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots_module, "cjk_font", lambda: None)
    english = reliability_diagram([], lang="en")
    assert reliability_diagram([], lang="zh").tobytes() == english.tobytes()
    with pytest.raises(ValueError, match="lang"):
        reliability_diagram([], lang="fr")


def test_two_models_are_compared_on_the_same_references_with_an_interval() -> None:
    policy = Policy()
    sharp = calibrate_brand(clustered_brand(np.random.default_rng(31), spread=0.35), policy)
    blurred = calibrate_brand(clustered_brand(np.random.default_rng(32), spread=0.8), policy)
    again = calibrate_brand(clustered_brand(np.random.default_rng(33), spread=0.35), policy)

    better = model_difference(sharp, blurred)
    assert better is not None and better.references == 180
    assert better.auroc == pytest.approx(separation(fitted(sharp.by_mode[Mode.CONTRAST])).auroc
                                         - separation(fitted(blurred.by_mode[Mode.CONTRAST])).auroc)
    assert 0 < better.low <= better.auroc <= better.high and better.verdict == "better"
    worse = model_difference(blurred, sharp)
    assert worse is not None and worse.auroc == pytest.approx(-better.auroc)
    assert worse.verdict == "worse" and worse.to_dict()["verdict"] == "worse"
    alike = model_difference(again, sharp)
    assert alike is not None and alike.low < 0 < alike.high
    assert alike.verdict == "no_clear_difference"
    assert model_difference(sharp, blurred) == better  # seeded: the same interval every time

    # References one model was trained on (not scored under it) drop out of the pairing.
    trained = calibrate_brand(clustered_brand(np.random.default_rng(31), spread=0.35), policy,
                              trained_on=frozenset(range(1, 31)))
    assert len(trained.skipped) == 30
    paired = model_difference(trained, blurred)
    assert paired is not None and paired.references == 150
    # Without known fakes scored under both there is no AUROC to set against another.
    genuine_only = calibrate_brand(clustered_brand(np.random.default_rng(34), fakes=False),
                                   policy)
    assert model_difference(sharp, genuine_only) is None


def test_the_separations_interval_resamples_photo_groups(healthy: ProductHealth) -> None:
    """Three copies of a photo are one draw: counted as three photos, the interval would
    narrow as if there were three times the evidence."""
    assert healthy.auroc_ci95 is not None
    low, high = healthy.auroc_ci95
    assert 0.5 < low < healthy.auroc < high <= 1.0
    rows = np.array([f"row{n}" for n in range(len(healthy.scores))])
    by_rows = auroc_interval(healthy.is_fake, healthy.scores, rows)
    assert by_rows is not None and by_rows[1] - by_rows[0] < 0.8 * (high - low)
    lines = {lang: health_markdown(lang, healthy) for lang in ("en", "zh")}
    assert f"95 % interval {low:.2f} to {high:.2f}" in lines["en"]
    assert f"95% 区间 {low:.2f} 至 {high:.2f}" in lines["zh"]
