#!/usr/bin/env python3
"""Incremental search index: index maintenance after adding photos, delta vs full rebuild.

Before the change log (``plugins/clip_search/layered_index.py``) every write made the sidecar
stale and the next refresh rebuilt it from all N vectors. Now the last sidecar stays the base
and the ids changed since it are searched exactly beside it, until the delta outgrows
``delta_limit(N)`` and the store compacts. This script measures, in one run on one library of
N CLIP-like 512-d vectors in the ``sqlite-vec`` store (written the indexer's way, 1000 per
transaction), alternating the two so machine load hits both alike:

- **maintenance per added batch**: after committing ``--add`` new vectors (default 1000), the
  wall time of ``store.refresh()`` (what ``huisou index`` runs after a run) with the delta,
  and the full rebuild the code before paid at the same state (``VectorIndex.build``);
- the write itself (the upsert transaction, which now also logs the changed ids);
- **warm KNN** k=20 with the delta present, and recall@20 against exact search;
- **first search of a new process's store** (new connection: maps the sidecar, reads the delta);
- the compaction once the delta passes its limit.

Usage::

    python benchmarks/incremental.py                 # 1M vectors (~10 min, ~5 GB disk)
    python benchmarks/incremental.py --count 100000
    python benchmarks/incremental.py --smoke         # seconds; what CI runs
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Timer, cache_dir, machine, median, print_table, write_json  # noqa: E402
from search import DIMS, clip_like, exact_topk, recall  # noqa: E402

NAMESPACE = "bench-incremental"


def open_store(lib: Path):
    from huisou.core import db
    from huisou.core.interfaces import StoreLocation
    from huisou.plugins.clip_search.stores import SqliteVecStore

    conn = db.connect(str(lib))
    return SqliteVecStore(StoreLocation(str(lib), NAMESPACE, DIMS, connection=conn)), conn


def write(conn, store, ids, matrix) -> float:
    """Commit vectors in indexer-sized transactions; seconds taken."""
    with Timer() as t:
        for start in range(0, len(ids), 1000):
            conn.execute("BEGIN IMMEDIATE")
            store.upsert(ids[start : start + 1000], matrix[start : start + 1000])
            conn.execute("COMMIT")
    return t.seconds


def full_rebuild_seconds(store) -> float:
    """What every refresh cost before the change log: all N vectors into a new index."""
    from huisou.plugins.clip_search.vector_index import VectorIndex

    with Timer() as t:
        index = VectorIndex.build(store.scan(), store.count(), DIMS, 0, None)
    index.close()
    return t.seconds


def run(n: int, add: int, rounds: int, queries_n: int, folder: Path) -> dict:
    from huisou.plugins.clip_search.layered_index import delta_limit

    total = n + add * rounds
    matrix, queries = clip_like(total, queries_n, seed=3)
    lib = folder / "library.db"
    store, conn = open_store(lib)
    insert_s = write(conn, store, list(range(1, n + 1)), matrix[:n])
    with Timer() as first:
        store.refresh()
    rows = []
    for r in range(rounds):
        start = n + r * add
        ids = list(range(start + 1, start + add + 1))
        write_s = write(conn, store, ids, matrix[start : start + add])
        with Timer() as delta:
            store.refresh()
        rebuild_s = full_rebuild_seconds(store)
        rows.append({"round": r + 1, "write_s": write_s, "delta_refresh_s": delta.seconds,
                     "full_rebuild_s": rebuild_s,
                     "delta_rows": store.describe()["index_delta"]})
    live = n + add * rounds
    truth = exact_topk(matrix[:live], queries, 20)
    found, latencies = [], []
    for q in queries:
        with Timer() as t:
            hits = store.search(q, 20)
        latencies.append(t.seconds)
        found.append([i - 1 for i, _ in hits])
    reader, rconn = open_store(lib)
    with Timer() as cold:
        reader.search(queries[0], 20)
    reader.close()
    rconn.close()
    # then fill the delta past its limit: the refresh that compacts
    room = delta_limit(n) - store.describe()["index_delta"] + 1
    extra = clip_like(room, 1, seed=4)[0]
    write(conn, store, list(range(live + 1, live + room + 1)), extra)
    with Timer() as compact:
        store.refresh()
    store.close()
    conn.close()
    return {
        "n": n, "add": add, "rounds": rows, "insert_s": insert_s, "first_build_s": first.seconds,
        "delta_refresh_s": median([r["delta_refresh_s"] for r in rows]),
        "full_rebuild_s": median([r["full_rebuild_s"] for r in rows]),
        "write_s": median([r["write_s"] for r in rows]),
        "speedup": median([r["full_rebuild_s"] / r["delta_refresh_s"] for r in rows]),
        "warm_knn_ms": 1000 * median(latencies),
        "recall_at_20": recall(found, truth),
        "new_store_first_search_s": cold.seconds,
        "delta_limit": delta_limit(n), "compaction_s": compact.seconds,
        "queries": len(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--add", type=int, default=1000, help="vectors added per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (what CI runs)")
    parser.add_argument("--keep", action="store_true", help="keep the generated library")
    args = parser.parse_args()
    if args.smoke:
        args.count, args.add, args.rounds, args.queries = 20_000, 100, 2, 5
    folder = Path(tempfile.mkdtemp(dir=cache_dir("incremental")))
    try:
        result = run(args.count, args.add, args.rounds, args.queries, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print_table(
        ["N", "added", "refresh with delta (s)", "full rebuild (s)", "ratio", "write (s)",
         "warm KNN (ms)", "recall@20", "new store, 1st search (s)", "compaction (s)"],
        [[result["n"], result["add"], result["delta_refresh_s"], result["full_rebuild_s"],
          result["speedup"], result["write_s"], result["warm_knn_ms"], result["recall_at_20"],
          result["new_store_first_search_s"], result["compaction_s"]]],
        title="Index maintenance after adding photos (medians over rounds)",
    )
    name = "incremental-smoke" if args.smoke else "incremental"
    write_json(name, {"machine": machine(), "args": vars(args), "result": result})


if __name__ == "__main__":
    main()
