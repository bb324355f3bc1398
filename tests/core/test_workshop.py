"""Quizzes and confusable pairs on their own (no model): balanced, one photo per group, seeded,
graded right; the most alike genuine / fake pairs first, each reference once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ipr_vision.core.index import ProductRows
from ipr_vision.core.workshop import confusable_pairs, draw_quiz, grade
from ipr_vision.domain import Label, Reference
from ipr_vision.errors import IprVisionError
from tests.support import unit


def ref(ref_id: int, label: str, group: str, product: str = "boot") -> Reference:
    """A reference as the store returns it; quizzes read only its label and photo group."""
    return Reference(ref_id, "nike", product, Label(label), f"{ref_id:064x}",
                     Path(f"{ref_id}.jpg"), f"{ref_id}.jpg", group, "setup", "2026-01-01", "")


def pool(genuine_groups: int, fake_groups: int, copies: int = 2) -> list[Reference]:
    """References in photo groups of ``copies`` near-identical shots each."""
    refs: list[Reference] = []
    for label, groups in (("genuine", genuine_groups), ("fake", fake_groups)):
        for g in range(groups):
            refs += [ref(len(refs) + 1, label, f"{label}-{g}") for _ in range(copies)]
    return refs


def test_draw_quiz_is_balanced_one_per_group_and_seeded() -> None:
    refs = pool(10, 6)
    items = draw_quiz(refs, 8, seed=5)
    assert len(items) == 8 and [r.label for r in items].count(Label.GENUINE) == 4
    assert len({r.photo_group for r in items}) == 8
    assert draw_quiz(refs, 8, seed=5) == items
    assert len({tuple(r.id for r in draw_quiz(refs, 8, seed)) for seed in range(6)}) > 1
    biggest = draw_quiz(refs, 1000, seed=0)  # as many as the scarcer label allows
    assert len(biggest) == 12 and [r.label for r in biggest].count(Label.FAKE) == 6
    assert len({r.photo_group for r in biggest}) == 12
    assert len(draw_quiz(refs, 1, seed=0)) == 2  # at least one of each
    assert len(draw_quiz(refs, 7, seed=0)) == 6  # an odd size rounds down


def test_draw_quiz_order_mixes_labels() -> None:
    """Not all genuine first: the labels are shuffled together."""
    orders = {tuple(r.label for r in draw_quiz(pool(10, 10), 10, seed)) for seed in range(5)}
    assert orders != {("genuine",) * 5 + ("fake",) * 5}


@pytest.mark.parametrize(("genuine", "fake", "counts"), [
    (4, 0, "4 genuine and 0 fake"), (0, 3, "0 genuine and 3 fake"), (0, 0, "0 genuine and 0")])
def test_draw_quiz_needs_both_labels(genuine: int, fake: int, counts: str) -> None:
    with pytest.raises(IprVisionError, match=f"needs genuine and fake.*{counts}"):
        draw_quiz(pool(genuine, fake), 4, seed=0)


def test_grade_counts_right_answers() -> None:
    items = [ref(1, "genuine", "a"), ref(2, "fake", "b"), ref(3, "fake", "c")]
    result = grade(items, ["genuine", "genuine", None])
    assert (result.score, result.total) == (1, 3)
    assert [a.correct for a in result.answers] == [True, False, False]
    assert [a.reference for a in result.answers] == items
    assert grade([], []).total == 0
    with pytest.raises(IprVisionError, match="2 answers for 3 quiz photos"):
        grade(items, ["fake", "fake"])


def rows_of(vectors: np.ndarray, is_fake: list[bool], ids: list[int]) -> ProductRows:
    """A product's rows from hand-made vectors, one photo group each."""
    rows = ProductRows(vectors.shape[1])
    rows.add(np.array(ids, dtype=np.int64), unit(vectors), np.array(is_fake),
             np.arange(len(ids), dtype=np.int64))
    return rows


def test_confusable_pairs_most_similar_first_each_reference_once() -> None:
    # Genuine 11 and 12 near axis x; fakes 21 (almost 12) and 22 (near 12, then 11).
    vectors = np.array([[1.0, 0.30, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0],
                        [1.0, 0.02, 0.0], [1.0, 0.10, 0.05]])
    rows = rows_of(vectors, [False, False, False, True, True], [11, 12, 13, 21, 22])
    pairs = confusable_pairs(rows, n=5)
    assert [(g, f) for g, f, _ in pairs] == [(12, 21), (11, 22)]  # 12 is taken: 22 gets 11
    sims = unit(vectors)
    assert pairs[0][2] == pytest.approx(float(sims[1] @ sims[3]))
    assert pairs[1][2] == pytest.approx(float(sims[0] @ sims[4]))
    assert pairs[0][2] > pairs[1][2]
    assert confusable_pairs(rows, n=1) == pairs[:1]


def test_confusable_pairs_random_rows_are_greedy_and_distinct() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(30, 16))
    is_fake = [i % 3 == 0 for i in range(30)]
    rows = rows_of(vectors, is_fake, list(range(100, 130)))
    pairs = confusable_pairs(rows, n=50)
    assert len(pairs) == 10  # as many as the fakes
    genuine = [g for g, _, _ in pairs]
    fakes = [f for _, f, _ in pairs]
    assert len(set(genuine)) == 10 and len(set(fakes)) == 10
    assert all(not is_fake[g - 100] and is_fake[f - 100] for g, f, _ in pairs)
    sims = [s for _, _, s in pairs]
    assert sims == sorted(sims, reverse=True)
    all_sims = unit(vectors) @ unit(vectors).T
    best = max(all_sims[g, f] for g in range(30) for f in range(30)
               if not is_fake[g] and is_fake[f])
    assert sims[0] == pytest.approx(best)


def test_confusable_pairs_need_both_labels() -> None:
    vectors = np.eye(3)
    assert confusable_pairs(rows_of(vectors, [False] * 3, [1, 2, 3])) == []
    assert confusable_pairs(rows_of(vectors, [True] * 3, [1, 2, 3])) == []
    assert confusable_pairs(ProductRows(3)) == []
