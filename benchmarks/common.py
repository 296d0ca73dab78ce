"""Helpers every benchmark script may import: medians, peak memory, child processes, output.

Kept small and dependency-free (no psutil): peak RSS comes from ``/proc/self/status`` (VmHWM)
for the current process and from ``os.wait4`` rusage for a child, which is exact for that one
child even after others ran. Results go to ``benchmarks/out/<name>.json`` (``HUISOU_BENCH_OUT``
overrides) together with the machine and the commit, so a number is never quoted without them.

Usage from a script in ``benchmarks/``::

    from common import Timer, median, peak_rss_mb, print_table, run_child, write_json
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


def median(values: Sequence[float]) -> float:
    """Median (NaN for no values): the statistic every benchmark reports."""
    return float(statistics.median(values)) if values else float("nan")


def time_calls(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    """Seconds per call of ``fn`` over ``repeat`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (VmHWM), in MB; NaN where /proc is absent."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class ChildRun:
    """One finished subprocess: wall seconds, CPU seconds, peak RSS in MB, its output."""

    wall: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The child's last stdout line parsed as JSON (children report results that way)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if self.returncode != 0 or not lines:
            raise RuntimeError(f"benchmark child failed ({self.returncode}): {self.stderr[-800:]}")
        return json.loads(lines[-1])


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None,
              timeout: float = 900.0, cwd: str | None = None) -> ChildRun:
    """Run ``cmd`` to completion: wall time, CPU (``wait4``) and the child's own peak RSS.

    Why: ``ru_maxrss`` from ``wait4`` is not the child's alone. Python starts children with
    ``vfork``, and at ``exec`` Linux folds the high-water mark of the address space the child
    shared with its parent into the child's ``ru_maxrss`` — so every child of a benchmark
    process that once held 500 MB (generating photos or vectors) reports at least 500 MB.
    ``VmHWM`` in ``/proc/<pid>/status`` belongs to the child's own post-exec address space; it is
    sampled every 20 ms (it only grows, so at most the last 20 ms of growth can be missed).
    Falls back to ``ru_maxrss`` where /proc is absent.
    """
    import subprocess
    import sys
    import tempfile
    import threading
    import time

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, text=True, cwd=cwd)
        box: dict[str, int] = {}
        done = threading.Event()
        sampler = threading.Thread(target=_sample_hwm, args=(proc.pid, box, done), daemon=True)
        sampler.start()
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
            done.set()
        wall = time.perf_counter() - start
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        if box.get("hwm_kb"):
            rss = box["hwm_kb"] / 1024
        return ChildRun(wall, usage.ru_utime + usage.ru_stime, rss, proc.returncode,
                        out.read(), err.read())


def _sample_hwm(pid: int, box: dict[str, int], done: Any) -> None:
    path = f"/proc/{pid}/status"
    while not done.is_set():
        try:
            with open(path, encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        box["hwm_kb"] = max(box.get("hwm_kb", 0), int(line.split()[1]))
                        break
        except (OSError, ValueError):
            return  # reaped, or no /proc: keep the last value
        done.wait(0.02)


def machine() -> dict[str, Any]:
    """CPU, cores, RAM, Python and commit: the context a number needs."""
    cpu = platform.processor()
    ram_mb = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")),
                       cpu)
        with open("/proc/meminfo", encoding="utf-8") as fh:
            ram_mb = next((int(ln.split()[1]) // 1024 for ln in fh if ln.startswith("MemTotal")),
                          None)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_mb": ram_mb,
            "python": platform.python_version(), "platform": platform.platform(),
            "commit": commit, "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None}


def write_json(name: str, data: dict[str, Any]) -> Path:
    """Write ``benchmarks/out/<name>.json`` atomically, with machine facts and a timestamp."""
    folder = Path(os.environ.get("HUISOU_BENCH_OUT") or BENCH_DIR / "out")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    payload = {"benchmark": name, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": machine(), **data}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def fmt(value: Any) -> str:
    """Numbers with 3 significant digits below 10, one decimal above; None/NaN as n/a."""
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
    """A Markdown table on stdout, so it pastes straight into ``RESULTS.md``."""
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if title:
        print(f"\n### {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    sys.stdout.flush()


def cache_dir(*parts: str) -> Path:
    """Scratch space outside the repository (``HUISOU_BENCH_CACHE``, else ~/.cache/huisou-bench)."""
    root = os.environ.get("HUISOU_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huisou-bench")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
