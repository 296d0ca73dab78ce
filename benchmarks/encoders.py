#!/usr/bin/env python3
"""Encoder speed and memory of the ``onnx-clip`` backend: what indexing and searching cost.

Each measurement runs in a fresh child process so peak RSS (``VmHWM``) belongs to that path
alone:

- ``index``: the image tower only (what ``huisou index`` loads): session load time, photos/s
  at batch 16 on prepared 224 px inputs, peak RSS;
- ``search``: the text tower only (what ``huisou search`` loads): load time, median ms per
  query, peak RSS;
- ``both``: both towers at once, for comparison (what a backend that loads everything costs).

The child asserts the lifecycle it measures (``sessions_loaded()``), so the numbers also show
that searching never holds the image tower and indexing never holds the text tower.

Models: ``ViT-B-32-random`` from ``~/.cache/huisou-bench/models`` (``benchmarks/bench_models.py``
builds it, fp32 + int8) and the repo's ``tiny_clip``. Writes ``benchmarks/out/encoders.json``.
Usage: ``python benchmarks/encoders.py [--models ViT-B-32-random] [--threads 2] [--smoke]``
(``--smoke``: the committed tiny model, 8 images; ``HUISOU_BENCH_OUT`` overrides the folder).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("HUISOU_BENCH_OUT") or REPO / "benchmarks" / "out")
CACHE = Path(os.environ.get("HUISOU_BENCH_CACHE") or Path.home() / ".cache" / "huisou-bench")
QUERIES = ["a dog on a beach at sunset", "receipt", "mountain road with green trees",
           "two people hugging at a wedding", "my passport", "a red car parked on a street",
           "snowy forest", "birthday cake with candles", "a cat on a sofa", "city at night"]


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB, from /proc."""
    values = {}
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(("VmRSS", "VmHWM")):
                key, rest = line.split(":", 1)
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def child(mode: str, model: str, precision: str, threads: int, images: int) -> dict:
    import numpy as np
    from huisou.plugins.clip_search.backend import OnnxClipBackend

    backend = OnnxClipBackend(model, precision=precision, threads=threads)
    size = backend.image_size
    rng = np.random.default_rng(0)
    prepared = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(images)]
    base_rss, _ = _rss_mb()
    result: dict = {"mode": mode, "precision": backend.precision, "base_rss_mb": base_rss}
    if mode in ("index", "both"):
        started = time.perf_counter()
        backend.embed_images(prepared[:1])
        result["image_load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(0, len(prepared), 16):
            backend.embed_images(prepared[i:i + 16])
        result["img_per_s"] = len(prepared) / (time.perf_counter() - started)
    if mode in ("search", "both"):
        started = time.perf_counter()
        backend.embed_texts([QUERIES[0]])
        result["text_load_s"] = time.perf_counter() - started
        times = []
        for query in QUERIES * 2:
            started = time.perf_counter()
            backend.embed_texts([query])
            times.append((time.perf_counter() - started) * 1000)
        result["text_ms"] = statistics.median(times)
    result["sessions"] = sorted(backend.sessions_loaded())
    expected = {"index": ["image"], "search": ["text"], "both": ["image", "text"]}[mode]
    assert result["sessions"] == expected, result["sessions"]
    result["rss_mb"], result["peak_rss_mb"] = _rss_mb()
    backend.release()
    result["rss_after_release_mb"] = _rss_mb()[0]
    return result


def run_child(mode: str, model: str, precision: str, threads: int, images: int) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, model, precision, str(threads), str(images)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        return {"mode": mode, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, model, precision, threads, images = sys.argv[2:7]
        print(json.dumps(child(mode, model, precision, int(threads), int(images))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="ViT-B-32-random,tiny_clip")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--smoke", action="store_true", help="committed tiny model, 8 images")
    parser.add_argument("--out", default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    if args.smoke:
        args.models, args.images = "tiny_clip", 8
    args.out = args.out or str(OUT / ("encoders-smoke.json" if args.smoke else "encoders.json"))
    rows = []
    print(f"{'model':18} {'prec':5} {'mode':7} {'load s':>7} {'img/s':>7} {'text ms':>8} "
          f"{'peak RSS MB':>11} {'after release':>13}")
    for name in args.models.split(","):
        path = REPO / "tests" / "models" / name
        if not path.is_dir():
            path = CACHE / "models" / name
        if not (path / "config.json").is_file():
            print(f"{name}: not found at {path} (benchmarks/bench_models.py builds it)",
                  file=sys.stderr)
            continue
        has_int8 = (path / "visual" / "model_int8.onnx").is_file()
        for precision in ("fp32", "int8") if has_int8 else ("fp32",):
            for mode in ("index", "search", "both"):
                row = {"model": name, **run_child(mode, str(path), precision, args.threads,
                                                  args.images)}
                rows.append(row)
                if "error" in row:
                    print(f"{name:18} {precision:5} {mode:7} error: {row['error']}")
                    continue
                load = row.get("image_load_s", 0) + row.get("text_load_s", 0)
                ips = f"{row['img_per_s']:7.1f}" if "img_per_s" in row else "      -"
                tms = f"{row['text_ms']:8.1f}" if "text_ms" in row else "       -"
                print(f"{name:18} {precision:5} {mode:7} {load:7.2f} {ips} {tms} "
                      f"{row['peak_rss_mb']:11.0f} {row['rss_after_release_mb']:13.0f}",
                      flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cpus": os.cpu_count(), "threads": args.threads,
                                          "rows": rows}, indent=1), encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
