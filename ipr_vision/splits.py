"""Honest train/query splits: every copy of a photo stays on one side.

Datasets scraped from the web hold the same photo several times (rotated, zoomed, flipped). A
file-level split puts copies on both sides and reports accuracy that will not hold, so splits are
drawn over photo groups (the ``dup_group`` column), stratified by product and label.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from .errors import GalleryError


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


def split_index(index_csv: str | Path, out_dir: str | Path, *, query_share: float = 0.2,
                seed: int = 0) -> tuple[Path, Path]:
    """Write ``gallery.csv`` and ``queries.csv`` beside each other, paths made relative to them.

    Without a ``dup_group`` column every file is its own group, which is only honest when the
    set holds no copies of a photo.
    """
    index_csv, out_dir = Path(index_csv), Path(out_dir)
    try:
        with index_csv.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
    except FileNotFoundError:
        raise GalleryError(f"{index_csv}: file not found") from None
    if not {"path", "label", "product"} <= set(fields):
        raise GalleryError(f"{index_csv}: needs columns path,label,product")
    groups = [r.get("dup_group") or f"file:{r['path']}" for r in rows]
    on_query = split_groups(groups, [f"{r['product']}/{r['label']}" for r in rows], query_share,
                            seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = []
    for name, side in (("gallery.csv", ~on_query), ("queries.csv", on_query)):
        target = out_dir / name
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for row, keep in zip(rows, side, strict=True):
                if keep:
                    source = (index_csv.parent / row["path"]).resolve()
                    writer.writerow({**row, "path": os.path.relpath(source, out_dir.resolve())})
        outputs.append(target)
    return outputs[0], outputs[1]
