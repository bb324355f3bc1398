"""An item's verdict from its photos' verdicts: the rule bench/bench_item_rule.py chose."""

from __future__ import annotations

import itertools

import pytest

from ipr_vision.core.item import item_verdict
from ipr_vision.domain import Verdict

G, C, U = Verdict.GENUINE, Verdict.COUNTERFEIT, Verdict.INCONCLUSIVE  # U: unsure, "can't tell"


@pytest.mark.parametrize("verdict", list(Verdict))
def test_one_view_gives_that_views_verdict(verdict: Verdict) -> None:
    # A one-photo inspection must read exactly as it did before items existed.
    assert item_verdict([verdict]) == verdict


@pytest.mark.parametrize(("views", "expected"), [
    ((G, G), G),
    ((G, G, G), G),
    ((C, C), C),
    ((C, U), C),  # a view that can't tell does not hide a counterfeit one
    ((U, U, C), C),
    ((C, G), U),  # views that contradict each other are for the officer to look at
    ((G, C, C), U),
    ((G, U), U),  # a view that can't tell keeps the item from being cleared
    ((G, G, U), U),  # even when outvoted: no majority turns "can't tell" into "genuine"
    ((U, U), U),
    ((C, G, U), U),
])
def test_each_branch(views: tuple[Verdict, ...], expected: Verdict) -> None:
    assert item_verdict(views) == expected


def test_empty_item_is_an_error_not_a_verdict() -> None:
    with pytest.raises(ValueError, match="at least one readable photo"):
        item_verdict([])


def test_accepts_any_iterable_once() -> None:
    # Callers pass generators over suggestions; the rule must read them only once.
    assert item_verdict(v for v in (C, U, C)) == C


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_every_combination_of_up_to_four_views(k: int) -> None:
    for views in itertools.product(list(Verdict), repeat=k):
        verdict = item_verdict(views)
        assert verdict == item_verdict(reversed(views))  # the order of the photos is no signal
        assert (verdict == G) == all(v == G for v in views)
        assert (verdict == C) == (C in views and G not in views)
        if U in views:
            assert verdict != G
