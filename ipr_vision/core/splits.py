"""Honest train/query splits: every copy of a photo stays on one side.

Datasets scraped from the web hold the same photo several times (rotated, zoomed, flipped). A
file-level split puts copies on both sides and reports accuracy that will not hold, so splits are
drawn over photo groups (the ``dup_group`` column), stratified by product and label.
"""

from __future__ import annotations

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
