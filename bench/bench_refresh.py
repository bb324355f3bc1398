"""What officers wait while a right holder imports into the brand they inspect. Prints;
asserts nothing.

Every commit of an import (32 photos) changes the brand, and the brand's calibration (each
reference scored with its photo group left out, re-ranked by cells under the shipped model)
must be computed again for the new state, as it is at a brand's first inspection in a process.
First it times that first inspection's load and calibration on one thread and on every core
(``CALIBRATION_THREADS``), twice each, over a gallery of ``--gallery-photos`` real
references. Then it lets ``--officers`` threads inspect held-out photos one after another and
meanwhile imports ``--import-photos`` more into the same brand, two ways:

- **in this process** (a right holder's upload through the web app: the server updates its
  loaded brand in place);
- **from another process** (``ipr-vision import`` on the same gallery: the server sees the
  revision move and catches up: reads the new references from the store).

Each way is run with the brand refreshed as the library does it (every read waits for the
current state) and as ``ipr-vision serve`` does it (``refresh_in_background``: a read waits at
most ``FRESH_WAIT_S`` and is otherwise answered from the brand's previous state while one
thread recalibrates). It prints the inspections' p50 / p95 / max, how many were answered, and
the import's photos/s; plus the same officers on an idle gallery, in the same run.

Usage::

    .venv/bin/python bench/bench_refresh.py [--officers 4] [--gallery-photos 600]
        [--import-photos 480] [--dataset DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import ModuleType

from bench_engine import (
    dataset_index,
    gallery_arguments,
    note,
    percentile,
    print_machine,
    section,
    split,
)

from ipr_vision import Gallery
from ipr_vision.embedders import default_embedder
from ipr_vision.embedders.batching import BatchingEmbedder
from ipr_vision.gallery import brands
from ipr_vision.gallery.brands import FRESH_WAIT_S
from ipr_vision.intake.labelled import LabelledPhoto, read_index, write_index


def officers_while(gallery: Gallery, queries: Sequence[LabelledPhoto], officers: int,
                   work: Callable[[], object]) -> tuple[list[float], float]:
    """Inspection times (s) of ``officers`` threads, each inspecting photo after photo while
    ``work()`` runs, and how long it ran."""
    stop, times, lock = threading.Event(), [], threading.Lock()

    def officer(n: int) -> None:
        for i in range(n, 10**9, officers):
            if stop.is_set():
                return
            query = queries[i % len(queries)]
            started = time.perf_counter()
            gallery.inspect(query.source, brand="nike", product=query.product)
            with lock:
                times.append(time.perf_counter() - started)

    threads = [threading.Thread(target=officer, args=(n,)) for n in range(officers)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    try:
        work()
    finally:
        took = time.perf_counter() - started
        stop.set()
        for thread in threads:
            thread.join()
    return times, took


@contextmanager
def patched(module: ModuleType, name: str, value: object) -> Iterator[None]:
    """``module.name`` set to ``value`` for a while: today's setting measured in the same run."""
    before = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, before)


def import_elsewhere(gallery: Path, index: Path) -> None:
    """``ipr-vision import`` in another process (it exits 1 as it skips the few photos too
    dark for a reference)."""
    subprocess.run([sys.executable, "-m", "ipr_vision", "import", "--index", str(index),
                    "--gallery", str(gallery), "--brand", "nike"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def line(label: str, times: list[float], took: float, imported: int | None) -> None:
    rate = "" if imported is None else f"; import {imported / took:5.1f} photos/s"
    note(f"{label:<44} {len(times) / took:5.1f} inspections/s, p50 "
         f"{1e3 * percentile(times, 50):5.0f} ms, p95 {1e3 * percentile(times, 95):5.0f} ms, "
         f"max {1e3 * max(times):5.0f} ms{rate}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    gallery_arguments(parser)
    parser.add_argument("--officers", type=int, default=4)
    parser.add_argument("--import-photos", type=int, default=480)
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    if (index := dataset_index(args.dataset)) is None:
        return 2
    print_machine(quick=False, title="ipr-vision: inspections during an import")
    items, _ = read_index(index)
    pool, queries = split(items, args.gallery_photos + args.import_photos, 150, args.seed)
    reference, imported = pool[:args.gallery_photos], pool[args.gallery_photos:]
    embedder = BatchingEmbedder(default_embedder())
    note(f"model {embedder.model_id}; {args.officers} officers; FRESH_WAIT_S {FRESH_WAIT_S} s")
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as folder:
        scratch = Path(folder)
        base = scratch / "base"
        with Gallery(base, embedder=embedder) as gallery:
            gallery.import_index(write_index(scratch / "gallery.csv", reference), brand="nike")
        with section(f"A brand's first use in a process: load + calibration, {len(reference)} "
                     "references"):
            for threads in (1, brands.CALIBRATION_THREADS, 1, brands.CALIBRATION_THREADS):
                with Gallery(base, embedder=embedder) as gallery:
                    started = time.perf_counter()
                    with patched(brands, "CALIBRATION_THREADS", threads):
                        gallery.load_brands()
                    note(f"{threads} calibration thread(s): "
                         f"{time.perf_counter() - started:.2f} s")
        extra = write_index(scratch / "import.csv", imported)
        for where in ("in this process", "from another process"):
            with section(f"Importing {len(imported)} photos {where} into a brand of "
                         f"{len(reference)}"):
                for background in (False, True):
                    copy = scratch / f"g-{where[:4]}-{background}"
                    subprocess.run(["cp", "-a", str(base), str(copy)], check=True)
                    with Gallery(copy, embedder=embedder,
                                 refresh_in_background=background) as gallery:
                        mode = "serve (background)" if background else "library (waits)"
                        gallery.inspect(queries[0].source, brand="nike",
                                        product=queries[0].product)  # loaded, calibrated
                        if not background:
                            times, took = officers_while(
                                gallery, queries, args.officers,
                                lambda: time.sleep(args.idle_seconds))
                            line("idle gallery", times, took, None)
                        before = len(gallery.references("nike"))
                        work = (partial(gallery.import_index, extra, brand="nike")
                                if where == "in this process" else partial(import_elsewhere,
                                                                           copy, extra))
                        times, took = officers_while(gallery, queries, args.officers, work)
                        line(f"during the import, {mode}", times, took,
                             len(gallery.references("nike")) - before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
