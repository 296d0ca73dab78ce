"""Small helpers shared by the indexing/startup benchmarks: cache dir, medians, child
resources, JSON output and table printing.

Why a private module: ``benchmarks/common.py`` belongs to the search benchmark's author; these
scripts keep their own few helpers here so neither blocks the other.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
TEST_MODELS = REPO / "tests" / "models"


def cache_dir() -> Path:
    """Where generated photos and models live: never inside the repository.

    ``HUISOU_BENCH_CACHE`` overrides ``~/.cache/huisou-bench`` (CI points it at a temp dir).
    """
    root = os.environ.get("HUISOU_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huisou-bench"
    )
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


@dataclass
class ChildRun:
    """One subprocess: wall seconds, CPU seconds (user+sys), peak RSS (MB), its stdout."""

    wall: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None,
              cwd: str | None = None, timeout: float | None = None) -> ChildRun:
    """Run a command and measure it with ``os.wait4``: its own rusage, not the parent's.

    ``wait4`` returns the child's ``ru_maxrss`` (KiB on Linux, the VmHWM of that process
    and its waited-for descendants) and user+sys time, exactly for this child even when
    several children were run before.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, text=True
    )
    # communicate() reads the pipes; the process is reaped by wait4 below, not by Popen.
    try:
        out, err = _drain(proc, timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # a hung child must not hang the benchmark: report it as failed
        out, err = "", f"timeout: killed after {timeout}s"
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return ChildRun(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=rss_mb,
        returncode=proc.returncode,
        stdout=out,
        stderr=err,
    )


def _drain(proc: subprocess.Popen[str], timeout: float | None) -> tuple[str, str]:
    """Read stdout/stderr to EOF without reaping the child (so wait4 can)."""
    import threading

    chunks: dict[str, list[str]] = {"out": [], "err": []}

    def pump(stream: Any, key: str) -> None:
        for line in stream:
            chunks[key].append(line)

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True),
    ]
    for t in threads:
        t.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    for t in threads:
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise subprocess.TimeoutExpired(proc.args, timeout or 0)
    return "".join(chunks["out"]), "".join(chunks["err"])


def machine() -> dict[str, Any]:
    """nproc, CPU model, RAM, Python, commit: what RESULTS.md must quote."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram_mb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    ram_mb = int(line.split()[1]) // 1024
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "ram_mb": ram_mb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": git_commit(),
    }


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_json(name: str, data: dict[str, Any], out_dir: Path | None = None) -> Path:
    """``benchmarks/out/<name>.json`` (``HUISOU_BENCH_OUT`` overrides the folder)."""
    folder = Path(out_dir or os.environ.get("HUISOU_BENCH_OUT") or OUT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    data = {"benchmark": name, "machine": machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
            time.gmtime()), **data}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
    """A plain Markdown table on stdout (pastes straight into RESULTS.md)."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    if title:
        print(f"\n### {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    sys.stdout.flush()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return "n/a" if value is None else str(value)


def huisou_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a ``python -m huisou`` child: its own HUISOU_HOME, the repo importable."""
    env = dict(os.environ)
    env["HUISOU_HOME"] = str(home)
    env.pop("HUISOU_CONFIG", None)
    env.update(extra)
    return env
