"""Honest train/query splits: every copy of a photo stays on one side.

Datasets scraped from the web hold the same photo several times (rotated, zoomed, flipped). A
file-level split puts copies on both sides and reports accuracy that will not hold, so splits are
drawn over photo groups (the ``dup_group`` column), stratified by product and label: one
query side (:func:`split_groups`), or k folds for cross-validation (:func:`assign_folds`).
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import GalleryError


def split_groups(groups: list[str], strata: list[str], query_share: float,
                 seed: int = 0) -> np.ndarray:
    """Return a boolean mask of rows on the query side; groups are never divided.

    Each group is assigned by its first row's stratum (product/label), and about
    ``query_share`` of each stratum's groups go to the query side.
    """
    if not 0.0 < query_share < 1.0:
        raise GalleryError("the query share must be between 0 and 1")
    rng = np.random.default_rng(seed)
    stratum_of: dict[str, str] = {}
    for group, stratum in zip(groups, strata, strict=True):
        stratum_of.setdefault(group, stratum)
    query_groups: set[str] = set()
    for stratum in sorted(set(stratum_of.values())):
        members = sorted(g for g, s in stratum_of.items() if s == stratum)
        count = round(len(members) * query_share)
        query_groups.update(rng.permutation(members)[:count].tolist())
    return np.array([g in query_groups for g in groups], dtype=bool)


def assign_folds(groups: list[str], strata: list[str], folds: int, seed: int = 0) -> np.ndarray:
    """Return each row's fold (0 to ``folds - 1``) for cross-validation by photo group.

    A group goes whole to one fold, by its first row's stratum, so no fold is scored on copies
    of photos the others hold. Within each stratum the groups are shuffled (seeded by ``seed``
    and the stratum's name, so one product's folds do not move when another is added) and dealt
    largest first to the fold holding fewest of the stratum's photos: groups range from one
    photo to dozens, and dealing by count alone would leave folds of unequal size. Every fold
    then holds every stratum that has at least ``folds`` groups.
    """
    if folds < 2:
        raise GalleryError("cross-validation needs at least 2 folds")
    size: dict[str, int] = {}
    stratum_of: dict[str, str] = {}
    for group, stratum in zip(groups, strata, strict=True):
        stratum_of.setdefault(group, stratum)
        size[group] = size.get(group, 0) + 1
    fold_of: dict[str, int] = {}
    total = np.zeros(folds, dtype=np.int64)
    for stratum in sorted(set(stratum_of.values())):
        rng = np.random.default_rng([seed, zlib.crc32(stratum.encode())])
        members = rng.permutation(sorted(g for g, s in stratum_of.items() if s == stratum))
        photos, count = np.zeros(folds, dtype=np.int64), np.zeros(folds, dtype=np.int64)
        for group in sorted(members.tolist(), key=lambda g: -size[g]):  # stable: shuffled ties
            fold = min(range(folds), key=lambda f: (photos[f], count[f], total[f], f))
            fold_of[group] = fold
            photos[fold] += size[group]
            count[fold] += 1
            total[fold] += size[group]
    return np.array([fold_of[g] for g in groups], dtype=np.int64)
