#!/usr/bin/env python3
"""Ten million vectors on one machine: build, warm KNN, recall and memory of the search index.

Generates N CLIP-like 512-d unit vectors block by block (the recipe of ``search.py``: a shared
offset, clusters of ~100, noise) and streams them into :class:`VectorIndex` exactly as a store
does (floats written to the file, never all in RAM). Three child processes, each measured on
its own (wall time and peak RSS from ``VmHWM``):

- **build**: generate + write the index file (sign bits in RAM, floats on disk);
- **search**: map the file and answer ``--queries`` text-like queries, k=20, each twice (the
  second is the warm time reported);
- **exact**: brute force over the mapped floats, the recall reference (not a search path).

Usage::

    python benchmarks/scale.py                  # 10M (~21 GB disk under the bench cache)
    python benchmarks/scale.py --count 2000000
    python benchmarks/scale.py --smoke          # seconds; what CI runs
    python benchmarks/scale.py --count 3000000 --keep DIR   # build once; reruns only search
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cache_dir, machine, median, print_table, run_child, write_json  # noqa: E402

DIMS = 512
K = 20
BLOCK = 65_536


def _unit(x):
    import numpy as np

    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _space(n: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    common = _unit(rng.standard_normal((1, DIMS), dtype=np.float32))
    centres = _unit(rng.standard_normal((max(10, n // 100), DIMS), dtype=np.float32))
    return common, centres


def chunks(n: int, seed: int):
    """``(ids, vectors)`` blocks of the collection, each block reproducible on its own."""
    import numpy as np

    common, centres = _space(n, seed)
    for number, start in enumerate(range(0, n, BLOCK)):
        stop = min(n, start + BLOCK)
        rng = np.random.default_rng((seed, number))
        labels = rng.integers(0, len(centres), stop - start)
        noise = _unit(rng.standard_normal((stop - start, DIMS), dtype=np.float32))
        yield (np.arange(start + 1, stop + 1, dtype=np.int64),
               _unit(common + 0.8 * centres[labels] + 0.9 * noise).astype(np.float32))


def queries(n: int, count: int, seed: int):
    import numpy as np

    common, centres = _space(n, seed)
    rng = np.random.default_rng((seed, 1_000_003))  # a stream apart from the blocks
    picks = rng.integers(0, len(centres), count)
    return _unit(0.3 * common + 0.5 * centres[picks]
                 + _unit(rng.standard_normal((count, DIMS), dtype=np.float32)))


def child(mode: str, path: str, n: int, count: int, seed: int) -> None:
    """Runs in its own process; prints one JSON line."""
    from huisou.plugins.clip_search.vector_index import VectorIndex

    if mode == "build":
        started = time.perf_counter()
        VectorIndex.build(chunks(n, seed), n, DIMS, 1, path).close()
        print(json.dumps({"seconds": time.perf_counter() - started}))
        return
    index = VectorIndex.load(path, 1, DIMS)
    qs = queries(n, count, seed)
    if mode == "search":
        found, warm = [], []
        for q in qs:
            index.search(q, K)
            started = time.perf_counter()
            ids, _ = index.search(q, K)
            warm.append(time.perf_counter() - started)
            found.append(ids.tolist())
        print(json.dumps({"found": found, "warm_s": warm}))
    else:
        print(json.dumps({"truth": exact(index, qs)}))


def exact(index, qs) -> list[list[int]]:
    import numpy as np

    best = np.zeros((len(qs), 0), np.int64)
    scores = np.zeros((len(qs), 0), np.float32)
    for start in range(0, len(index), BLOCK):
        block = np.asarray(index.floats[start : start + BLOCK]) @ qs.T.astype(np.float32)
        ids = np.broadcast_to(index.ids[start : start + BLOCK][:, None], block.shape)
        best = np.concatenate([best, ids.T], axis=1)
        scores = np.concatenate([scores, block.T], axis=1)
        keep = np.argsort(-scores, axis=1, kind="stable")[:, :K]
        best = np.take_along_axis(best, keep, axis=1)
        scores = np.take_along_axis(scores, keep, axis=1)
    return best.tolist()


def run(n: int, count: int, folder: Path, reuse: bool = False) -> dict:
    path = str(folder / f"scale-{n}.vidx")
    base = [sys.executable, __file__, "--child"]
    args = ["--path", path, "--count", str(n), "--queries", str(count)]
    build = None
    if not (reuse and Path(path).exists()):
        build = run_child([*base, "build", *args], timeout=7200)
        build.json()
    search = run_child([*base, "search", *args], timeout=3600)
    saved = folder / f"truth-{n}-{count}.json"  # exact answers of a kept file (--keep)
    if reuse and saved.exists():
        truth = json.loads(saved.read_text())
    else:
        truth = run_child([*base, "exact", *args], timeout=7200).json()["truth"]
        saved.write_text(json.dumps(truth))
    result = search.json()
    hits = sum(len(set(f) & set(t)) for f, t in zip(result["found"], truth, strict=True))
    warm = sorted(result["warm_s"])
    return {
        "n": n, "queries": count, "file_gb": Path(path).stat().st_size / 1e9,
        "build_s": build.wall if build else None,
        "build_peak_rss_mb": build.peak_rss_mb if build else None,
        "warm_knn_ms": 1000 * median(warm), "warm_knn_p90_ms": 1000 * warm[int(0.9 * (len(warm) - 1))],
        "recall_at_20": hits / (count * K), "search_peak_rss_mb": search.peak_rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (what CI runs)")
    parser.add_argument("--child", choices=["build", "search", "exact"])
    parser.add_argument("--path")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", metavar="DIR", help="build into DIR and keep the file; a "
                        "later run with the same --count searches it again (compare code "
                        "versions on the same vectors without rebuilding)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.count, args.queries, args.seed)
        return
    if args.smoke:
        args.count, args.queries = 50_000, 5
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
        result = run(args.count, args.queries, folder, reuse=True)
    else:
        folder = Path(tempfile.mkdtemp(dir=cache_dir("scale")))
        try:
            result = run(args.count, args.queries, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print_table(
        ["N", "index file (GB)", "build (s)", "build peak RSS (MB)", "warm KNN k=20 (ms)",
         "p90 (ms)", "recall@20", "search peak RSS (MB)"],
        [[result["n"], result["file_gb"], result["build_s"], result["build_peak_rss_mb"],
          result["warm_knn_ms"], result["warm_knn_p90_ms"], result["recall_at_20"],
          result["search_peak_rss_mb"]]],
        title="The search index at scale (CLIP-like 512-d vectors)",
    )
    write_json("scale-smoke" if args.smoke else "scale", {"machine": machine(),
                                                           "args": vars(args), "result": result})


if __name__ == "__main__":
    main()
