#!/usr/bin/env python3
"""The postgres store (plugins/postgres, pgvector) vs huisou's sqlite-vec store on the same vectors.

Both stores get the same N CLIP-like 512-d unit vectors (the generator of
``benchmarks/search.py``) and the same text-like queries, written the way the indexer writes:
batches of 1000. Measured per store:

- **insert**: seconds to write all vectors (sqlite-vec: 1000 per BEGIN IMMEDIATE/COMMIT on the
  catalog connection, plus the one-off sidecar index build; postgres: the store's own
  ``COPY`` + ``INSERT … ON CONFLICT`` transactions, without an index);
- **index build**: the HNSW variant then reopens the store with ``index = "hnsw"``, which builds
  the graph over the loaded table in one pass (how a large library switches HNSW on);
- **KNN**: median milliseconds of ``store.search(query, k=20)`` over the queries, warm;
- **recall@20** against exact float search;
- **filtered KNN / recall**: the same with ``candidates`` = a fixed 10% of the ids (what the
  catalog hands over for a date/folder/camera filter), against the exact top-k inside them.

The PostgreSQL server is the ``pgserver`` wheel (PostgreSQL + pgvector) on a Unix socket in a
temporary directory, or ``HUISOU_PG_DSN``. Both run on this machine, so the pgvector numbers
include a local socket round trip per query but no network.

Usage::

    python benchmarks/pgvector.py                    # 10k and 50k vectors
    python benchmarks/pgvector.py --smoke            # 1000 vectors, seconds (the test suite)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Timer, median, print_table, time_calls, write_json  # noqa: E402
from search import DIMS, K, clip_like, exact_topk, recall  # noqa: E402


def start_server() -> tuple[str, object | None, str | None]:
    dsn = os.environ.get("HUISOU_PG_DSN")
    if dsn:
        return dsn, None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    base = tempfile.mkdtemp(prefix="huisou-pgb-")
    server = pgserver.get_server(os.path.join(base, "data"), cleanup_mode="delete")
    return server.get_uri(), server, base


def bench_sqlite_vec(folder: Path, matrix, queries, truth, filtered) -> dict:
    from huisou.core import db
    from huisou.core.interfaces import StoreLocation
    from huisou.plugins.clip_search.stores import SqliteVecStore

    lib = str(folder / "library.db")
    conn = db.connect(lib)
    store = SqliteVecStore(StoreLocation(lib, "bench", DIMS, connection=conn))
    ids = list(range(1, len(matrix) + 1))
    with Timer() as t:
        for start in range(0, len(ids), 1000):
            conn.execute("BEGIN IMMEDIATE")
            store.upsert(ids[start:start + 1000], matrix[start:start + 1000])
            conn.execute("COMMIT")
        store.refresh()
    try:
        return {**_measure(store, t.seconds, queries, truth, filtered), "index_build_s": 0.0}
    finally:
        store.close()
        conn.close()


def bench_pgvector(dsn: str, matrix, queries, truth, filtered, index: str) -> dict:
    """Write with exact search, then (for ``hnsw``) reopen with the index: pgvector builds the
    graph in one pass over the table, much faster than row by row during the inserts."""
    from huisou.core.interfaces import StoreLocation
    from huisou.core.plugins import PluginHost

    cls = PluginHost(load_entry_points=False).get_store_class("postgres")
    namespace = f"bench_{index}_{uuid.uuid4().hex[:8]}"
    store = cls(StoreLocation("/unused.db", namespace, DIMS, options={"dsn": dsn}))
    ids = list(range(1, len(matrix) + 1))
    with Timer() as t:
        for start in range(0, len(ids), 1000):
            store.upsert(ids[start:start + 1000], matrix[start:start + 1000])
    build_s = 0.0
    if index == "hnsw":
        store.close()
        with Timer() as built:
            store = cls(StoreLocation("/unused.db", namespace, DIMS,
                                      options={"dsn": dsn, "index": index}))
        build_s = built.seconds
    try:
        return {**_measure(store, t.seconds, queries, truth, filtered), "index_build_s": build_s}
    finally:
        store._conn.execute(f"DROP TABLE IF EXISTS {store.table}")
        store.close()


def filtered_case(matrix, queries, fraction: float = 0.1):
    """A data-model filter as the catalog hands it over: a fixed ``fraction`` of the ids (as a
    date or camera filter would select), with the exact top-k inside them."""
    import numpy as np

    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(len(matrix), size=max(K, int(len(matrix) * fraction)),
                              replace=False))
    truth = exact_topk(matrix[rows], queries)
    return (rows + 1).tolist(), rows[truth] + 1


def _measure(store, insert_s: float, queries, truth, filtered) -> dict:
    candidates, filtered_truth = filtered
    found = [[i for i, _ in store.search(q, K)] for q in queries]
    it = iter(list(queries) * 2)
    times = time_calls(lambda: store.search(next(it), K), repeat=len(queries), warmup=1)
    found_f = [[i for i, _ in store.search(q, K, candidates)] for q in queries]
    it_f = iter(list(queries) * 2)
    times_f = time_calls(lambda: store.search(next(it_f), K, candidates),
                         repeat=len(queries), warmup=1)
    return {"insert_s": insert_s, "knn_median_ms": median(times) * 1000,
            "recall_at_20": recall(found, truth),
            "filtered_knn_median_ms": median(times_f) * 1000,
            "filtered_recall_at_20": recall(found_f, filtered_truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--smoke", action="store_true",
                        help="1000 vectors, 10 queries: seconds; what the test suite runs")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.queries = "1000", 10
    sizes = [int(s) for s in args.sizes.split(",")]
    dsn, server, base = start_server()
    results: dict = {"k": K, "dims": DIMS, "queries": args.queries, "sizes": {}}
    rows = []
    try:
        for n in sizes:
            matrix, queries = clip_like(n, args.queries)
            truth = exact_topk(matrix, queries) + 1  # rows are 0-based, store ids 1-based
            filtered = filtered_case(matrix, queries)
            folder = Path(tempfile.mkdtemp(prefix="huisou-pgb-lite-"))
            try:
                per = {
                    "sqlite-vec": bench_sqlite_vec(folder, matrix, queries, truth, filtered),
                    "postgres (exact)": bench_pgvector(dsn, matrix, queries, truth, filtered,
                                                       "none"),
                    "postgres (hnsw)": bench_pgvector(dsn, matrix, queries, truth, filtered,
                                                      "hnsw"),
                }
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            results["sizes"][n] = per
            for name, r in per.items():
                rows.append([n, name, n / r["insert_s"], r["index_build_s"],
                             r["knn_median_ms"], r["recall_at_20"], r["filtered_knn_median_ms"],
                             r["filtered_recall_at_20"]])
    finally:
        if server is not None:
            server.cleanup()
            shutil.rmtree(base, ignore_errors=True)
    print_table(["N", "store", "insert vectors/s", "index build s", "KNN median ms",
                 "recall@20", "10% filter KNN ms", "filtered recall@20"], rows,
                title=f"postgres vs sqlite-vec, {DIMS}-d, k={K}, {args.queries} queries")
    name = "pgvector-smoke" if args.smoke else "pgvector"
    print(f"\nwrote {write_json(name, results)}")


if __name__ == "__main__":
    main()
