#!/usr/bin/env python3
"""How long does ``huisou index`` take over an unchanged tree? (Target: well under 1 s/1000 files.)

Creates N tiny JPEGs (default 10,000) in folders of 250, indexes them once with the fake
colour backend and in-memory store (the model is not what this measures), then times the
re-run over the unchanged tree: catalog load, stat-only scan, diff. Median of ``--repeats``
runs. It also times the scan alone and counts ``open()`` calls on files of the tree during the
re-runs (audit hook): the fast path must open none.

Prints a Markdown table and writes ``benchmarks/out/rescan.json`` (``HUISOU_BENCH_OUT``
overrides; ``rescan-smoke.json`` for ``--smoke``). ``--profile`` prints the top of a cProfile of
one re-run (to tell the source's walk from the core's diff).

Usage::

    python benchmarks/rescan.py                 # 10,000 files
    python benchmarks/rescan.py --files 100000  # the 100k point (a minute to build and index)
    python benchmarks/rescan.py --smoke         # 300 files, for CI
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, print_table, write_json  # noqa: E402

PER_FOLDER = 250

_opened: list[str] = []
_recording = threading.Event()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording.is_set() and event in ("open", "os.open") and args:
        target = args[0]
        if isinstance(target, (str, bytes, os.PathLike)):
            _opened.append(os.fsdecode(target))


def make_tree(root: Path, count: int) -> float:
    """Write ``count`` distinct tiny JPEGs; returns the seconds it took."""
    from PIL import Image

    started = time.perf_counter()
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (120, 80, 40)).save(buf, "JPEG", quality=80)
    base = buf.getvalue()
    for i in range(count):
        folder = root / f"{2000 + i // (PER_FOLDER * 12)}" / f"{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        # bytes after the JPEG's end are ignored by decoders: each file hashes differently
        (folder / f"IMG_{i:06d}.jpg").write_bytes(base + i.to_bytes(4, "big"))
    return time.perf_counter() - started


def open_library(db: Path) -> Any:
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.library import Library
    from huisou.core.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    host.register(fakes, name="fakes")
    return Library(Config(db=str(db), backend="fake", store="memory"), host)


def index_once(library: Any) -> Any:
    from huisou.core.indexer import Indexer

    summary = None
    for event in Indexer(library).run():
        summary = event
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", help="work folder (default: a temp dir, removed afterwards)")
    parser.add_argument("--profile", action="store_true", help="cProfile one re-run")
    parser.add_argument("--smoke", action="store_true", help="300 files: a CI-sized check")
    args = parser.parse_args(argv)
    if args.smoke:
        args.files = 300

    from huisou.plugins.media_sources.folder import FolderSource

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="huisou-rescan-"))
    tree, db = work / "photos", work / "library.db"
    try:
        if tree.exists():
            shutil.rmtree(tree)
        if db.exists():
            db.unlink()
        build_s = make_tree(tree, args.files)
        library = open_library(db)
        root = FolderSource.resolve_root(str(tree))
        library.catalog.add_source("folder", root)
        started = time.perf_counter()
        first = index_once(library)
        first_s = time.perf_counter() - started
        assert first.indexed == args.files, first

        sys.addaudithook(_audit)
        prefix = root + os.sep
        rescans, scans = [], []
        for _ in range(args.repeats):
            _recording.set()
            started = time.perf_counter()
            summary = index_once(library)
            rescans.append(time.perf_counter() - started)
            _recording.clear()
            assert summary.unchanged == args.files and summary.indexed == 0, summary
            started = time.perf_counter()
            seen = sum(1 for _ in FolderSource(root).scan())
            scans.append(time.perf_counter() - started)
            assert seen == args.files
        opened = [p for p in _opened if p.startswith(prefix)]
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(index_once, library)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)
        library.close()
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)

    rescan, scan = median(rescans), median(scans)
    result = {
        "files": args.files,
        "repeats": args.repeats,
        "build_tree_s": round(build_s, 3),
        "first_index_s": round(first_s, 3),
        "rescan_s_median": round(rescan, 4),
        "rescan_s_all": [round(v, 4) for v in rescans],
        "rescan_ms_per_1000": round(1e6 * rescan / args.files, 2),
        "scan_only_s_median": round(scan, 4),
        "scan_only_ms_per_1000": round(1e6 * scan / args.files, 2),
        "files_opened_during_rescans": len(opened),
    }
    print_table(
        ["files", "first index s (fake backend)", f"re-run ms (median of {args.repeats})",
         "re-run ms / 1000 files", "scan alone ms", "scan ms / 1000 files", "files opened"],
        [[args.files, first_s, rescan * 1000, result["rescan_ms_per_1000"], scan * 1000,
          result["scan_only_ms_per_1000"], len(opened)]],
        title="Re-index of an unchanged tree (stat-only fast path)",
    )
    path = write_json("rescan-smoke" if args.smoke else "rescan", result)
    print(f"wrote {path}")
    return 0 if not opened else 1


if __name__ == "__main__":
    sys.exit(main())
