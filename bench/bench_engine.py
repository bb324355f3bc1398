"""Speed and size figures for the ipr-vision engine on this machine. Prints; asserts nothing.

The package's design choices cite these figures (conv-BN fusion and channels-last in the
embedder, batch 8 in ``embed_all``, exact brand-partitioned NumPy search instead of an ANN
index), so anyone can re-measure them on their own hardware:

1. embedding throughput of ``MobileNetV2Embedder`` against the eager torchvision module;
2. gallery import rate and one-photo ``Gallery.inspect`` latency on held-out photos;
3. brand-filtered ``assess`` latency over 10 k / 100 k / 1 M synthetic references;
4. bytes stored per reference.

Real photos come from the ``nike_af1_j1`` dataset when present (``--dataset`` or
``$IPR_VISION_DATASETS``); otherwise generated photos stand in, and the output says so.

Usage::

    .venv/bin/python bench/bench_engine.py [--quick] [--dataset DIR] [--synthetic] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image, ImageDraw

from ipr_vision import Gallery, Label, Policy, read_photo
from ipr_vision.core.index import BrandIndex
from ipr_vision.core.splits import split_groups
from ipr_vision.core.suggest import BrandCalibration, assess, calibrate_brand
from ipr_vision.embedders import weights as weights_mod
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import IprVisionError
from ipr_vision.intake.labelled import (
    LabelledPhoto,
    group_key,
    named_group,
    read_index,
    stratum,
    write_index,
)
from ipr_vision.storage.gallery_schema import DB_NAME

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = Path(os.environ.get("IPR_VISION_DATASETS",
                                      REPO.parent / "shared" / "datasets")) / "nike_af1_j1"
BRAND = "nike"

#: Synthetic search brands: sizes follow Zipf (1/rank), as a few brands hold most references.
SEARCH_BRANDS = 20
SEARCH_PRODUCTS = tuple(f"product_{i}" for i in range(8))
SEARCH_FAKE_SHARE = 0.5
#: Copies per photo group, as in the real dataset (rotated / zoomed / flipped copies).
PHOTOS_PER_GROUP = 3
#: Rows generated at a time: a multiple of PHOTOS_PER_GROUP so no group straddles two chunks,
#: and small (about 0.5 GB at dim 1280) so generating never holds a second copy of a brand.
SEARCH_CHUNK = PHOTOS_PER_GROUP * 32_768
#: References in the small random brand whose calibration the large brands borrow.
CALIBRATION_REFERENCES = 3_000
#: Warm-up calls before every timed series (first calls pay allocation and lazy init).
WARM_UP = 3


@dataclass(frozen=True)
class Settings:
    """How much work each section does; ``--quick`` is a smoke run, not a measurement."""

    images_per_run: int  # photos embedded per (batch size, model) configuration
    gallery_photos: int
    query_photos: int
    search_sizes: tuple[int, ...]
    search_seconds: float  # timing budget per search configuration
    max_queries: int
    min_queries: int


FULL = Settings(images_per_run=96, gallery_photos=300, query_photos=100,
                search_sizes=(10_000, 100_000, 1_000_000), search_seconds=8.0,
                max_queries=200, min_queries=20)
QUICK = Settings(images_per_run=32, gallery_photos=150, query_photos=40,
                 search_sizes=(10_000, 100_000), search_seconds=2.0,
                 max_queries=50, min_queries=10)


# -- output ------------------------------------------------------------------------------------


class Table:
    """Prints a header, then each row as soon as it is measured, so long runs show progress."""

    def __init__(self, *columns: tuple[str, int]) -> None:
        self.widths = [width for _, width in columns]
        self._print([name for name, _ in columns])
        self._print(["-" * width for width in self.widths])

    def row(self, *cells: object) -> None:
        self._print([str(cell) for cell in cells])

    def _print(self, cells: Sequence[str]) -> None:
        first, *rest = zip(cells, self.widths, strict=True)
        line = f"   {first[0]:<{first[1]}}" + "".join(f"  {c:>{w}}" for c, w in rest)
        print(line, flush=True)


@contextmanager
def section(title: str, *, timed: bool = True) -> Iterator[None]:
    """Print a section's title; at the end of a timed one, say how much CPU other processes took
    meanwhile, because on a small machine a concurrent test run halves every figure."""
    print(f"\n{title}\n{'=' * len(title)}", flush=True)
    before = cpu_seconds()
    yield
    after = cpu_seconds()
    if not timed or before is None or after is None:
        return
    elapsed = after[2] - before[2]
    others = (after[0] - before[0]) - (after[1] - before[1])
    share = max(others, 0.0) / (elapsed * (os.cpu_count() or 1))
    warning = "  <- figures above are depressed by contention" if share > 0.10 else ""
    note(f"CPU taken by other processes during this section: {share:.0%} of the machine"
         f"{warning}")


def cpu_seconds() -> tuple[float, float, float] | None:
    """(CPU-seconds used by all processes since boot, by this process, wall clock); Linux."""
    stat = Path("/proc/stat")
    if not stat.is_file():
        return None
    fields = [int(value) for value in stat.read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    times = os.times()
    return ((user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"),
            times.user + times.system + times.children_user + times.children_system,
            time.perf_counter())


def gallery_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of benchmarks that build a gallery of real photos: where they are, how many
    become references, and the split's seed."""
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--gallery-photos", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)


def dataset_index(dataset: Path) -> Path | None:
    """The real photos' ``index.csv`` in ``dataset``, or None after saying on stderr that it
    is absent (the benchmarks that need real photos then exit with status 2)."""
    index = dataset / "index.csv"
    if index.is_file():
        return index.resolve()
    print(f"error: no dataset at {dataset} (index.csv)", file=sys.stderr)
    return None


def note(text: str) -> None:
    print(textwrap.fill(text, width=100, initial_indent="   ", subsequent_indent="     "),
          flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def time_ms(call: Callable[[], object]) -> float:
    """Wall-clock milliseconds of one call."""
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000.0


def print_machine(quick: bool, title: str = "ipr-vision engine benchmark") -> None:
    """Figures depend on the machine first of all, so it is named before any figure."""
    title += " (--quick: smoke run, fewer repetitions)" if quick else ""
    print(f"{title}\n{'=' * len(title)}")
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM"
    note(f"machine: {os.cpu_count()} cores (os.cpu_count), {cpu}{memory}")
    note(f"python {platform.python_version()}, torch {torch.__version__} "
         f"({torch.get_num_threads()} threads), torchvision {torchvision.__version__}, "
         f"numpy {np.__version__}")
    if hasattr(os, "getloadavg"):
        note(f"load average at start (1 min): {os.getloadavg()[0]:.2f}")


# -- photos ------------------------------------------------------------------------------------


def load_photos(dataset: Path | None, scratch: Path, seed: int) -> tuple[list[LabelledPhoto], str]:
    """The dataset's photos when present, else generated ones; and a line saying which."""
    if dataset is None:
        where = "not used (--synthetic)"
    elif (dataset / "index.csv").is_file():
        items, failed = read_index(dataset.resolve() / "index.csv")
        if items:
            skipped = f", {len(failed)} index rows unusable" if failed else ""
            return items, f"photos: real, {len(items):,} from {dataset}{skipped}"
        where = f"unusable at {dataset} (no usable rows in index.csv)"
    else:
        where = f"not found at {dataset}"
    items, _ = read_index(write_generated_dataset(scratch / "generated", seed))
    return items, (f"photos: GENERATED ({len(items)} 640 x 640 JPEGs); the real dataset was "
                   f"{where}, so figures on photos are indicative only")


def write_generated_dataset(folder: Path, seed: int, groups_per_cell: int = 34) -> Path:
    """Write 640-px JPEGs and an ``index.csv`` shaped like the real set: 2 products x 2 labels,
    each photo present as 3 copies (original, mirrored, rotated) sharing a ``dup_group``."""
    rng = np.random.default_rng(seed)
    items = []
    for product in ("boot", "bag"):
        for label in Label:
            for number in range(groups_per_cell):
                base = generated_photo(rng, product, label)
                group = f"{product}-{label}-{number:03d}"
                copies = (base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                          base.transpose(Image.Transpose.ROTATE_90))
                for copy_number, image in enumerate(copies):
                    relative = Path(label, product, f"{group}-{copy_number}.jpg")
                    (folder / relative).parent.mkdir(parents=True, exist_ok=True)
                    image.save(folder / relative, quality=90)
                    items.append(LabelledPhoto(folder / relative, product, label,
                                               named_group(group)))
    return write_index(folder / "index.csv", items)


def generated_photo(rng: np.random.Generator, product: str, label: str,
                    size: int = 640) -> Image.Image:
    """A smooth random background with a product-specific shape and a label-specific pattern,
    plus sensor-like noise, so JPEG sizes and decode costs resemble a photo's."""
    low = rng.integers(60, 230, (6, 6, 3), dtype=np.uint8)
    image = Image.fromarray(low).resize((size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    margin = int(size * rng.uniform(0.1, 0.25))
    box = (margin, margin, size - margin, size - int(margin * rng.uniform(0.8, 1.2)))
    (draw.rectangle if product == "boot" else draw.ellipse)(
        box, fill=(170, 40, 40) if product == "boot" else (40, 70, 160))
    step = 12 if label == "genuine" else 30
    for offset in range(box[0], box[2], step):
        draw.line((offset, box[1], offset + step, box[3]), fill=(235, 235, 235), width=3)
    noise = rng.normal(0.0, 7.0, (size, size, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def split(items: Sequence[LabelledPhoto], gallery_photos: int, query_photos: int,
          seed: int) -> tuple[list[LabelledPhoto], list[LabelledPhoto]]:
    """About ``gallery_photos`` + ``query_photos`` photos, split by photo group and stratified
    by product/label, so that, as in real use, no copy of a query photo is in the gallery."""
    groups = [group_key(item) for item in items]
    strata = [stratum(item) for item in items]
    share = (gallery_photos + query_photos) / len(items)
    # split_groups draws a stratified set of whole groups; here it picks the subset to use.
    chosen = (np.ones(len(items), dtype=bool) if share >= 1.0
              else split_groups(groups, strata, share, seed))
    used = np.flatnonzero(chosen)
    on_query = split_groups([groups[i] for i in used], [strata[i] for i in used],
                            query_photos / (gallery_photos + query_photos), seed + 1)
    gallery = [items[int(i)] for i, query in zip(used, on_query, strict=True) if not query]
    queries = [items[int(i)] for i, query in zip(used, on_query, strict=True) if query]
    return gallery, queries


# -- 1. embedding ------------------------------------------------------------------------------


def eager_features() -> torch.nn.Module:
    """Torchvision's MobileNetV2 features as shipped: unfused batch-norm, contiguous NCHW."""
    network = torchvision.models.mobilenet_v2(weights=None)
    path = weights_mod.require(weights_mod.IMAGENET_MOBILENET_V2)
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return network.features.eval()


def throughput(embed: Callable[[list[Image.Image]], np.ndarray], images: Sequence[Image.Image],
               batch_size: int, total: int) -> tuple[float, float]:
    """Images per second and milliseconds per call, both from the median call (robust to a
    stray spike from another process), after warm-up calls."""
    calls = max(total // batch_size, 3)
    batches = [[images[(call * batch_size + j) % len(images)] for j in range(batch_size)]
               for call in range(calls)]
    for batch in batches[:WARM_UP]:
        embed(batch)
    times = [time_ms(partial(embed, batch)) for batch in batches]
    median = float(np.median(times))
    return batch_size * 1000.0 / median, median


def bench_embedding(embedder: MobileNetV2Embedder, images: Sequence[Image.Image],
                    settings: Settings) -> None:
    """Ours (batch norm folded, channels-last) against the eager module, same preprocessing."""
    features = eager_features()

    @torch.inference_mode()
    def eager(batch: list[Image.Image]) -> np.ndarray:
        pooled = features(embedder.preprocess(batch).contiguous()).mean(dim=(2, 3))
        return torch.nn.functional.normalize(pooled, dim=1).numpy()

    difference = float(np.abs(embedder.embed(images[:8]) - eager(list(images[:8]))).max())
    with section(f"1. Embedding throughput, warm ({settings.images_per_run} photos per "
                 "configuration, preprocessing included)"):
        note(f"inputs: {len(images)} photos resized to {embedder.input_size} px, cycled")
        table = Table(("batch", 5), ("fused+CL img/s", 14), ("ms/batch p50", 12),
                      ("eager img/s", 11), ("ms/batch p50", 12), ("speed-up", 8))
        for batch_size in (1, 8, 32):
            ours, ours_ms = throughput(embedder.embed, images, batch_size,
                                       settings.images_per_run)
            theirs, theirs_ms = throughput(eager, images, batch_size, settings.images_per_run)
            table.row(batch_size, f"{ours:.1f}", f"{ours_ms:.1f}", f"{theirs:.1f}",
                      f"{theirs_ms:.1f}", f"{ours / theirs:.2f}x")
        note("fused+CL = MobileNetV2Embedder.embed (batch norm folded, channels-last); eager = "
             "torchvision's features module as shipped (NCHW, batch-norm unfused), same "
             "preprocessing; img/s = batch size / median call. Largest |difference| between "
             f"their embeddings: {difference:.1e}")


# -- 2. gallery --------------------------------------------------------------------------------


def bench_gallery(embedder: MobileNetV2Embedder, items: Sequence[LabelledPhoto], scratch: Path,
                  settings: Settings, seed: int) -> Gallery:
    """Import a few hundred photos, then time inspect() on held-out photos; returns the gallery
    (open) for the storage figures."""
    gallery_items, queries = split(items, settings.gallery_photos, settings.query_photos, seed)
    with section("2. Gallery import and one-photo inspect (warm process, model already loaded)"):
        groups = {group_key(item) for item in gallery_items}
        overlap = groups & {group_key(item) for item in queries}
        note(f"gallery: {len(gallery_items)} photos in {len(groups)} photo groups; queries: "
             f"{len(queries)} held-out photos, {len(overlap)} of their groups in the gallery")
        csv_path = write_index(scratch / "gallery.csv", gallery_items)
        gallery = Gallery(scratch / "gallery", embedder=embedder)
        report = gallery.import_index(csv_path, brand=BRAND, allow_poor_quality=True)
        rate = len(report.added) / report.seconds if report.seconds > 0 else float("nan")
        note(f"import_index: {rate:.1f} photos/s = {len(report.added)} added in "
             f"{report.seconds:.1f} s ({len(report.duplicates)} duplicates, "
             f"{len(report.failed)} failed); decode + embed at batch 8 + store")
        first = queries[0]
        cold = time_ms(partial(gallery.inspect, first.source, brand=BRAND,
                               product=first.product))
        note(f"first inspect after the import: {cold:.0f} ms (loads the brand's vectors and "
             "calibrates it, once per gallery revision)")
        for item in queries[:WARM_UP]:
            gallery.inspect(item.source, brand=BRAND, product=item.product)
        table = Table(("inspect(path, brand, ...)", 26), ("photos", 6), ("p50 ms", 7),
                      ("p95 ms", 7), ("mean ms", 7))
        for title, give_product in (("product given", True), ("product=None (proposed)", False)):
            times = [time_ms(partial(gallery.inspect, item.source, brand=BRAND,
                                     product=item.product if give_product else None))
                     for item in queries]
            table.row(title, len(times), f"{percentile(times, 50):.1f}",
                      f"{percentile(times, 95):.1f}", f"{np.mean(times):.1f}")
        note("each call: read + decode the JPEG, embed at batch 1, assess, look up the matches")
    return gallery


# -- 3. search ---------------------------------------------------------------------------------


def brand_sizes(total: int, brands: int) -> list[int]:
    """Zipf-distributed brand sizes summing to ``total``, largest first."""
    weights = 1.0 / np.arange(1, brands + 1)
    sizes = np.floor(total * weights / weights.sum()).astype(np.int64)
    sizes[0] += total - sizes.sum()
    return [int(size) for size in sizes]


def random_brand(size: int, dim: int, rng: np.random.Generator) -> BrandIndex:
    """A brand index of ``size`` random unit vectors, generated chunk by chunk.

    Products are registered in the same order in every brand, so product codes (which a
    ``BrandCalibration`` is indexed by) agree across brands. Product and label are drawn per
    photo group, as copies of one photo share both.
    """
    index = BrandIndex(dim)
    for name in SEARCH_PRODUCTS:
        index.add_product(name)
    for start in range(0, size, SEARCH_CHUNK):
        count = min(SEARCH_CHUNK, size - start)
        vectors = rng.standard_normal((count, dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        group = (start + np.arange(count)) // PHOTOS_PER_GROUP
        per_group = -(-count // PHOTOS_PER_GROUP)
        product = np.repeat(rng.integers(0, len(SEARCH_PRODUCTS), per_group),
                            PHOTOS_PER_GROUP)[:count]
        fake = np.repeat(rng.random(per_group) < SEARCH_FAKE_SHARE, PHOTOS_PER_GROUP)[:count]
        index.add(np.arange(start, start + count), vectors,
                  [SEARCH_PRODUCTS[code] for code in product], fake,
                  [f"g{g}" for g in group])
        del vectors
    return index


def borrowed_calibration(dim: int, policy: Policy, rng: np.random.Generator) -> BrandCalibration:
    """Calibrate a small random brand with the same products; the big brands borrow it.

    Calibrating a brand of 100 k+ rows (leave-one-group-out, once per gallery revision) would
    take minutes and is not part of a query's cost; the operating point's values do not change
    how long ``assess`` takes, only that every product is in a scoring mode, which is checked.
    """
    calibration = calibrate_brand(random_brand(CALIBRATION_REFERENCES, dim, rng), policy)
    unusable = [mode.reason for mode in calibration.modes.values() if mode.mode is None]
    unusable += [reason for reason in calibration.by_mode.values() if isinstance(reason, str)]
    if unusable:
        raise SystemExit(f"benchmark setup: the borrowed calibration is unusable: {unusable}")
    return calibration


def time_queries(index: BrandIndex, calibration: BrandCalibration, policy: Policy,
                 rng: np.random.Generator, settings: Settings) -> tuple[list[float], list[float]]:
    """Milliseconds of the whole ``assess`` per query: with the product given (the officer
    picked it: only its rows are read), and without (the brand is read to propose one)."""
    queries = rng.standard_normal((settings.max_queries + WARM_UP, index.dim), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    products = rng.choice(SEARCH_PRODUCTS, len(queries))
    for query, product in zip(queries[:WARM_UP], products[:WARM_UP], strict=True):
        if assess(query, index, calibration, policy, str(product)).score is None:
            raise SystemExit("benchmark setup: assess stopped before scoring; timing would be low")
    given, proposed = [], []
    deadline = time.perf_counter() + settings.search_seconds
    for query, product in zip(queries[WARM_UP:], products[WARM_UP:], strict=True):
        given.append(time_ms(partial(assess, query, index, calibration, policy, str(product))))
        proposed.append(time_ms(partial(assess, query, index, calibration, policy, None)))
        if len(given) >= settings.min_queries and time.perf_counter() > deadline:
            break
    return given, proposed


def bench_search(dim: int, settings: Settings, seed: int) -> None:
    """Per-query cost of a brand-filtered search, for the largest of 20 brands and for one brand
    holding everything (the worst case)."""
    rng = np.random.default_rng(seed)
    policy = Policy()
    with section(f"3. Brand-filtered search: assess() per query, random unit vectors (dim {dim}"
                 " float32)"):
        calibration = borrowed_calibration(dim, policy, rng)
        largest_share = brand_sizes(1_000_000, SEARCH_BRANDS)[0] / 1_000_000
        note(f"N references over {SEARCH_BRANDS} brands of Zipf sizes (largest "
             f"{largest_share:.1%} of N), {len(SEARCH_PRODUCTS)} products per brand, "
             f"{SEARCH_FAKE_SHARE:.0%} fake, {PHOTOS_PER_GROUP} photos per group; one BrandIndex "
             "per brand, queries against the largest. Operating point borrowed from "
             f"calibrate_brand on a {CALIBRATION_REFERENCES:,}-reference random brand; the "
             "query's product is drawn at random.")
        table = Table(("N refs", 9), ("brand layout", 16), ("brand rows", 10),
                      ("vectors MB", 10), ("queries", 7), ("given p50", 9), ("given p95", 9),
                      ("propose p50", 11), ("propose p95", 11))
        for total in settings.search_sizes:
            for layout in (f"largest of {SEARCH_BRANDS}", "all in one brand"):
                sizes = brand_sizes(total, SEARCH_BRANDS) if "largest" in layout else [total]
                brands = [random_brand(size, dim, rng) for size in sizes]
                largest = brands[0]
                given, proposed = time_queries(largest, calibration, policy, rng, settings)
                megabytes = sum(r.vectors.nbytes for r in largest.products.values()) / 1e6
                table.row(f"{total:,}", layout, f"{len(largest):,}", f"{megabytes:,.0f}",
                          len(given), f"{percentile(given, 50):.2f}",
                          f"{percentile(given, 95):.2f}", f"{percentile(proposed, 50):.2f}",
                          f"{percentile(proposed, 95):.2f}")
                del brands, largest  # free before the next layout is generated
        note("milliseconds per assess() call (search, label similarity, verdict, nearest lists). "
             "given = product named, only its rows read; propose = no product, each product "
             "read at one stride so at most index.PROPOSAL_ROWS rows are read, then the chosen "
             "product exactly. Rows grow by doubling, so building a brand chunk by chunk briefly "
             "holds up to about twice its vectors (see the peak memory at the end).")


# -- 4. storage --------------------------------------------------------------------------------


def bench_storage(gallery: Gallery) -> None:
    """Bytes on disk per reference, split into database and photo files, after a checkpoint
    so the write-ahead log is folded into the database file instead of counted twice."""
    references = gallery.references()
    with closing(sqlite3.connect(gallery.path / DB_NAME)) as db:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        tables = database_objects(db)
    with section(f"4. Storage per reference ({len(references)} references, after "
                 "PRAGMA wal_checkpoint(TRUNCATE))", timed=False):
        if busy:
            note("warning: the checkpoint was blocked; the WAL is not folded in")
        count = max(len(references), 1)
        database = (gallery.path / DB_NAME).stat().st_size
        journal = sum(path.stat().st_size for path in gallery.path.glob(f"{DB_NAME}-*"))
        photos = sum(path.stat().st_size for path in {ref.path for ref in references})
        total = gallery.store.disk_bytes()
        table = Table(("part of the gallery folder", 34), ("bytes", 12), ("per reference", 13))
        parts = [(f"database ({DB_NAME})", database),
                 ("WAL + shared-memory files (open)", journal),
                 ("photo files (photos/, originals)", photos)]
        if other := total - sum(size for _, size in parts):
            parts.append(("other files", other))
        for name, size in [*parts, ("total", total)]:
            table.row(name, f"{size:,}", f"{size / count:,.0f}")
            if name.startswith("database"):
                for table_name, table_size in tables:
                    table.row(f"  {table_name}", f"{table_size:,}", f"{table_size / count:,.0f}")
        dim = gallery.embedder.dim
        note(f"an embedding is {dim} float32 = {dim * 4:,} bytes of raw vector; the indented "
             "rows split the database file by table and index (SQLite's dbstat, whole pages). "
             "Photos are stored as received.")


def database_objects(db: sqlite3.Connection, shown: int = 4) -> list[tuple[str, int]]:
    """Bytes of pages per table or index, largest first (empty where SQLite lacks dbstat)."""
    try:
        rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name "
                          "ORDER BY 2 DESC").fetchall()
    except sqlite3.OperationalError:
        return []
    objects = [(str(name), int(size)) for name, size in rows[:shown]]
    if rest := sum(int(size) for _, size in rows[shown:]):
        objects.append((f"{len(rows) - shown} other tables and indexes", rest))
    return objects


# -- main --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: fewer repetitions, no 1 M search")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET,
                        help=f"nike_af1_j1 folder with index.csv (default: {DEFAULT_DATASET})")
    parser.add_argument("--synthetic", action="store_true",
                        help="use generated photos even when the dataset is present")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    started = time.perf_counter()
    print_machine(args.quick)
    try:
        embedder = MobileNetV2Embedder()
    except IprVisionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ipr-vision-bench-") as temp:
        scratch = Path(temp)
        items, source = load_photos(None if args.synthetic else args.dataset, scratch, args.seed)
        note(source)
        rng = np.random.default_rng(args.seed)
        picked = rng.choice(len(items), size=min(64, len(items)), replace=False)
        size = (embedder.input_size, embedder.input_size)
        images = [read_photo(items[i].source, draft_size=embedder.input_size).image
                  .resize(size, Image.Resampling.BILINEAR) for i in sorted(picked)]
        bench_embedding(embedder, images, settings)
        gallery = bench_gallery(embedder, items, scratch, settings, args.seed)
        try:
            bench_search(embedder.dim, settings, args.seed)
            bench_storage(gallery)
        finally:
            gallery.close()
    peak = ""
    if sys.platform != "win32":
        import resource

        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        peak = f", peak resident memory {kib / 2**20:.1f} GiB"
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s{peak}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
