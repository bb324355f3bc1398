"""The evaluator on its own (no model): each labelled photo's suggestion against its label, overall
and per product; unreadable photos and unusable index rows count as failed, not as scored."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from ipr_vision.core.scoring import Mode
from ipr_vision.domain import Label, Verdict
from ipr_vision.errors import PhotoError
from ipr_vision.gallery.evaluator import INTERVALS, evaluate
from ipr_vision.intake.labelled import LabelledPhoto
from ipr_vision.results import Suggestion

#: file -> (verdict, p_counterfeit, raw score) the inspection "gives"
GIVEN = {
    "g1.jpg": (Verdict.GENUINE, 0.05, -0.3), "g2.jpg": (Verdict.INCONCLUSIVE, 0.40, 0.0),
    "g3.jpg": (Verdict.GENUINE, 0.10, -0.2), "f1.jpg": (Verdict.COUNTERFEIT, 0.95, 0.4),
    "f2.jpg": (Verdict.COUNTERFEIT, 0.90, 0.3), "f3.jpg": (Verdict.GENUINE, 0.20, -0.1),
    "bag-g.jpg": (Verdict.GENUINE, 0.30, -0.1), "bag-f.jpg": (Verdict.INCONCLUSIVE, None, None),
}


def suggestion(photo: str, verdict: Verdict, p: float | None, score: float | None) -> Suggestion:
    return Suggestion(photo=photo, photo_sha256="0" * 64, brand="acme", product=None,
                      product_proposed=False, product_candidates=[], verdict=verdict,
                      p_counterfeit=p, calibrated=p is not None, reason="", score=score,
                      mode=None if score is None else Mode.CONTRAST, nearest_genuine=[],
                      nearest_fake=[], operating_point=None, model="m", gallery_revision=1)


def inspect(item: LabelledPhoto) -> Suggestion:
    if item.source.name == "unreadable.jpg":
        raise PhotoError(item.source.name, "truncated")
    return suggestion(item.source.name, *GIVEN[item.source.name])


def item(name: str) -> LabelledPhoto:
    product = "bag" if name.startswith("bag") else "boot"
    label = Label.FAKE if name.startswith("f") or name.endswith("-f.jpg") else Label.GENUINE
    return LabelledPhoto(Path(name), product, label)


def test_figures_overall_and_per_product() -> None:
    items = [item(name) for name in [*GIVEN, "unreadable.jpg"]]
    result = evaluate(items, [("index.csv:9", "empty path or product")], inspect, "m")
    assert (result.photos, result.genuine, result.fake, result.failed) == (8, 4, 4, 2)
    assert result.model == "m" and result.is_fake == [i.label == Label.FAKE for i in items[:8]]
    assert result.p_counterfeit[-1] is None  # no score: not ranked, not calibrated
    assert result.fake_recall == pytest.approx(2 / 4)  # f1, f2
    assert result.genuine_flagged == 0.0
    assert result.fake_cleared == pytest.approx(1 / 4)  # f3, the fake let through
    assert result.inconclusive == pytest.approx(2 / 8)  # g2, bag-f
    assert result.accuracy == pytest.approx(5 / 6)  # f3 called genuine
    # Scored: 4 genuine below every fake but f3 (0.20), which ranks under g2 and bag-g.
    assert result.auroc == pytest.approx(10 / 12)
    assert set(result.per_product) == {"boot", "bag"}
    boot = result.per_product["boot"]
    assert boot["fake_recall"] == pytest.approx(2 / 3)
    assert boot["fake_cleared"] == pytest.approx(1 / 3)
    assert boot["inconclusive"] == pytest.approx(1 / 6)
    assert math.isnan(result.per_product["bag"]["auroc"])  # one scored label only


def test_nothing_readable_gives_undefined_figures_not_an_error() -> None:
    result = evaluate([LabelledPhoto(Path("unreadable.jpg"), "boot", Label.FAKE)], [], inspect,
                      "m")
    assert (result.photos, result.failed) == (0, 1)
    assert math.isnan(result.auroc) and math.isnan(result.accuracy)
    assert result.per_product == {}


def test_figures_come_with_intervals_that_resample_whole_photo_groups() -> None:
    names = list(GIVEN)
    once = evaluate([item(name) for name in names], [], inspect, "m")
    assert once.groups == 8 and set(once.ci95) == set(INTERVALS)
    for name, (low, high) in once.ci95.items():
        value = getattr(once, name)
        assert math.isnan(value) or low <= value <= high, name
    assert once.ci95["genuine_flagged"] == [0.0, 0.0]  # no draw of these flags a genuine one
    assert once.ci95["auroc"][0] < once.auroc  # a draw without g2 and bag-g ranks f3 lower
    # Three copies of each photo are still eight photo groups: the same intervals, not the
    # narrower ones 24 independent photos would give.
    copies = [replace(item(name), group=f"group:{name}") for name in names for _ in range(3)]
    tripled = evaluate(copies, [], inspect, "m")
    assert (tripled.photos, tripled.groups) == (24, 8)
    assert set(tripled.ci95) == set(once.ci95)
    for name, bounds in once.ci95.items():
        assert tripled.ci95[name] == pytest.approx(bounds), name
    assert evaluate(copies, [], inspect, "m", resamples=0).ci95 == {}
