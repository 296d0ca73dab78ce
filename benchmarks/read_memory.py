#!/usr/bin/env python3
"""Peak memory of ``huisou index`` over huge photos: photo bytes are bounded per run, not per thread.

Makes N photos of S MiB each (a small JPEG whose sparse tail makes every read return S MiB
while the disk holds almost nothing), a ``HUISOU_HOME`` with the fake backend and a metadata
extractor that sleeps 0.3 s per photo (so decode threads hold their photos at the same time),
and indexes the same folder with ``--threads 1`` and ``--threads 8``, each into a fresh
library, side by side. The 8-thread run may hold at most the read budget
(``huisou.core.index_jobs.READ_BUDGET``, 256 MiB) of photo bytes, so its peak RSS exceeds the
1-thread run's by less than the budget; with only a cap per file each thread held its own
photo (8 x 256 MiB reached 2 GB).

Prints a Markdown table and writes ``benchmarks/out/read_memory.json`` (``HUISOU_BENCH_OUT``
overrides; ``read_memory-smoke.json`` for ``--smoke``).

Usage::

    python benchmarks/read_memory.py                  # 6 photos of 120 MiB
    python benchmarks/read_memory.py --photos 8 --mib 200
    python benchmarks/read_memory.py --smoke          # 4 photos of 8 MiB, for CI
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _bench_util import huisou_env  # noqa: E402
from common import print_table, run_child, write_json  # noqa: E402

SLOW_EXTRACTOR = '''\
import time
from huisou import hookimpl
from huisou.core.interfaces import MetadataExtractor
from huisou.testing.fakes import register_embedding_backends  # noqa: F401


class Slow(MetadataExtractor):
    """Holds each photo's bytes for a while, as a slow decoder would."""

    name = "slow"

    def extract(self, item, fp):
        time.sleep(0.3)
        return {}


@hookimpl
def register_metadata_extractors(register):
    register(Slow())
'''


def make_photos(folder: Path, count: int, mib: int) -> None:
    """``count`` distinct JPEGs of ``mib`` MiB each (a tiny image, then a sparse tail)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 24), (30 * i % 256, 90, 160)).save(buffer, "JPEG")
        path = folder / f"big{i:02d}.jpg"
        path.write_bytes(buffer.getvalue())
        with open(path, "r+b") as fh:
            fh.truncate(mib << 20)


def make_home(home: Path) -> Path:
    plugins = home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "slow.py").write_text(SLOW_EXTRACTOR)
    (home / "config.toml").write_text(
        f'backend = "fake"\nstore = "numpy"\nbatch_size = 8\nplugins_dir = "{plugins}"\n'
    )
    return home


def peak_mb(photos: Path, threads: int, work: Path) -> float:
    """Peak RSS (MB) of one ``huisou index`` of ``photos`` into a fresh library."""
    home = make_home(work / f"home-{threads}")
    cmd = [sys.executable, "-m", "huisou", "index", str(photos), "--threads", str(threads)]
    run = run_child(cmd, env=huisou_env(home), timeout=600)
    if run.returncode != 0 or "Traceback" in run.stderr:
        raise RuntimeError(f"huisou index failed ({run.returncode}): {run.stderr[-800:]}")
    return run.peak_rss_mb


def measure(count: int, mib: int, work: Path) -> dict[str, float]:
    photos = work / "photos"
    make_photos(photos, count, mib)
    one, eight = peak_mb(photos, 1, work), peak_mb(photos, 8, work)
    return {"photos": count, "photo_mib": mib, "peak_mb_1_thread": round(one, 1),
            "peak_mb_8_threads": round(eight, 1), "extra_mb_8_threads": round(eight - one, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--mib", type=int, default=120)
    parser.add_argument("--smoke", action="store_true", help="4 photos of 8 MiB")
    args = parser.parse_args(argv)
    count, mib = (4, 8) if args.smoke else (args.photos, args.mib)
    with tempfile.TemporaryDirectory(prefix="huisou-read-memory-") as tmp:
        result = measure(count, mib, Path(tmp))
    from huisou.core.index_jobs import READ_BUDGET

    result["read_budget_mib"] = READ_BUDGET >> 20
    print_table(list(result), [list(result.values())], title="read_memory")
    write_json("read_memory-smoke" if args.smoke else "read_memory", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
