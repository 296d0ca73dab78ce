"""What the indexing/startup benchmarks need beyond ``common.py`` (the suite's shared helpers).

Re-exports the shared helpers (medians, child-process measurement via ``wait4``, JSON output,
Markdown tables, the cache directory) so these scripts have one import line, and adds the
few things only they use: the committed test models and a child environment for huisou.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import (  # noqa: F401  (re-exported)
    BENCH_DIR,
    REPO,
    ChildRun,
    cache_dir,
    machine,
    median,
    print_table,
    write_json,
)

TEST_MODELS = REPO / "tests" / "models"


def huisou_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a ``huisou`` child: its own ``HUISOU_HOME`` (database, config, models),
    so no run sees another's library or the user's config."""
    env = dict(os.environ)
    env["HUISOU_HOME"] = str(home)
    env.pop("HUISOU_CONFIG", None)
    env.update(extra)
    return env


def cores_available(seconds: float = 1.0) -> float:
    """How many cores this machine gives us right now: ``nproc`` busy loops for ``seconds``,
    their CPU time over the wall time. Close to ``nproc`` on a quiet machine; on a shared one
    (other jobs, a throttled VM) it says how much to trust wall-clock numbers of this run."""
    import subprocess
    import sys
    import time

    count = os.cpu_count() or 1
    code = f"import time\nt=time.perf_counter()\nwhile time.perf_counter()-t<{seconds}: pass"
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-S", "-c", code]) for _ in range(count)]
    cpu = 0.0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
    return round(cpu / (time.perf_counter() - start), 2)


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None,
              timeout: float = 900.0) -> ChildRun:
    """Like ``common.run_child`` (wall, CPU via ``wait4``), but the peak RSS is the child's own.

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
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env, text=True)
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
