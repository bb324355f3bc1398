"""The health panel's words: a right holder reads "strong" or "poor", not an AUROC or an ECE
(issue 16), so the words must follow the numbers at their bounds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ipr_vision.core.health import ProductHealth
from ipr_vision.core.scoring import Policy
from tests.core.test_health import health_of
from tests.support import clustered_brand


@pytest.fixture(scope="module")
def health() -> ProductHealth:
    return health_of(clustered_brand(np.random.default_rng(26), n_groups=30, spread=0.5),
                     Policy())


@pytest.mark.parametrize(("auroc", "word"), [
    (0.99, "strong"), (0.9, "strong"), (0.89, "fair"), (0.75, "fair"), (0.74, "weak"),
    (0.5, "weak"), (float("nan"), None)])
def test_separation_in_words(health: ProductHealth, auroc: float, word: str | None) -> None:
    assert replace(health, auroc=auroc).separation_grade == word


@pytest.mark.parametrize(("ece", "word"), [
    (0.0, "good"), (0.049, "good"), (0.05, "fair"), (0.149, "fair"), (0.15, "poor"),
    (0.243, "poor"), (float("nan"), None)])
def test_calibration_in_words(health: ProductHealth, ece: float, word: str | None) -> None:
    assert replace(health, ece=ece).calibration_grade == word
