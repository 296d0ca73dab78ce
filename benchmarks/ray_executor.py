#!/usr/bin/env python3
"""Ray executor vs the local executor on the same photos, and the single writer's own rate.

One run, on this machine:

* **local / ray**: ``python -m huisou index DIR --json --model M --precision int8`` end to end
  (process start to exit) in a fresh ``HUISOU_HOME``, with ``--executor local`` and with
  ``--executor ray --ray-address A`` on a one-node Ray cluster started here with every core
  (``ray start --head --num-cpus=<cores>``, as its own process; connecting, starting the actors
  and loading the model on them are in the time). Runs alternate (local ray, ray local, ...);
  medians and the median of the per-round ratios are reported (target: ray >= 0.75x local).
* **writer**: the writer alone — scan, plan and commit of ``--writer-photos`` files with an
  executor that returns ready vectors without reading anything — photos/s committed. Past this
  rate, adding Ray nodes adds nothing: the projection in RESULTS.md divides it by the rate of
  one node.

    python benchmarks/ray_executor.py                        # 12mp photos, ViT-B-32, 3 rounds
    python benchmarks/ray_executor.py --set phone --count 192 --repeats 5
    python benchmarks/ray_executor.py --smoke                # CI: toy model, few photos
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_models  # noqa: E402
import photos  # noqa: E402
from _bench_util import huisou_env, median, print_table, run_child, write_json  # noqa: E402

TARGET_RATIO = 0.75
TIMEOUT_S = 1800.0


def run_index(folder: Path, model: Path, precision: str, count: int,
              ray_address: str | None) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="huisou-bench-ray-"))
    try:
        cmd = [sys.executable, "-m", "huisou", "index", str(folder), "--json",
               "--model", str(model), "--backend", "onnx-clip", "--precision", precision]
        if ray_address:
            cmd += ["--executor", "ray", "--ray-address", ray_address]
        child = run_child(cmd, env=huisou_env(home), timeout=TIMEOUT_S)
        finished = {}
        for line in child.stdout.splitlines():
            if '"finished"' in line:
                finished = json.loads(line)
        ok = child.returncode == 0 and finished.get("indexed") == count
        return {"ok": ok, "wall_s": round(child.wall, 3),
                "photos_per_s": round(count / child.wall, 3) if ok else None,
                "inner_s": finished.get("seconds"),
                "error": None if ok else (child.stderr or "")[-600:]}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def writer_rate(count: int) -> dict[str, Any]:
    """Photos/s the writer commits when the executor costs nothing (see the module doc)."""
    import numpy as np
    from huisou import hookimpl
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.interfaces import Executor
    from huisou.core.library import Library
    from huisou.core.plugins import PluginHost
    from huisou.core.work import Embedded
    from huisou.testing.fakes import FakeEmbeddingBackend

    class Wide(FakeEmbeddingBackend):
        """ViT-B/32's vector length: the store writes what a real run writes."""

        backend_id = "fake-512"

        @property
        def dimensions(self) -> int:
            return 512

        @property
        def model_fingerprint(self) -> str:
            return "fake-512-v1"

    class WidePlugin:
        @hookimpl
        def register_embedding_backends(self, register):
            register(Wide)

    class Instant(Executor):
        """Ready vectors, nothing read: what remains is the writer's own work."""

        executor_id = "instant"

        def run(self, work, context):
            dims = context.backend.dimensions
            rng = np.random.default_rng(0)
            batch = []
            for item in work:
                vector = rng.standard_normal(dims).astype(np.float32)
                vector /= np.linalg.norm(vector)
                batch.append(Embedded(item.key, f"xxh3:{item.key:016x}", vector, [],
                                      {"width": 4000, "height": 3000, "format": "JPEG"}))
                if len(batch) == context.batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch

    tmp = Path(tempfile.mkdtemp(prefix="huisou-bench-writer-"))
    try:
        root = tmp / "photos"
        for i in range(count):
            sub = root / f"{i // 1000:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"IMG_{i:07d}.jpg").write_bytes(b"")
        host = PluginHost(load_entry_points=False)
        host.register(WidePlugin(), name="wide")
        config = Config(db=str(tmp / "lib.db"), backend="fake-512", store="auto", batch_size=32)
        with Library(config, host) as library:
            library.catalog.add_source("folder", str(root))
            marks: dict[str, float] = {"start": time.monotonic()}
            summary = None
            for event in Indexer(library, executor=Instant()).run():
                if event.name == "scan_finished":
                    marks["scanned"] = time.monotonic()
                summary = event
            marks["end"] = time.monotonic()
            assert summary is not None and summary.indexed == count, summary
            store = library.store.store_id
        commit_s = marks["end"] - marks["scanned"]
        return {"photos": count, "store": store, "dimensions": 512,
                "scan_plan_s": round(marks["scanned"] - marks["start"], 3),
                "commit_s": round(commit_s, 3),
                "commit_photos_per_s": round(count / commit_s, 1)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="12mp")
    parser.add_argument("--count", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arch", default="ViT-B-32")
    parser.add_argument("--writer-photos", type=int, default=20000)
    parser.add_argument("--smoke", action="store_true", help="toy model, few photos (CI)")
    parser.add_argument("--writer-only", action="store_true", help="only the writer's rate")
    args = parser.parse_args(argv)
    from huisou.testing.ray_cluster import LocalRayCluster

    if args.smoke:
        model, precision = bench_models.ensure_smoke(), "int8"
        set_name, count, repeats, writer_photos = "smoke", 8, 1, 500
    else:
        model, precision = bench_models.ensure(args.arch), "int8"
        set_name, count, repeats, writer_photos = args.set, args.count, args.repeats, \
            args.writer_photos
    if args.writer_only:
        writer = writer_rate(writer_photos)
        print(json.dumps(writer))
        write_json("ray-executor-writer", {"writer": writer})
        return 0
    folder = photos.photo_set(set_name, count)
    for path in folder.iterdir():  # warm the page cache so no variant pays the first read
        path.read_bytes()
    cores = os.cpu_count() or 1
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "ray": []}
    with LocalRayCluster(workers=0, head_cpus=cores, timeout=300) as cluster:
        for r in range(repeats):
            order = ["local", "ray"] if r % 2 == 0 else ["ray", "local"]
            for variant in order:
                address = cluster.address if variant == "ray" else None
                result = run_index(folder, model, precision, count, address)
                runs[variant].append(result)
                print(f"  round {r + 1}/{repeats} {variant}: {result['photos_per_s']} photos/s"
                      f"{'' if result['ok'] else ' FAILED ' + str(result['error'])}",
                      file=sys.stderr, flush=True)
    pairs = [ray["photos_per_s"] / local["photos_per_s"]
             for local, ray in zip(runs["local"], runs["ray"], strict=True)
             if local["ok"] and ray["ok"]]
    summary = {v: median([x["photos_per_s"] for x in rs if x["ok"]]) for v, rs in runs.items()}
    writer = writer_rate(writer_photos)
    ratio = median(pairs) if pairs else None
    print_table(["photos", "executor", "photos/s (median)", "per round"],
                [[f"{count} {set_name}", v, summary[v], [x["photos_per_s"] for x in rs]]
                 for v, rs in runs.items()],
                title=f"Ray executor vs local, one machine ({cores} cores), {model.name}")
    print_table(["files", "store, 512-d", "scan + plan s", "commit s", "writer photos/s"],
                [[writer["photos"], writer["store"], writer["scan_plan_s"], writer["commit_s"],
                  writer["commit_photos_per_s"]]], title="The single writer alone")
    met = ratio is not None and ratio >= TARGET_RATIO
    print(f"ray / local, paired by round: {ratio} (rounds {[round(p, 3) for p in pairs]}) "
          f"vs target {TARGET_RATIO} -> {'met' if met else 'MISSED'}")
    path = write_json("ray-executor-smoke" if args.smoke else "ray-executor", {
        "model": str(model), "set": set_name, "count": count, "repeats": repeats,
        "cores": cores, "runs": runs, "photos_per_s": summary, "ratio_ray_vs_local": ratio,
        "ratio_rounds": pairs, "writer": writer, "target": TARGET_RATIO, "met": met,
    })
    print(f"wrote {path}")
    return 0 if all(x["ok"] for rs in runs.values() for x in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
