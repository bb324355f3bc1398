"""The training workshop through the service: quizzes drawn and graded, confusable pairs."""

from __future__ import annotations

import pytest

from ipr_vision.app.service import Service
from ipr_vision.domain import Label
from ipr_vision.errors import GalleryError, IprVisionError


def test_quiz_through_the_service(service: Service) -> None:
    tom = service.user("tom")
    items = service.quiz(tom, "nike", "boot", 6, 3)
    assert [r.id for r in items] == [r.id for r in service.quiz(tom, "nike", "boot", 6, 3)]
    assert [r.label for r in items].count(Label.FAKE) == 3 and len(items) == 6
    assert {(r.brand, r.product) for r in items} == {("nike", "boot")}
    assert len({r.photo_group for r in items}) == 6
    ids = [r.id for r in items]
    perfect = service.grade_quiz(tom, ids, [r.label for r in items])
    assert (perfect.score, perfect.total) == (6, 6)
    lazy = service.grade_quiz(tom, ids, ["fake"] * 6)
    assert (lazy.score, lazy.total) == (3, 6)
    skipped = service.grade_quiz(tom, ids, [None] * 6)
    assert skipped.score == 0 and [a.answer for a in skipped.answers] == [None] * 6
    with pytest.raises(IprVisionError, match="5 answers for 6 quiz photos"):
        service.grade_quiz(tom, ids, ["fake"] * 5)
    assert len(service.quiz(tom, "nike", "boot", 1000, 0)) == 24  # 12 groups of each
    service.remove(service.user("ada"), [ids[2]])
    with pytest.raises(IprVisionError, match="removed from the gallery meanwhile"):
        service.grade_quiz(tom, ids, [r.label for r in items])


def test_confusable_pairs_of_a_product(service: Service) -> None:
    pairs = service.confusable_pairs(service.user("rita"), "nike", "boot", 3)
    assert len(pairs) == 3
    assert all(g.label == "genuine" and f.label == "fake" for g, f, _ in pairs)
    assert all((g.brand, g.product, f.product) == ("nike", "boot", "boot") for g, f, _ in pairs)
    sims = [s for _, _, s in pairs]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
    used = [r.id for g, f, _ in pairs for r in (g, f)]
    assert len(used) == len(set(used))
    assert len(service.gallery.confusable_pairs("nike", "boot", 100)) == 12
    with pytest.raises(GalleryError, match="no product 'cap'"):
        service.gallery.confusable_pairs("nike", "cap")
    with pytest.raises(GalleryError, match="unknown brand"):
        service.gallery.confusable_pairs("puma", "boot")
