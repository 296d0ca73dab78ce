#!/usr/bin/env python3
"""What search signals cost per search, next to the store's KNN search (issue 13 item 5).

A library of N photos (default 100k) is written straight into a catalog: phone and camera file
names (``IMG_4821.jpg``, ``20230315_142311.jpg``, ``DSC05523.JPG``), ~1000 folders below the
source root (``2019/Beach Trip``...), and on 20 % of the photos a full-text field ``ocr_text``
(Chinese and English receipts, signs, notes), plus CLIP-like 512-d vectors in the numpy store
(benchmarks/search.py's recipe). Then, per query, medians over repeats, warm:

- **store KNN**: ``store.search(vector, 64)``, what every search does first (Searcher asks
  for max(top, 64) for the adaptive cutoff);
- **text signal**: the built-in signal's ``match`` (names, folders, ``ocr_text``);
- **folder list**: the text signal reads the library's folders once per process and catalog
  change (the first search of a ``huisou search`` process pays it);
- **search adds**: what a search does beyond the KNN when signals are installed — the signal,
  the store search over the photos only signals found, and the fusion (``core.signals``,
  ``core.fusion``: the calls ``Searcher.search`` makes).

Target: a few ms, never more than the store search. Writes ``benchmarks/out/signals.json``.

Usage::

    python benchmarks/signals.py                # 100k photos (~1 min to build)
    python benchmarks/signals.py --size 10000
    python benchmarks/signals.py --smoke        # seconds; what CI runs
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cache_dir, median, print_table, time_calls, write_json  # noqa: E402
from search import DIMS, NAMESPACE, clip_like  # noqa: E402

QUERIES = (
    ("file name", "IMG_4821"),
    ("folder", "beach trip"),
    ("OCR, Chinese (4 chars)", "增值税发票"),
    ("OCR, Chinese (2 chars: scan)", "合同"),
    ("OCR, English word", "invoice"),
    ("words, no match", "sunset over the mountains"),
)
TEXTS = ("增值税专用发票 No.{n} 金额 ¥{m}.00", "Wi-Fi password: sunflower{n}", "INVOICE #{n} total {m} EUR",
         "出口 EXIT 停车场 {n}", "劳动合同 第{n}条", "Meeting notes {n}: budget review")
PLACES = ("Beach Trip", "Birthday", "Paris", "北京", "Hiking", "Wedding", "Receipts", "Garden")
LIMIT = 64


def build(folder: Path, n: int) -> Path:
    """A catalog of ``n`` photos with names, folders, ``ocr_text`` values and vectors."""
    import numpy as np
    from huisou.core import field_store
    from huisou.core.catalog import Catalog
    from huisou.core.fields import declare
    from huisou.core.interfaces import StoreLocation
    from huisou.plugins.clip_search.stores import NumpyVectorStore

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    path = folder / "library.db"
    catalog = Catalog(path)
    conn = catalog.conn
    root = "/photos"
    source = catalog.add_source("folder", root)
    rng = np.random.default_rng(3)
    rows, fields = [], []
    for i in range(1, n + 1):
        year = 2015 + i % 10
        sub = f"{root}/{year}/{PLACES[i % len(PLACES)]} {i % 125}"
        kind = i % 3
        name = (f"IMG_{i % 10000:04d}.jpg", f"{year}0315_{i % 240000:06d}.jpg",
                f"DSC{i % 100000:05d}.JPG")[kind]
        rows.append((i, source, f"{sub}/{i}-{name}", sub, name, 1000, 0, "indexed", 0.0))
        if rng.random() < 0.2:
            text = TEXTS[i % len(TEXTS)].format(n=i, m=int(rng.integers(10, 9999)))
            fields.append((i, text))
    ocr = declare("ocr_text", "text", "Text read from the photo", fulltext=True, owner="bench")
    with catalog.transaction():
        conn.executemany("INSERT INTO items (id, source_id, path, folder, name, size, mtime_ns, "
                         "status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("INSERT INTO models (fingerprint, backend, name, dimensions, created_at) "
                     "VALUES (?, 'bench', 'bench', ?, 0)", (NAMESPACE, DIMS))
        conn.executemany("INSERT INTO embeddings (item_id, model) VALUES (?, ?)",
                         [(i, NAMESPACE) for i in range(1, n + 1)])
        field_store.record_declarations(conn, [ocr])
        for item_id, text in fields:
            field_store.replace_values(conn, item_id, {"ocr_text": ("bench", [(text, None)])})
    matrix, _queries = clip_like(n, 1)
    store = NumpyVectorStore(StoreLocation(str(path), NAMESPACE, DIMS, connection=conn))
    ids = list(range(1, n + 1))
    for start in range(0, n, 1000):
        with catalog.transaction():
            store.upsert(ids[start : start + 1000], matrix[start : start + 1000])
    store.close()
    catalog.close()
    return path


def measure(path: Path, repeats: int) -> list[dict]:
    """Median milliseconds per query of the store KNN, the text signal and signals whole."""
    from huisou.core.catalog import Catalog
    from huisou.core.fusion import CLIP, fuse, ranked, weights_for
    from huisou.core.interfaces import SignalQuery, StoreLocation
    from huisou.core.signals import run_signals
    from huisou.plugins.clip_search.stores import NumpyVectorStore
    from huisou.plugins.text_signal.signal import TextSignal, _read_folders

    catalog = Catalog(path, readonly=True)
    store = NumpyVectorStore(StoreLocation(str(path), NAMESPACE, DIMS,
                                           connection=catalog.conn))
    _matrix, vectors = clip_like(1000, len(QUERIES), seed=11)
    signal = TextSignal()
    weights = weights_for({signal.name: signal.weight}, {})

    class Host:  # run_signals reports problems here; a benchmark has none
        def report_once(self, *args: object) -> None:
            raise AssertionError(args)

    def added(text: str, vector, nearest) -> int:
        """What Searcher.search does beyond CLIP's KNN when signals are installed."""
        asked = SignalQuery(text, catalog, None, LIMIT)
        matches = run_signals(Host(), [signal], asked, weights)
        listed = {item_id for item_id, _ in nearest}
        extra = sorted({m.item_id for found in matches.values() for m in found} - listed)
        if extra:
            store.search(vector, len(extra), extra)
        clip = ranked([(item_id, score, None) for item_id, score in nearest])
        return len(fuse({CLIP: clip, **matches}, weights))

    store.search(vectors[0], LIMIT)  # map the sidecar, warm the page cache
    folders = [1000 * t for t in time_calls(lambda: _read_folders(catalog.conn), repeats)]
    out = [{"query": None, "kind": "folder list (once per process and catalog change)",
            "signal_ms": median(folders)}]
    for (label, text), vector in zip(QUERIES, vectors, strict=True):
        found = signal.match(SignalQuery(text, catalog, None, LIMIT))
        nearest = store.search(vector, LIMIT)
        timings: dict[str, list[float]] = {"knn": [], "signal": [], "added": []}
        for _ in range(repeats):  # interleaved, so machine noise hits all three alike
            for key, call in (("knn", lambda v=vector: store.search(v, LIMIT)),
                              ("signal", lambda t=text: signal.match(
                                  SignalQuery(t, catalog, None, LIMIT))),
                              ("added", lambda t=text, v=vector, n=nearest: added(t, v, n))):
                start = time.perf_counter()
                call()
                timings[key].append(time.perf_counter() - start)
        ms = {key: 1000 * median(values) for key, values in timings.items()}
        out.append({"query": text, "kind": label, "matches": len(found),
                    "knn_ms": ms["knn"], "signal_ms": ms["signal"], "added_ms": ms["added"],
                    "added_over_knn": ms["added"] / ms["knn"]})
    store.close()
    catalog.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--smoke", action="store_true", help="2000 photos, 3 repeats")
    parser.add_argument("--keep", action="store_true", help="keep the library afterwards")
    args = parser.parse_args()
    size, repeats = (2000, 3) if args.smoke else (args.size, args.repeats)
    folder = cache_dir("signals", str(size))
    started = time.perf_counter()
    path = build(folder, size)
    built = time.perf_counter() - started
    try:
        rows = measure(path, repeats)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print_table(
        ["query", "kind", "matches", "store KNN ms", "text signal ms", "search adds ms",
         "adds / KNN"],
        [[r["query"], r["kind"], r.get("matches"), r.get("knn_ms"), r["signal_ms"],
          r.get("added_ms"), r.get("added_over_knn")] for r in rows],
        title=f"Search signals at {size} photos (median of {repeats}, warm)",
    )
    written = write_json("signals-smoke" if args.smoke else "signals",
                         {"size": size, "repeats": repeats, "build_s": built, "queries": rows})
    print(f"\nwrote {written}")


if __name__ == "__main__":
    main()
