"""Labelled photos and the index CSV that lists them: ``path,label,product[,dup_group]``.

The one reader and writer of index CSVs. Imports, evaluations, the ``split`` command, training
and the benchmarks all read them here, with the same checks, and all name a photo's group the
same way: copies of one photo (the ``dup_group`` column) must never vouch for each other, so
the group decides what is left out in calibration and which side of a split a photo lands on.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.splits import split_groups
from ..domain import Label, parse_label
from ..errors import GalleryError

COLUMNS = ("path", "label", "product", "dup_group")
_REQUIRED = COLUMNS[:3]
_GROUP = "group:"

#: (where, reason) for a row or file that could not be used; reported, never fatal.
Failure = tuple[str, str]


@dataclass(frozen=True)
class LabelledPhoto:
    """A photo to import, evaluate or train on, with where it belongs."""

    source: Path
    product: str
    label: Label
    #: The photo group, ``group:<dup_group>``, when the index names one.
    group: str | None = None
    #: Columns of the index beyond the four above, kept so that a split writes them back.
    extra: tuple[tuple[str, str], ...] = ()


def named_group(dup_group: str | None) -> str | None:
    """The group key of a ``dup_group`` value (None when it is empty)."""
    dup_group = (dup_group or "").strip()
    return f"{_GROUP}{dup_group}" if dup_group else None


def group_key(item: LabelledPhoto) -> str:
    """A photo's group for splitting: its ``dup_group``, or the file alone when it has none."""
    return item.group or f"file:{item.source}"


def stored_group(item: LabelledPhoto, sha256: str) -> str:
    """A photo's group as a gallery stores it: its ``dup_group``, or its own content when it
    has none (a copy of the same bytes is refused as a duplicate anyway)."""
    return item.group or f"sha256:{sha256}"


def stratum(item: LabelledPhoto) -> str:
    """What splits keep in proportion: each product's genuine and fake photos."""
    return f"{item.product}/{item.label}"


def read_index(index_csv: str | Path) -> tuple[list[LabelledPhoto], list[Failure]]:
    """The photos an index CSV lists; rows that cannot be used are reported, not fatal.

    Paths are relative to the CSV's folder. A file that is not a readable CSV with the needed
    columns is a :class:`GalleryError`.
    """
    index_csv = Path(index_csv)
    try:
        with index_csv.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            missing = [c for c in _REQUIRED if c not in columns]
            if missing:
                raise GalleryError(f"{index_csv}: missing column(s) {', '.join(sorted(missing))}"
                                   " (needed: path,label,product)")
            rows = list(reader)
    except FileNotFoundError:
        raise GalleryError(f"{index_csv}: file not found") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise GalleryError(f"{index_csv}: not a readable CSV ({error})") from None
    except OSError as error:
        raise GalleryError(f"{index_csv}: cannot be read ({error.strerror or error})") from None
    others = [c for c in columns if c not in COLUMNS]
    items, failed = [], []
    for number, row in enumerate(rows, start=2):
        where = f"{index_csv}:{number}"
        path, product = (row.get("path") or "").strip(), (row.get("product") or "").strip()
        try:
            label = parse_label((row.get("label") or "").strip().lower())
        except GalleryError as error:
            failed.append((where, str(error)))
            continue
        if not path or not product:
            failed.append((where, "empty path or product"))
            continue
        items.append(LabelledPhoto(index_csv.parent / path, product, label,
                                   named_group(row.get("dup_group")),
                                   tuple((c, row.get(c) or "") for c in others)))
    return items, failed


def write_index(index_csv: str | Path, items: Sequence[LabelledPhoto]) -> Path:
    """Write ``items`` as an index CSV that :func:`read_index` reads back to the same photos
    and groups (paths relative to the CSV, extra columns kept)."""
    index_csv = Path(index_csv)
    index_csv.parent.mkdir(parents=True, exist_ok=True)
    others = list(dict.fromkeys(column for item in items for column, _ in item.extra))
    folder = index_csv.parent.resolve()
    with index_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*COLUMNS, *others])
        writer.writeheader()
        for item in items:
            writer.writerow({
                "path": os.path.relpath(Path(item.source).resolve(), folder),
                "label": item.label, "product": item.product,
                "dup_group": (item.group or "").removeprefix(_GROUP), **dict(item.extra)})
    return index_csv


def split_index(index_csv: str | Path, out_dir: str | Path, *, query_share: float = 0.2,
                seed: int = 0) -> tuple[Path, Path, list[Failure]]:
    """Write ``gallery.csv`` and ``queries.csv`` into ``out_dir``, split by photo group and
    stratified by product and label; returns them and the rows that could not be used.

    Without ``dup_group`` every file is its own group, which is only honest when the set holds
    no copies of a photo.
    """
    items, failed = read_index(index_csv)
    on_query = split_groups([group_key(i) for i in items], [stratum(i) for i in items],
                            query_share, seed)
    out_dir = Path(out_dir)
    gallery = write_index(out_dir / "gallery.csv",
                          [i for i, q in zip(items, on_query, strict=True) if not q])
    queries = write_index(out_dir / "queries.csv",
                          [i for i, q in zip(items, on_query, strict=True) if q])
    return gallery, queries, failed
