"""Brand- and product-filtered top-10 search at national scale: pgvector in PostgreSQL against
each app server's in-memory index, in one run. Prints; asserts nothing.

N references over 20 brands of Zipf sizes (as bench_engine.py), 5 products per brand; queries
against the largest brand with the product named (what an inspection searches). Vectors are
clustered like real embeddings (each product a few centres, each photo a noisy copy of one),
not uniform noise, on which no approximate index does well and no real gallery looks like.

For each N: the in-memory search (a float32 matrix product over the product's rows, as
``core/index.py`` does; exact by definition), and pgvector 0.8 HNSW over ``halfvec(1280)``
with cosine distance and iterative scans for the filter, one index over all brands or one per
brand (partial indexes), and exact search in the database (a B-tree on brand and product picks
the rows, every distance computed): build time, index size, p50/p95 per query through psycopg
(a round trip included), recall@10 against exact search, the plan PostgreSQL chose (so a path
that quietly fell back to another is seen), and memory: the vectors an app server holds in
memory for the brand, against what the database holds.

Usage::

    cd bench && ../.venv/bin/python bench_search.py [--sizes 100000,1000000] [--queries 200] \
        [--paths exact,hnsw-brand]   # leave out the slow all-brands HNSW build at 1 M
"""

from __future__ import annotations

import argparse
import struct
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
from bench_engine import Table, brand_sizes, note, percentile, print_machine, section

from ipr_vision.storage.postgres.server import temporary_server

DIM = 1280
BRANDS = 20
PRODUCTS = 5
CENTRES = 40  # per product: models, colourways, angles
NOISE = 0.8  # norm of a photo's noise against its unit centre: cosine to the centre about 0.78
CHUNK = 20_000


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def photos_of(centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A noisy photo of each of ``centres``."""
    noise = rng.standard_normal(centres.shape, dtype=np.float32) * (NOISE / DIM**0.5)
    return unit(centres + noise)


def copy_rows(db: psycopg.Connection, ids: np.ndarray, brand: int, products: np.ndarray,
              vectors: np.ndarray) -> None:
    """COPY in PostgreSQL's binary format: pgvector's halfvec is int16 dim, int16 0, then
    big-endian float16 values (text would be ten times the bytes)."""
    halves = vectors.astype(">f2").tobytes()
    width = DIM * 2
    row_head = struct.pack(">h", 4)
    parts = [b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)]
    for n, (ref_id, product) in enumerate(zip(ids.tolist(), products.tolist(), strict=True)):
        parts.append(row_head + struct.pack(">iqiiii", 8, ref_id, 4, brand, 4, product)
                     + struct.pack(">ihh", 4 + width, DIM, 0) + halves[n * width:(n + 1) * width])
    parts.append(struct.pack(">h", -1))
    with db.cursor().copy("COPY refs (id, brand, product, embedding) FROM STDIN "
                          "(FORMAT BINARY)") as copy:
        copy.write(b"".join(parts))


#: Each database path: the index it builds (one at a time, named refs_path). The per-brand
#: HNSW is a partial index; only the largest brand's is built, the one queried.
PATHS = {
    "exact": "CREATE INDEX refs_path ON refs (brand, product)",
    "hnsw-all": "CREATE INDEX refs_path ON refs USING hnsw (embedding halfvec_cosine_ops) "
                "WITH (m = 16, ef_construction = 64)",
    "hnsw-brand": "CREATE INDEX refs_path ON refs USING hnsw (embedding halfvec_cosine_ops) "
                  "WITH (m = 16, ef_construction = 64) WHERE brand = 0",
}
#: An inspection's search: the brand's and product's 40 nearest, re-ordered to 10 (iterative
#: HNSW scans return candidates roughly in order).
SEARCH = ("SELECT id FROM (SELECT id, embedding <=> %s::halfvec AS d FROM refs "
          "WHERE brand = 0 AND product = %s ORDER BY d LIMIT 40) c ORDER BY d LIMIT 10")


def plan_nodes(plan: list[dict[str, Any]]) -> list[str]:
    """The plan's nodes outermost first, each with the index it scans if any."""
    names, node = [], plan[0]["Plan"] if plan else None
    while node is not None:
        names.append(node["Node Type"] + (f" ({node['Index Name']})"
                                          if "Index Name" in node else ""))
        node = (node.get("Plans") or [None])[0]
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000",
                        help="comma-separated N (1000000 takes a long while on 2 cores)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paths", default=",".join(PATHS),
                        help=f"database paths to measure, of {', '.join(PATHS)}")
    args = parser.parse_args(argv)
    paths = {name: PATHS[name] for name in args.paths.split(",")}
    print_machine(quick=False, title="ipr-vision search: pgvector HNSW against in-memory")
    table = Table(("N refs", 9), ("brand rows", 10), ("product rows", 12), ("path", 16),
                  ("build s", 7), ("MB", 6), ("p50 ms", 7), ("p95 ms", 7), ("recall@10", 9))
    with temporary_server() as (server, _):
        url = server.url
        for total in (int(size) for size in args.sizes.split(",")):
            rng = np.random.default_rng(args.seed)
            with section(f"N = {total:,}"), psycopg.connect(url, autocommit=True) as db:
                db.execute("DROP TABLE IF EXISTS refs")
                db.execute("CREATE EXTENSION IF NOT EXISTS vector")
                db.execute("CREATE TABLE refs (id BIGINT PRIMARY KEY, brand INT NOT NULL, "
                           "product INT NOT NULL, embedding halfvec(1280) NOT NULL)")
                started, next_id = time.perf_counter(), 0
                kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
                for brand, size in enumerate(brand_sizes(total, BRANDS)):
                    centres = unit(rng.standard_normal((PRODUCTS * CENTRES, DIM),
                                                       dtype=np.float32))
                    for first in range(0, size, CHUNK):
                        count = min(CHUNK, size - first)
                        products = rng.integers(0, PRODUCTS, count)
                        picks = rng.integers(0, CENTRES, count) + products * CENTRES
                        vectors = photos_of(centres[picks], rng)
                        ids = np.arange(next_id, next_id + count)
                        copy_rows(db, ids, brand, products, vectors)
                        if brand == 0:  # the largest brand, kept for exact search
                            kept.append((ids, products,
                                         vectors.astype(np.float16).astype(np.float32)))
                        next_id += count
                    if brand == 0:
                        query_centres = centres
                note(f"loaded {total:,} rows in {time.perf_counter() - started:.0f} s")
                ids, products, vectors = (np.concatenate(part) for part in zip(*kept,
                                                                               strict=True))
                queries = rng.integers(0, PRODUCTS, args.queries)
                query_vectors = photos_of(query_centres[rng.integers(0, CENTRES, args.queries)
                                                        + queries * CENTRES], rng)
                exact, memory_ms = [], []
                by_product = {p: (ids[products == p], vectors[products == p])
                              for p in range(PRODUCTS)}
                for product, query in zip(queries.tolist(), query_vectors, strict=True):
                    rows, matrix = by_product[product]
                    start = time.perf_counter()
                    scores = matrix @ query
                    top = np.argpartition(-scores, 10)[:10]
                    top = top[np.argsort(-scores[top])]
                    memory_ms.append((time.perf_counter() - start) * 1000)
                    exact.append(set(rows[top].tolist()))
                product_rows = int(np.mean([len(by_product[p][0]) for p in range(PRODUCTS)]))
                table.row(f"{total:,}", f"{len(ids):,}", f"{product_rows:,}", "in memory",
                          "-", f"{vectors.nbytes / 1e6:,.0f}",
                          f"{percentile(memory_ms, 50):.2f}", f"{percentile(memory_ms, 95):.2f}",
                          "1.000")
                db.execute("SET maintenance_work_mem = '4GB'")
                db.execute("SET hnsw.iterative_scan = relaxed_order")
                db.execute(f"SET hnsw.ef_search = {int(args.ef_search)}")
                for path, index in paths.items():
                    # Left to itself the planner often sorts a sequential scan instead of
                    # using the HNSW index (seen at 20 k and 100 k): HNSW paths forbid that,
                    # so they measure the index, as a deployment choosing it would.
                    db.execute(f"SET enable_seqscan = {'off' if 'hnsw' in path else 'on'}")
                    started = time.perf_counter()
                    db.execute(index)
                    build = time.perf_counter() - started
                    (index_bytes,) = db.execute(
                        "SELECT pg_relation_size('refs_path')").fetchone() or (0,)
                    literals = ["[" + ",".join(f"{v:.5f}" for v in query.tolist()) + "]"
                                for query in query_vectors]
                    plan = db.execute("EXPLAIN (FORMAT JSON) " + SEARCH,
                                      (literals[0], int(queries[0]))).fetchone()
                    note(f"N {total:,}, {path}: PostgreSQL's plan "
                         f"{' > '.join(plan_nodes(plan[0] if plan else []))}")
                    found, database_ms = [], []
                    for product, literal in zip(queries.tolist(), literals, strict=True):
                        start = time.perf_counter()
                        rows = db.execute(SEARCH, (literal, product)).fetchall()
                        database_ms.append((time.perf_counter() - start) * 1000)
                        found.append({row[0] for row in rows})
                    recall = np.mean([len(a & b) / 10
                                      for a, b in zip(found, exact, strict=True)])
                    table.row(f"{total:,}", f"{len(ids):,}", f"{product_rows:,}", path,
                              f"{build:.0f}", f"{index_bytes / 1e6:,.0f}",
                              f"{percentile(database_ms, 50):.2f}",
                              f"{percentile(database_ms, 95):.2f}", f"{recall:.3f}")
                    db.execute("DROP INDEX refs_path")
                db.execute("DROP TABLE refs")
        note("in memory: the largest brand's vectors as an app server holds them (float32), "
             "exact top-10 over the named product's rows; pgvector: an HNSW index over every "
             "brand, or a partial one over the largest brand (sequential scans off), brand and "
             "product filtered with iterative scans, "
             f"ef_search {args.ef_search}, 40 candidates re-ordered to 10; exact: a B-tree on "
             "(brand, product), every distance of the product's rows; ms include the "
             "round trip.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
