"""Signed brand packages: size and speed of exporting and importing a whole brand, and a delta.

Prints figures, and fails loudly (``AssertionError``, exit status 1) when a package does not
bring the target gallery to exactly the source's references; it asserts nothing about times.
With the shipped default model (``default_embedder()``) and the ``nike_af1_j1`` dataset as one
brand of about 3,000 photos:

1. build the source gallery with ``Gallery.import_index`` (photos/s; every photo, however
   poor, as the other benchmarks import the dataset), or reuse the one kept in
   ``--work`` when it was built from the same photos with the same model;
2. export a full package with the references' embeddings and one without (MB, seconds);
3. import each into a fresh target gallery that trusts the signing key (seconds, photos/s):
   with embeddings the importer takes the package's vectors and re-embeds only a few photos as
   a spot check; without, it re-embeds every photo;
4. a delta: about 1 % of the source's references removed and one note changed, exported
   ``since`` the first package and imported into the target that holds it.

Checked on the way: after each full import and after the delta, the target's references
(sha256, product, label, photo group, note) equal the source's; the vectors the target stores
equal the source's (package vectors) or agree to a cosine of 0.999 (re-embedded).

Usage::

    .venv/bin/python bench/bench_packages.py [--limit N] [--work DIR] [--dataset DIR] [--seed N]

``--limit N`` uses about N photos (whole photo groups) for a quick run. ``--work DIR`` keeps
the built source gallery there (``DIR/source``) and reuses it on the next run; each run works
on a copy of it in ``DIR/run``, so the kept gallery never changes. Without ``--work`` all goes
to a temporary folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
from bench_engine import DEFAULT_DATASET, cpu_seconds, note
from bench_engine import print_machine as engine_machine

from ipr_vision import Gallery, __version__
from ipr_vision.embedders import Embedder, default_embedder
from ipr_vision.intake.labelled import LabelledPhoto, group_key, read_index, write_index
from ipr_vision.packages import SigningKey

BRAND = "nike"
#: Share of the source's references removed before the delta.
REMOVED_SHARE = 0.01
#: Marker beside a kept source gallery: what it was built from, to decide whether to reuse it.
MARKER = "bench_packages.json"
T = TypeVar("T")


# -- output ------------------------------------------------------------------------------------


def heading(title: str) -> None:
    print(f"\n{title}\n{'=' * len(title)}", flush=True)


def print_machine(embedder: Embedder) -> None:
    engine_machine(quick=False, title="ipr-vision signed brand package benchmark")
    note(f"ipr-vision {__version__}; model: {embedder.model_id} (default_embedder(), "
         f"dim {embedder.dim})")


class Contention:
    """CPU other processes took while a step ran, as a share of the machine (Linux only): on a
    2-core machine a concurrent test run halves every figure."""

    def __init__(self) -> None:
        self.start = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float] | None:
        return cpu_seconds()

    def share(self) -> float | None:
        end = self._now()
        if self.start is None or end is None:
            return None
        elapsed = end[2] - self.start[2]
        others = (end[0] - self.start[0]) - (end[1] - self.start[1])
        return max(others, 0.0) / (max(elapsed, 1e-9) * (os.cpu_count() or 1))


def timed(call: Callable[[], T]) -> tuple[T, float, float | None]:
    """The call's result, its wall-clock seconds and the CPU share others took meanwhile."""
    contention = Contention()
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start, contention.share()


def others(share: float | None) -> str:
    if share is None:
        return "?"
    return f"{share:.0%}" + (" !" if share > 0.10 else "")


# -- photos ------------------------------------------------------------------------------------


def pick_photos(dataset: Path, limit: int | None, seed: int,
                scratch: Path) -> tuple[Path, list[LabelledPhoto]]:
    """The index to import: the dataset's own, or one of about ``limit`` photos in whole photo
    groups (so no group is split), drawn at random."""
    index = dataset / "index.csv"
    if not index.is_file():
        raise SystemExit(f"error: no dataset at {dataset} (index.csv missing); pass --dataset")
    items, failed = read_index(index)
    if failed:
        note(f"{len(failed)} unusable rows in {index}; first: {failed[0]}")
    if limit is None or limit >= len(items):
        return index, items
    groups: dict[str, list[LabelledPhoto]] = {}
    for item in items:
        groups.setdefault(group_key(item), []).append(item)
    order = np.random.default_rng(seed).permutation(sorted(groups))
    chosen: list[LabelledPhoto] = []
    for key in order:
        if len(chosen) >= limit:
            break
        chosen.extend(groups[str(key)])
    return write_index(scratch / "index.csv", chosen), chosen


def index_digest(items: Sequence[LabelledPhoto], model_id: str) -> str:
    """What a kept source gallery must have been built from to be reused."""
    rows = sorted(f"{item.source.resolve()}|{item.product}|{item.label}|{item.group}"
                  for item in items)
    return hashlib.sha256("\n".join([model_id, *rows]).encode()).hexdigest()


# -- checks ------------------------------------------------------------------------------------


def require(ok: bool, message: object) -> None:
    """A check that also runs under ``python -O`` (which drops ``assert``)."""
    if not ok:
        raise AssertionError(message)


def state(gallery: Gallery) -> dict[str, tuple[str, str, str, str]]:
    """sha256 -> (product, label, photo group, note) of the brand's references."""
    refs = gallery.references(BRAND)
    found = {ref.sha256: (ref.product, str(ref.label), ref.photo_group, ref.note) for ref in refs}
    require(len(found) == len(refs), "two references of the brand share a sha256")
    return found


def vectors(gallery: Gallery) -> dict[str, np.ndarray]:
    """sha256 -> the stored vector under the gallery's model."""
    model = gallery.embedder
    stored = gallery.store.brand_vectors(BRAND, model.model_id, model.dim)
    sha = {ref.id: ref.sha256 for ref in gallery.references(BRAND)}
    return {sha[int(ref_id)]: row for ref_id, row in zip(stored.ids, stored.vectors, strict=True)}


@dataclass(frozen=True)
class Same:
    """The target holds the source's references; how close their stored vectors are."""

    references: int
    max_abs: float
    min_cosine: float


def check_same(source: Gallery, target: Gallery, what: str) -> Same:
    """Assert the target holds exactly the source's references; compare their vectors."""
    want, got = state(source), state(target)
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    require(not missing and not extra, (
        f"{what}: the target's references differ from the source's: {len(missing)} missing "
        f"(e.g. {missing[:2]}), {len(extra)} extra (e.g. {extra[:2]})"))
    differing = [sha for sha in want if want[sha] != got[sha]]
    if differing:
        raise AssertionError(f"{what}: {len(differing)} references differ in product, label, "
                             f"group or note, e.g. {want[differing[0]]} != {got[differing[0]]}")
    ours, theirs = vectors(source), vectors(target)
    require(set(ours) == set(want) and set(theirs) == set(got), (
        f"{what}: {len(set(want) - set(ours))} source and {len(set(got) - set(theirs))} target "
        "references lack a vector under the current model"))
    keys = sorted(want)
    a = np.stack([ours[k] for k in keys]) if keys else np.zeros((0, 1))
    b = np.stack([theirs[k] for k in keys]) if keys else np.zeros((0, 1))
    cosine = np.sum(a * b, axis=1) if keys else np.ones(1)
    return Same(len(keys), float(np.max(np.abs(a - b))) if keys else 0.0,
                float(np.min(cosine)))


# -- steps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """How the source gallery was built (kept beside it as JSON, to decide on reuse)."""

    digest: str
    references: int
    photos: int
    duplicates: int
    poor_quality: int  # added despite the quality gate (allow_poor_quality)
    seconds: float
    others: float | None
    disk_bytes: int
    reused: bool = False


@dataclass(frozen=True)
class Row:
    """One line of the figures table."""

    what: str
    refs: int
    bytes: int
    seconds: float
    reported: float | None
    others: float | None
    rate: bool = False  # photos/s is meaningful (all references went through the step)


def source_gallery(work: Path, index: Path, items: Sequence[LabelledPhoto],
                   embedder: Embedder) -> tuple[Path, Built]:
    """The built source gallery (kept in ``work/source``), built now unless a matching one is
    there; returns its folder and how it was built."""
    folder, marker = work / "source", work / "source" / MARKER
    digest = index_digest(items, embedder.model_id)
    if marker.is_file():
        built = Built(**json.loads(marker.read_text()))
        if built.digest == digest:
            with Gallery(folder, embedder=embedder, create=False) as gallery:
                count = len(gallery.references(BRAND))
                stale = gallery.stale_embeddings()
                exported = gallery.packages(BRAND)[1]
            if count == built.references and not stale and not exported:
                return folder, replace(built, reused=True)
        note(f"{folder} holds another build; building it again")
    if folder.exists():
        shutil.rmtree(folder)
    with Gallery(folder, embedder=embedder) as gallery:
        # Every photo however poor, as the other benchmarks import the dataset: the brand is
        # then the whole dataset, and packages carry what the gallery holds either way.
        report, seconds, share = timed(partial(gallery.import_index, index, brand=BRAND,
                                               added_by="bench", allow_poor_quality=True))
        require(not report.failed, f"import failed for {len(report.failed)}: {report.failed[:3]}")
        count = len(gallery.references(BRAND))
        require(count == len(report.added), "references differ from the photos added")
    built = Built(digest, count, len(items), len(report.duplicates), len(report.waived), seconds,
                  share,
                  sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()))
    marker.write_text(json.dumps(asdict(built), indent=1))
    return folder, built


def fresh_target(folder: Path, embedder: Embedder, public_key: Path) -> Gallery:
    gallery = Gallery(folder, embedder=embedder)
    gallery.trust_key(public_key, brand=BRAND, name="bench right holder")
    return gallery


def mb(size: int) -> str:
    return f"{size / 1e6:,.1f}"


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.1f}" if seconds > 0 else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--limit", type=int, default=None,
                        help="use about N photos (whole photo groups) for a quick run")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the source gallery in DIR/source and reuse it next time")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET,
                        help=f"nike_af1_j1 folder with index.csv (default: {DEFAULT_DATASET})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    embedder = default_embedder()
    print_machine(embedder)
    with tempfile.TemporaryDirectory(prefix="ipr-vision-bench-packages-") as temp:
        work = (args.work or Path(temp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        run = work / "run"
        if run.exists():
            shutil.rmtree(run)
        run.mkdir()
        index, items = pick_photos(args.dataset.resolve(), args.limit, args.seed, run)
        note(f"photos: {len(items):,} from {index}" + (f" (--limit {args.limit})"
                                                       if args.limit else ""))
        rows = measure(work, run, index, items, embedder, args.seed)
        print_table(rows)
        if args.work is None:
            note("(temporary folder removed; pass --work DIR to keep the source gallery)")
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    return 0


def measure(work: Path, run: Path, index: Path, items: Sequence[LabelledPhoto],
            embedder: Embedder, seed: int) -> dict[str, Row]:
    rows: dict[str, Row] = {}

    heading("1. Source gallery (Gallery.import_index)")
    folder, built = source_gallery(work, index, items, embedder)
    refs = built.references
    if built.reused:
        note(f"reused {folder} (built by an earlier run; its figures are that run's)")
    rows["build"] = Row("build source (import_index)" + (" [reused]" if built.reused else ""),
                        refs, built.disk_bytes, built.seconds, None, built.others, rate=True)
    note(f"{refs:,} references from {built.photos:,} photos ({built.duplicates} duplicates, "
         f"{built.poor_quality} let past the quality gate with allow_poor_quality) in "
         f"{built.seconds:.1f} s = {rate(refs, built.seconds)} photos/s; gallery folder "
         f"{mb(built.disk_bytes)} MB")
    copy = run / "source"
    shutil.copytree(folder, copy)
    (copy / MARKER).unlink(missing_ok=True)

    key_file, public_key = SigningKey.generate().write(run / "keys", "bench")
    packages = run / "packages"
    with Gallery(copy, embedder=embedder, create=False) as source:
        heading("2. Export full packages (Gallery.export_package)")
        exports = {}
        for embeddings in (True, False):
            name = "with" if embeddings else "without"
            out = packages / f"full-{name}-embeddings.zip"
            written, seconds, share = timed(partial(source.export_package, BRAND, key_file, out,
                                                    embeddings=embeddings))
            require(written.references == refs and written.kind == "full", written)
            require((written.embeddings is not None) == embeddings, written)
            require(written.bytes == out.stat().st_size, (written.bytes, out.stat().st_size))
            exports[embeddings] = written
            rows[f"export {name}"] = Row(f"export full, {name} embeddings (#{written.sequence})",
                                         written.references, written.bytes, seconds,
                                         written.seconds, share)
            note(f"#{written.sequence} {name} embeddings: {mb(written.bytes)} MB, "
                 f"{seconds:.1f} s ({written.seconds:.1f} s reported)")

        heading("3. Import each into a fresh target gallery (Gallery.import_package)")
        targets = {}
        for embeddings in (True, False):
            name = "with" if embeddings else "without"
            target = fresh_target(run / f"target-{name}", embedder, public_key)
            targets[embeddings] = target
            report, seconds, share = timed(partial(target.import_package,
                                                   exports[embeddings].path, brand=BRAND))
            note(report.summary())
            require(report.status == "applied" and len(report.added) == refs, report.summary())
            require(report.reembedded is not embeddings, (
                f"import {name} embeddings: reembedded={report.reembedded}"))
            same = check_same(source, target, f"full import {name} embeddings")
            if embeddings:
                require(same.max_abs == 0.0, f"package vectors changed on the way: {same}")
            else:
                require(same.min_cosine > 0.999, f"re-embedded vectors differ: {same}")
            note(f"check: target == source ({same.references:,} references); vectors: largest "
                 f"|difference| {same.max_abs:.1e}, smallest cosine {same.min_cosine:.6f}")
            rows[f"import {name}"] = Row(f"import full, {name} embeddings", len(report.added),
                                         exports[embeddings].bytes, seconds, report.seconds,
                                         share, rate=True)

        base = exports[True].sequence
        heading(f"4. Delta: about 1 % removed and one note changed, exported since #{base}")
        current = source.references(BRAND)
        rng = np.random.default_rng(seed)
        count = max(1, math.ceil(REMOVED_SHARE * len(current)))
        picked = rng.choice(len(current), size=count + 1, replace=False)
        removed = [current[int(i)].id for i in picked[:count]]
        edited = current[int(picked[count])]
        gone = source.remove(removed, reason="bench: withdrawn by the right holder")
        require(gone == count, f"removed {gone} references, not {count}")
        source.set_note(edited.id, "bench: compare the heel stitching with a genuine pair")
        delta, seconds, share = timed(lambda: source.export_package(
            BRAND, key_file, packages / "delta.zip", since=base))
        require(delta.kind == "delta" and delta.references == 1 and delta.withdrawn == count, delta)
        note(f"#{delta.sequence} (delta since #{base}): {delta.references} reference carried, "
             f"{delta.withdrawn} withdrawn, {delta.bytes:,} bytes, {seconds:.2f} s")
        rows["delta export"] = Row(f"export delta (#{delta.sequence}: {count} removed, 1 note)",
                                   delta.references + delta.withdrawn, delta.bytes, seconds,
                                   delta.seconds, share)
        target = targets[True]
        report, seconds, share = timed(lambda: target.import_package(delta.path, brand=BRAND))
        note(report.summary())
        require(report.status == "applied", report.summary())
        require(len(report.withdrawn) == count and len(report.changed) == 1, report.summary())
        require(not report.added, report.summary())
        same = check_same(source, target, "delta import")
        note(f"check: target == source ({same.references:,} references, the changed note "
             "included)")
        rows["delta import"] = Row(f"import delta into the target holding #{base}",
                                   len(report.withdrawn) + len(report.changed), delta.bytes,
                                   seconds, report.seconds, share)
        for gallery in targets.values():
            gallery.close()
    return rows


def print_table(rows: dict[str, Row]) -> None:
    heading("Figures")
    columns = (("step", 46), ("refs", 6), ("MB", 7), ("wall s", 7), ("API s", 7),
               ("photos/s", 8), ("others' CPU", 11))

    def line(cells: Sequence[str]) -> None:
        print("   " + "  ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
                                for i, (c, (_, w)) in enumerate(zip(cells, columns,
                                                                    strict=True))))

    line([name for name, _ in columns])
    line(["-" * width for _, width in columns])
    for row in rows.values():
        line([row.what, f"{row.refs:,}", mb(row.bytes), f"{row.seconds:.2f}",
              "-" if row.reported is None else f"{row.reported:.2f}",
              rate(row.refs, row.seconds) if row.rate else "-", others(row.others)])
    with_, without = rows["import with"], rows["import without"]
    ratio = with_.seconds / without.seconds
    size = rows["export with"].bytes / rows["export without"].bytes
    note(f"import with embeddings / without: {ratio:.3f} of the time ({1 / ratio:.1f}x faster); "
         f"package with / without embeddings: {size:.3f} of the size")
    note("refs = references carried or changed; MB = 10^6 bytes (the package file, or for the "
         "build the source gallery folder); wall s = the call as timed here; API s = "
         "PackageExport/PackageImport.seconds; others' CPU = share of the machine other "
         "processes took meanwhile (! above 10 %: figures depressed by contention).")


if __name__ == "__main__":
    sys.exit(main())
