"""The UI stays responsive while a worker indexes: key presses are handled during the run.

Uses the measurement of ``benchmarks/tui_latency.py`` (keys sent through the driver, as from a
terminal; a key counts once its effect is visible) with a CPU-bound fake backend that holds
the GIL part of the time, the worst case for the UI thread. The 100 ms target is a number the
benchmark reports, not an assertion here: CI machines are shared, and a wall-clock threshold
fails on load rather than on a blocked UI. A blocked UI still fails this test: every key must
take effect (within the benchmark's 5 s timeout) while the index screen is still busy.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "tui_latency.py"


def _bench():
    spec = importlib.util.spec_from_file_location("tui_latency_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keys_take_effect_while_indexing() -> None:
    bench = _bench()
    result = asyncio.run(bench.run(photos=200, keys=20, ms_per_batch=40.0))
    assert len(result["indexing"]) >= 10, "indexing finished before enough keys were measured"
    assert result["ticks"][0] >= 2  # the progress view was redrawn while keys were handled
