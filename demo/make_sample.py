"""Build the small demo sample in ``demo/sample/`` from the nike_af1_j1 dataset (run once).

Maintainers run this once and commit its output, so the demo works from a fresh clone without
the full dataset. Why it looks the way it does:

* One file per photo group (``dup_group``). The dataset holds most photos about three times
  (rotated, zoomed, flipped copies); taking one copy per group means the sample holds no copies,
  so no gallery/query split of it can leak a photo onto both sides.
* Seeded and sorted before any random choice, so a rerun gives byte-identical CSVs and files.
* Balanced: the same number of photos for each product/label cell, so the demo shows both
  verdicts for both products instead of mirroring the dataset's proportions.
* No photo a shipped model was trained on: the sample was drawn from photo groups v2 never
  saw, the query photos from its held-out groups and the gallery photos from its validation
  groups (``weights/report/v2-split.json``), and every model shipped since is trained with the
  sample's groups kept out (``training.train --keep-out demo/sample/index.csv``). So the demo's
  verdicts are not flattered by photos the model memorised, and the demo brand is calibrated on
  photos it has never seen, as a right holder's would be.
* Files are copied unmodified (checked against the dataset's sha256), as the CC BY 4.0
  attribution in ``ATTRIBUTION.md`` says.

Usage::

    .venv/bin/python demo/make_sample.py [--source ../shared/datasets/nike_af1_j1] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "datasets" / "nike_af1_j1"
DEFAULT_OUT = REPO / "demo" / "sample"
DEFAULT_SPLIT = REPO / "weights" / "report" / "v2-split.json"

#: Photos per product/label cell: the first GALLERY_PER_CELL go to the gallery, the rest to queries.
GALLERY_PER_CELL = 12
QUERIES_PER_CELL = 3
MAX_PHOTOS = 60
MAX_BYTES = 10 * 1000 * 1000
COLUMNS = ["path", "label", "product", "dup_group"]

ATTRIBUTION = """\
# Attribution

The photos in this folder are a small sample of the `nike_af1_j1` development dataset, one photo
per photo group, chosen by `demo/make_sample.py` (seed {seed}). The files are **unmodified
copies** of the dataset files (same bytes; sha256 checked when copied); only their folders
changed, to `<label>/<product>/`. No shipped model was trained on any of them: they were
drawn from photo groups the v2 model never saw, the 12 query photos (`queries.csv`) from its
held-out groups and the 48 gallery photos from its validation groups
(`weights/report/v2-split.json`), and every model shipped since is trained with these groups
kept out (`training.train --keep-out demo/sample/index.csv`).

Source and licence, as given in the dataset's README:

> Source and licence: a Roboflow Universe export, project "counterfeit-nike-shoes-detection" v1 by
> user aniket-panchal-mpjwi, published under CC BY 4.0, found committed in the public GitHub
> repository MeshariAlbati/sneaker-auth-app (folder counterfeit-nike-shoes-detection-1). CC BY 4.0
> asks for attribution: keep this paragraph with any copy, and credit the project in any model
> card of weights trained on it.

Licence: Creative Commons Attribution 4.0 International (CC BY 4.0),
https://creativecommons.org/licenses/by/4.0/. The labels (genuine / fake) are the publisher's;
they have not been verified independently. Keep this file with any copy of the sample.
"""


def _read_index(source: Path) -> list[dict[str, str]]:
    with (source / "index.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def select(rows: list[dict[str, str]], seed: int, held_out: frozenset[str],
           validation: frozenset[str]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Pick one file from each of 15 photo groups per cell; return (gallery rows, query rows).
    Query photos come only from the ``held_out`` groups, gallery photos from ``validation``.

    Groups whose files disagree on product or label would make a cell ambiguous, so they are
    skipped (the dataset README says label conflicts were removed; this only guards it).
    """
    by_group: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_group[row["dup_group"]].append(row)
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    for group, members in by_group.items():
        if len({(m["label"], m["product"]) for m in members}) == 1:
            cells[(members[0]["label"], members[0]["product"])].append(group)
    rng = np.random.default_rng(seed)
    gallery: list[dict[str, str]] = []
    queries: list[dict[str, str]] = []
    for cell in sorted(cells):
        held = sorted(g for g in cells[cell] if g in held_out)
        others = sorted(g for g in cells[cell] if g in validation)
        if len(held) < QUERIES_PER_CELL or len(others) < GALLERY_PER_CELL:
            raise SystemExit(f"cell {cell} has {len(held)} held-out and {len(others)} "
                             f"validation photo groups, need {QUERIES_PER_CELL} and "
                             f"{GALLERY_PER_CELL}")
        chosen = ([others[i] for i in rng.permutation(len(others))[:GALLERY_PER_CELL]]
                  + [held[i] for i in rng.permutation(len(held))[:QUERIES_PER_CELL]])
        picks = []
        for group in chosen:
            members = sorted(by_group[group], key=lambda m: m["path"])
            picks.append(members[int(rng.integers(len(members)))])
        gallery += picks[:GALLERY_PER_CELL]
        queries += picks[GALLERY_PER_CELL:]
    return gallery, queries


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def build(source: Path, out: Path, seed: int, split: Path) -> tuple[int, int]:
    """Write the sample into ``out`` (replacing it); return (photos, bytes)."""
    groups = json.loads(split.read_text())
    held_out, validation = (frozenset(g.removeprefix("group:") for g in groups[side])
                            for side in ("held_out_groups", "validation_groups"))
    gallery, queries = select(_read_index(source), seed, held_out, validation)
    chosen = gallery + queries
    if len(chosen) > MAX_PHOTOS:
        raise SystemExit(f"{len(chosen)} photos selected, the sample allows {MAX_PHOTOS}")
    if {r["dup_group"] for r in gallery} & {r["dup_group"] for r in queries}:
        raise SystemExit("a photo group is on both sides")  # cannot happen: one file per group
    if out.exists():
        # A rerun must not keep files from an earlier selection, but never wipe a folder that
        # is not an earlier sample (a mistyped --out).
        if any(out.iterdir()) and not (out / "ATTRIBUTION.md").is_file():
            raise SystemExit(f"{out} exists and is not an earlier sample; refusing to replace it")
        shutil.rmtree(out)
    total = 0
    sample_rows = []
    for row in chosen:
        name = Path(row["path"]).name
        relative = Path(row["label"]) / row["product"] / name
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / row["path"], target)
        if _sha256(target) != row["sha256"]:
            raise SystemExit(f"{source / row['path']}: sha256 differs from the dataset index")
        total += target.stat().st_size
        sample_rows.append({**row, "path": relative.as_posix()})
    if total > MAX_BYTES:
        raise SystemExit(f"sample is {total} bytes, the limit is {MAX_BYTES}")
    _write_csv(out / "index.csv", sample_rows)
    _write_csv(out / "gallery.csv", sample_rows[:len(gallery)])
    _write_csv(out / "queries.csv", sample_rows[len(gallery):])
    (out / "ATTRIBUTION.md").write_text(ATTRIBUTION.format(seed=seed), encoding="utf-8")
    return len(sample_rows), total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"the nike_af1_j1 folder (default: {DEFAULT_SOURCE})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where the sample goes (default: {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", type=Path, default=DEFAULT_SPLIT,
                        help="the split.json the sample is drawn from: queries come from its "
                        f"held-out groups, the gallery from its validation groups (default: "
                        f"{DEFAULT_SPLIT})")
    args = parser.parse_args(argv)
    if not (args.source / "index.csv").is_file():
        print(f"make_sample: {args.source}/index.csv not found (give --source)", file=sys.stderr)
        return 2
    photos, size = build(args.source, args.out, args.seed, args.split)
    print(f"wrote {photos} photos ({size / 1e6:.2f} MB) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
