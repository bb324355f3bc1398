"""Training material from a gallery (pure): spot-the-fake quizzes and confusable pairs.

A quiz shows each photo once, without its file name (names often say "fake"), and draws
genuine and fake photos in equal numbers from distinct photo groups, so guessing one label
scores half and two near-identical shots never both appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..domain import Label, Reference
from ..errors import IprVisionError
from .index import ProductRows


@dataclass(frozen=True)
class QuizAnswer:
    """One quiz photo, what the trainee answered and whether it was right."""

    reference: Reference
    answer: str | None  # "genuine", "fake" or None when skipped
    correct: bool


@dataclass(frozen=True)
class QuizResult:
    answers: list[QuizAnswer]

    @property
    def score(self) -> int:
        return sum(a.correct for a in self.answers)

    @property
    def total(self) -> int:
        return len(self.answers)


def draw_quiz(references: Sequence[Reference], size: int, seed: int) -> list[Reference]:
    """Up to ``size`` references, half genuine and half fake, one per photo group, shuffled."""
    rng = np.random.default_rng(seed)
    by_label: dict[Label, list[Reference]] = {Label.GENUINE: [], Label.FAKE: []}
    seen: set[str] = set()
    for index in rng.permutation(len(references)):
        ref = references[int(index)]
        if ref.photo_group not in seen:
            seen.add(ref.photo_group)
            by_label[ref.label].append(ref)
    genuine, fake = by_label[Label.GENUINE], by_label[Label.FAKE]
    if not genuine or not fake:
        raise IprVisionError("a quiz needs genuine and fake reference photos; this gallery has "
                             f"{len(genuine)} genuine and {len(fake)} fake photo groups",
                             key="error.quiz_needs_both", genuine=len(genuine), fake=len(fake))
    half = min(size // 2, len(genuine), len(fake))
    half = max(half, 1)
    chosen = genuine[:half] + fake[:half]
    return [chosen[int(i)] for i in rng.permutation(len(chosen))]


def grade(items: Sequence[Reference], answers: Sequence[str | None]) -> QuizResult:
    if len(answers) != len(items):
        raise IprVisionError(f"{len(answers)} answers for {len(items)} quiz photos")
    return QuizResult([QuizAnswer(ref, answer, answer == ref.label)
                       for ref, answer in zip(items, answers, strict=True)])


def confusable_pairs(rows: ProductRows, n: int = 5) -> list[tuple[int, int, float]]:
    """The ``n`` most similar (genuine, fake) reference pairs of a product, by embedding: the
    pairs that teach most in a side-by-side comparison. Each reference appears at most once."""
    genuine, fake = np.flatnonzero(~rows.is_fake), np.flatnonzero(rows.is_fake)
    if len(genuine) == 0 or len(fake) == 0:
        return []
    sims = rows.vectors[genuine] @ rows.vectors[fake].T
    pairs: list[tuple[int, int, float]] = []
    used_g: set[int] = set()
    used_f: set[int] = set()
    for flat in np.argsort(-sims, axis=None, kind="stable"):
        g, f = divmod(int(flat), len(fake))
        if g in used_g or f in used_f:
            continue
        used_g.add(g)
        used_f.add(f)
        pairs.append((int(rows.ids[genuine[g]]), int(rows.ids[fake[f]]), float(sims[g, f])))
        if len(pairs) == n:
            break
    return pairs
