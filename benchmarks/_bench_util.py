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
