#!/usr/bin/env python3
"""Chinese-CLIP ViT-B/16 (real architecture, random weights) in huisou, issue 12's numbers.

Input: a directory written by Chinese-CLIP's deployment script (or by
``scripts/make_cn_clip_test_model.py --arch ViT-B-16 --out DIR``, which exports cn_clip's own
``CLIP`` class exactly as that script does). One run measures:

* **import + quantize**: ``huisou models import chinese-clip DIR`` and ``huisou models
  quantize`` (the measured ``auto`` rule): fp32 and int8 sizes of both towers and the verdict;
* **indexing**, 12 MP photos, side by side and alternating (``indexing.bench_set``): huisou
  ``index --precision int8`` vs the straightforward pipeline (``_straightforward.py``: one
  photo at a time, full decode, no overlap) on the same int8 model, and the machine's ceiling
  for that model measured before and after each huisou run;
* **Chinese search latency**: a fresh process that loads the int8 text tower, tokenizes and
  embeds one Chinese query (what a cold ``huisou search`` adds to the store's own cold query,
  which ``search.py`` measures at 100k photos).

    python benchmarks/chinese_clip.py --export /tmp/cn-vit-b-16 --count 24 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import indexing  # noqa: E402
from _bench_util import cache_dir, huisou_env, median, print_table, run_child, write_json  # noqa: E402

NAME = "cn-vit-b-16-random"
QUERIES = ("美丽的夜空有星星", "我的身份证", "一只cat在草地上")

_TEXT_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from huisou.plugins.clip_search.backend import OnnxClipBackend
backend = OnnxClipBackend(model=sys.argv[1], precision=sys.argv[2], threads=0,
                          models_dir=sys.argv[3])
t1 = time.perf_counter()
backend.embed_texts([sys.argv[4]])
t2 = time.perf_counter()
backend.embed_texts([sys.argv[4] + "的照片"])
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_query_s": t2 - t1, "warm_query_s": t3 - t2}))
"""


def huisou(home: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "huisou", *args], env=huisou_env(home),
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"huisou {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def prepare(export: Path, home: Path) -> tuple[Path, dict[str, Any]]:
    """Import and quantize once (cached under the benchmark cache)."""
    model = home / "models" / NAME
    record_path = model / "quantization.json"
    if not record_path.is_file():
        huisou(home, "models", "import", "chinese-clip", str(export), "--name", NAME, "--force")
        huisou(home, "models", "quantize", NAME, "--json")
    return model, json.loads(record_path.read_text())


def run_straightforward(folder: Path, model: Path, count: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="huisou-bench-plain-"))
    try:
        cmd = [sys.executable, str(BENCH / "_straightforward.py"), str(folder),
               "--model", str(model), "--precision", "int8", "--db", str(tmp / "db.sqlite3")]
        child = run_child(cmd, timeout=indexing.TIMEOUT_S)
        data: dict[str, Any] = {}
        if child.returncode == 0 and child.stdout.strip():
            data = json.loads(child.stdout.strip().splitlines()[-1])
        ok = data.get("stored") == count
        return indexing._result(child, count, ok, inner_seconds=data.get("seconds"),
                                error=None if ok else indexing._error(child, data))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def text_latency(model: Path, repeats: int) -> dict[str, Any]:
    rows = []
    for i in range(repeats):
        query = QUERIES[i % len(QUERIES)]
        child = run_child([sys.executable, "-c", _TEXT_CHILD, str(model), "int8",
                           str(model.parent), query], timeout=600)
        data = json.loads(child.stdout.strip().splitlines()[-1])
        data.update(wall_s=child.wall, peak_rss_mb=child.peak_rss_mb)
        rows.append(data)
    return {key: median([r[key] for r in rows]) for key in rows[0]} | {"runs": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path,
                        help="cn_clip deployment files (*.img.fp32.onnx, *.txt.fp32.onnx, vocab.txt)")
    parser.add_argument("--smoke", action="store_true",
                        help="the committed tiny cn_clip export, 4 small photos (CI)")
    parser.add_argument("--count", type=int, default=24, help="12 MP photos")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ceiling-photos", type=int, default=12)
    args = parser.parse_args(argv)
    photo_set = "12mp"
    if args.smoke:
        args.export = BENCH.parent / "tests" / "models" / "cn_clip_deploy"
        photo_set, args.count, args.repeats, args.ceiling_photos = "smoke", 4, 1, 4
    elif args.export is None:
        parser.error("--export DIR is needed (or --smoke)")
    home = cache_dir() / ("chinese-clip-smoke-home" if args.smoke else "chinese-clip-home")
    model, record = prepare(args.export, home)
    sizes = {tower: {k: round(v / 1e6, 1) for k, v in s.items()}
             for tower, s in record["sizes"].items()}
    print_table(["tower", "fp32 MB", "int8 MB", "min cosine vs fp32"],
                [[t, s["fp32_bytes"], s["int8_bytes"], record["checks"][t]["min_cosine"]]
                 for t, s in sizes.items()],
                title=f"import + quantize ({record['options']['weight_type']}): "
                      f"auto rule recommends int8: {record['recommended']}")
    indexing.run_baseline = run_straightforward  # bench_set's "baseline" = straightforward here
    result = indexing.bench_set(photo_set, args.count, model, ["huisou-int8", "baseline"],
                                args.repeats, args.ceiling_photos, probe_runs=not args.smoke)
    result["variants"]["straightforward-int8"] = result["variants"].pop("baseline")
    rows = [[v, s.get("photos_per_s"), s.get("cpu_s"), s.get("peak_rss_mb")]
            for v, s in result["variants"].items()]
    print_table(["variant", "photos/s (median)", "CPU s", "peak RSS MB"], rows,
                title=f"Indexing {args.count} photos ({photo_set}), Chinese-CLIP int8")
    paired = result.get("ratio_int8_vs_baseline_paired")
    print(f"huisou / straightforward (paired rounds): {paired} {result.get('ratio_int8_vs_baseline_rounds')}")
    print(f"fraction of ceiling: {result.get('fraction_of_ceiling')} "
          f"(rounds {result.get('fraction_of_ceiling_rounds')}, ceiling {result['ceiling'].get('ceiling')})")
    text = text_latency(model, 1 if args.smoke else 3)
    print(f"Chinese query, fresh process, int8 text tower: {text['wall_s']:.2f} s wall "
          f"(imports {text['import_s']:.2f} s, first query incl. session load "
          f"{text['first_query_s']:.2f} s, warm query {text['warm_query_s'] * 1000:.0f} ms), "
          f"peak RSS {text['peak_rss_mb']:.0f} MB")
    path = write_json("chinese-clip-smoke" if args.smoke else "chinese-clip", {"model": str(model), "quantization": record,
                                        "indexing": result, "text_latency": text})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
