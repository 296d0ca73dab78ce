#!/usr/bin/env python3
"""``--where`` at 100k photos: candidate selection in the catalog, then the vector search.

Builds (once, cached) a library of N photos through core APIs: catalog rows with EXIF-like
metadata (dates over ten years, a camera for 70%, GPS for 30%), a plugin ``rating`` (int
0-5, 80% rated) and ``tags`` (1-3 of 60, some Chinese) stored by ``field_store`` as the indexer
does, and N clustered 512-d unit vectors in the vector store (sqlite-vec when it loads, else
numpy). Then, per expression, medians over ``--repeats`` runs (CPU time of the calling
thread, which runs SQLite and the KNN) of:

- **compile**: parse and type-check the expression (:func:`huisou.core.where.compile_where`);
- **select**: ``Catalog.ids_where`` (the candidate ids, one SQL query);
- **search**: the store's KNN (k=64, what the adaptive cutoff judges) restricted to them;

side by side with the unfiltered KNN of the same query vector, and ``--camera``'s SQL from
before ``--where`` next to the ``camera ~`` it became. Up to 5k photos, one extra row
runs the plugin condition as a correlated ``EXISTS`` per photo instead of the
``IN (SELECT ...)`` that :mod:`huisou.core.where` emits: SQLite plans it as one probe of the
``(field, value)`` index per photo, which grows as photos x matching values.

Usage::

    python benchmarks/where.py                 # 100k photos, 7 repeats
    python benchmarks/where.py --count 20000 --repeats 5
    python benchmarks/where.py --smoke         # 1000 photos, 2 repeats (CI)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cache_dir, median, print_table, write_json  # noqa: E402

DIMS = 512
K = 64
MODEL = "bench-where-512"
#: Largest library the correlated-EXISTS comparison runs on (it takes minutes at 100k).
EXISTS_MAX = 5_000
TAGS = [f"tag{n:02d}" for n in range(52)] + ["family", "beach", "cat", "receipt", "家人",
                                             "海滩", "猫", "发票"]
CAMERAS = [("Canon", "Canon EOS 40D"), ("NIKON", "COOLPIX P1"), ("Apple", "iPhone 12"),
           ("SONY", "ILCE-7M3"), ("Xiaomi", "Redmi Note 8"), ("FUJIFILM", "X-T3")]
EXPRESSIONS = [
    "rating >= 4",
    "rating = 5",
    "tags has family",
    "tags ~ fam",
    "tags ~ 发票",
    "rating >= 3 and tags has beach",
    "taken_at >= 2023-03",
    "taken_at = 2021-07",
    "camera ~ canon",
    "gps near 39.9,116.4,50",
    "gps is null and rating is null",
    "(rating >= 4 or tags has cat) and taken_at >= 2020 and camera ~ iphone",
]


def build(path: Path, count: int, seed: int = 7) -> None:
    """The library at ``path``: items, field values and vectors, written through core APIs."""
    import numpy as np
    from huisou.core import field_store
    from huisou.core.catalog import Catalog
    from huisou.core.fields import coerce, declare

    rating = declare("rating", "int", "Stars", owner="bench")
    tags = declare("tags", "tags", "Keywords", fulltext=True, owner="bench")
    rng = np.random.default_rng(seed)
    catalog = Catalog(path)
    store_id = _open_store(catalog)[1]
    catalog.ensure_model(MODEL, "bench", "bench", DIMS, store_id)
    with catalog.transaction():
        field_store.record_declarations(catalog.conn, [rating, tags])
    for start in range(0, count, 5000):
        with catalog.transaction():
            for n in range(start, min(start + 5000, count)):
                day = int(rng.integers(0, 3650))
                taken = (np.datetime64("2015-01-01T00:00:00") + np.timedelta64(day, "D")
                         + np.timedelta64(int(rng.integers(0, 86400)), "s"))
                make, model = CAMERAS[n % len(CAMERAS)] if rng.random() < 0.7 else (None, None)
                gps = rng.random() < 0.3
                item_id = catalog.upsert_item(
                    source_id=None, path=f"/photos/{n // 1000:03d}/IMG_{n:06d}.jpg",
                    size=3_000_000, mtime_ns=n, status="indexed",
                    metadata={"taken_at": str(taken), "camera_make": make,
                              "camera_model": model, "width": 4000, "height": 3000,
                              "gps_lat": float(rng.uniform(20, 50)) if gps else None,
                              "gps_lon": float(rng.uniform(100, 130)) if gps else None},
                )
                values = {"tags": ("bench", coerce(tags, [
                    TAGS[int(i)] for i in rng.choice(len(TAGS), int(rng.integers(1, 4)),
                                                     replace=False)]))}
                if rng.random() < 0.8:
                    values["rating"] = ("bench", coerce(rating, int(rng.integers(0, 6))))
                field_store.replace_values(catalog.conn, item_id, values)
            catalog.mark_embedded(list(range(start + 1, min(start + 5000, count) + 1)), MODEL)
    store, _ = _open_store(catalog)
    centres = _unit(rng.standard_normal((max(10, count // 100), DIMS)).astype(np.float32))
    for start in range(0, count, 10_000):
        ids = list(range(start + 1, min(start + 10_000, count) + 1))
        picks = centres[rng.integers(0, len(centres), len(ids))]
        vectors = _unit(picks + 0.6 * rng.standard_normal(picks.shape).astype(np.float32))
        store.upsert(ids, vectors)
    store.close()
    catalog.close()


def _unit(x):
    import numpy as np

    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _open_store(catalog):
    """The store huisou would pick (``auto``: sqlite-vec, else numpy) over this catalog."""
    from huisou.core.errors import HuisouError
    from huisou.core.interfaces import StoreLocation
    from huisou.core.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    location = StoreLocation(db_path=catalog.path, namespace=MODEL, dimensions=DIMS,
                             connection=catalog.conn)
    for store_id in ("sqlite-vec", "numpy"):
        try:
            return host.get_store_class(store_id)(location), store_id
        except HuisouError:
            continue
    raise SystemExit("no vector store could be opened")


def measure(path: Path, repeats: int) -> dict:
    import numpy as np
    from huisou.core.catalog import Catalog
    from huisou.core.field_store import recorded_declarations
    from huisou.core.fields import BUILTINS
    from huisou.core.where import Condition, compile_where, known_fields

    catalog = Catalog(path, readonly=True)
    store, store_id = _open_store(catalog)
    fields = known_fields(BUILTINS, recorded_declarations(catalog.conn))
    query = _unit(np.random.default_rng(1).standard_normal((1, DIMS)).astype(np.float32))[0]
    store.search(query, K)  # load the index once, as a warm search process has
    unfiltered = _median_seconds(lambda: store.search(query, K), repeats)
    rows, results = [], []
    exists = Condition("rating >= 4 (correlated EXISTS)",
                       "EXISTS (SELECT 1 FROM field_values v WHERE v.item_id = i.id AND "
                       "v.field = ? AND v.value >= ?)", ("rating", 4))
    old_camera = Condition(
        "camera ~ canon (the SQL of --camera before --where)",
        "(LOWER(COALESCE(i.camera_make, '') || ' ' || COALESCE(i.camera_model, '')) LIKE ?)",
        ("%canon%",))
    cases = [(text, None) for text in EXPRESSIONS] + [(old_camera.text, old_camera)]
    if _count(path) <= EXISTS_MAX:
        cases.append((exists.text, exists))
    for text, given in cases:
        compile_s = _median_seconds(lambda t=text: compile_where(t, fields), repeats) if (
            given is None) else 0.0
        condition = given or compile_where(text, fields)
        ids = catalog.ids_where(MODEL, [condition])
        select_s = _median_seconds(lambda c=condition: catalog.ids_where(MODEL, [c]), repeats)
        search_s = _median_seconds(lambda i=ids: store.search(query, K, i), repeats)
        total = compile_s + select_s + search_s
        results.append({"expression": text, "candidates": len(ids), "compile_ms": compile_s * 1e3,
                        "select_ms": select_s * 1e3, "search_ms": search_s * 1e3,
                        "total_ms": total * 1e3, "vs_unfiltered": total / unfiltered})
        rows.append((text, len(ids), compile_s * 1e3, select_s * 1e3, search_s * 1e3,
                     total * 1e3, total / unfiltered))
    store.close()
    catalog.close()
    print_table(["expression", "candidates", "compile ms", "select ms", "KNN ms", "total ms",
                 "x unfiltered"], rows,
                f"--where at {_count(path)} photos ({store_id}; CPU ms, medians of {repeats}; "
                f"unfiltered KNN k={K}: {unfiltered * 1e3:.1f} ms)")
    return {"store": store_id, "unfiltered_ms": unfiltered * 1e3, "expressions": results}


def _median_seconds(fn, repeats: int) -> float:
    """Median CPU seconds of ``fn`` on this thread (SQLite and the KNN run on it): on a
    shared machine wall time mostly measures the wait for a core."""
    fn()  # warm: SQLite's page cache, numpy's first call
    times = []
    for _ in range(repeats):
        start = time.thread_time()
        fn()
        times.append(time.thread_time() - start)
    return median(times)


def _count(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="1000 photos, 2 repeats")
    args = parser.parse_args(argv)
    if args.smoke:
        args.count, args.repeats = 1000, 2
    path = cache_dir("libraries") / f"where-{args.count}.db"
    if not path.exists() or _count(path) != args.count:
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        started = time.perf_counter()
        build(path, args.count)
        print(f"built {path} in {time.perf_counter() - started:.0f} s", flush=True)
    data = measure(path, args.repeats)
    write_json("where-smoke" if args.smoke else "where", {"count": args.count,
                                                          "repeats": args.repeats, **data})
    return 0


if __name__ == "__main__":
    sys.exit(main())
