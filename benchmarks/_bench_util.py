"""What the indexing/startup benchmarks need beyond ``common.py`` (the suite's shared helpers).

Re-exports the shared helpers (medians, child-process measurement via ``wait4``, JSON output,
Markdown tables, the cache directory) so these scripts have one import line, and adds the
few things only they use: the committed test models and a child environment for huisou.
"""

from __future__ import annotations

import os
from pathlib import Path

from common import (  # noqa: F401  (re-exported)
    BENCH_DIR,
    REPO,
    ChildRun,
    cache_dir,
    machine,
    median,
    print_table,
    run_child,
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




