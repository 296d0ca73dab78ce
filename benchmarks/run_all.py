#!/usr/bin/env python3
"""Run every benchmark script of the suite, one process each, and summarise.

Every ``benchmarks/*.py`` that is a script (not ``_private``, not ``common.py``, not this file)
is run in a known order, scripts added later are picked up automatically. With ``--smoke``
each runs its smoke mode (tiny sizes, seconds: what CI does); a script without a smoke mode is
reported as skipped, not run at full size by surprise.

    python benchmarks/run_all.py --smoke            # CI-sized, about a minute
    python benchmarks/run_all.py                    # the full suite (tens of minutes)
    python benchmarks/run_all.py --only indexing,startup
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _bench_util import print_table, write_json  # noqa: E402

#: Known scripts first (models and photos before the benchmarks that use them).
ORDER = ("bench_models", "photos", "startup", "indexing", "rescan", "search", "quantization",
         "encoders", "pgvector", "tui_latency")
NOT_SCRIPTS = {"common", "run_all"}


def scripts() -> list[Path]:
    """The suite's scripts, known ones in ``ORDER`` then any others alphabetically."""
    found = {p.stem: p for p in BENCH.glob("*.py")
             if not p.stem.startswith("_") and p.stem not in NOT_SCRIPTS}
    known = [found.pop(name) for name in ORDER if name in found]
    return known + [found[name] for name in sorted(found)]


def has_smoke(path: Path) -> bool:
    """Whether the script declares a ``--smoke`` option (read, not imported)."""
    return re.search(r"""["']--smoke["']""", path.read_text(encoding="utf-8")) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="each script's smoke mode")
    parser.add_argument("--only", help="comma list of script names (without .py)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script")
    args = parser.parse_args(argv)
    chosen = scripts()
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [p for p in chosen if p.stem in wanted]
    timeout = args.timeout or (300.0 if args.smoke else 7200.0)
    rows, results = [], {}
    for path in chosen:
        if args.smoke and not has_smoke(path):
            rows.append([path.name, "skipped", 0.0, "no --smoke mode"])
            results[path.stem] = {"status": "skipped", "reason": "no --smoke mode"}
            continue
        cmd = [sys.executable, str(path)] + (["--smoke"] if args.smoke else [])
        print(f"== {' '.join(cmd)}", flush=True)
        started = time.perf_counter()
        try:
            proc = subprocess.run(cmd, timeout=timeout)
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            status = f"timeout after {timeout:.0f}s"
        seconds = time.perf_counter() - started
        rows.append([path.name, status, seconds, ""])
        results[path.stem] = {"status": status, "seconds": round(seconds, 1)}
    print_table(["script", "status", "seconds", "note"], rows,
                title="run_all" + (" --smoke" if args.smoke else ""))
    write_json("run_all-smoke" if args.smoke else "run_all", {"scripts": results})
    return 0 if all(r["status"] in ("ok", "skipped") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
