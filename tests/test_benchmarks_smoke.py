"""Every benchmark script runs in its smoke mode, so the suite cannot rot unnoticed.

Each script in ``benchmarks/`` runs as its own process with ``--smoke`` (tiny sizes, the
committed test models, no torch, no network) with its cache and output directories in a temp
folder, and must exit 0 and write a parseable JSON result. Scripts that only prepare inputs
(models, photos) must print the directory they made, and it must hold what it should.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))
try:
    import run_all  # noqa: E402  (the suite's own list of scripts)
finally:
    sys.path.remove(str(BENCH))

SCRIPTS = run_all.scripts()
#: Smoke runs known to take more than ~10 s on a 2-core machine.
SLOW = {"search", "quantization"}


@pytest.fixture(scope="module")
def bench_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module: the smoke model and photos are made once."""
    return tmp_path_factory.mktemp("bench-cache")


def _run(script: Path, cache: Path, out: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HUISOU_BENCH_CACHE=str(cache), HUISOU_BENCH_OUT=str(out),
               HUISOU_HOME=str(home))
    env.pop("HUISOU_CONFIG", None)
    return subprocess.run([sys.executable, str(script), "--smoke"], capture_output=True,
                          text=True, env=env, timeout=300, cwd=str(REPO))


@pytest.mark.parametrize(
    "script",
    [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in SLOW else [])
     for p in SCRIPTS],
)
def test_smoke(script: Path, bench_cache: Path, tmp_path: Path) -> None:
    if not run_all.has_smoke(script):
        pytest.skip(f"{script.name} has no --smoke mode yet")
    out = tmp_path / "out"
    proc = _run(script, bench_cache, out, tmp_path / "home")
    assert proc.returncode == 0, f"{script.name} --smoke failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    last = proc.stdout.strip().splitlines()[-1]
    if script.stem == "bench_models":
        made = Path(last)
        assert str(made).startswith(str(bench_cache)), last
        assert (made / "visual" / "model_int8.onnx").is_file()
        assert (made / "textual" / "model_int8.onnx").is_file()
        return
    if script.stem == "photos":
        made = Path(json.loads(last)["folder"])
        assert str(made).startswith(str(bench_cache)), last
        assert len(list(made.glob("*.jpg"))) == 8
        return
    written = sorted(out.glob("*.json"))
    assert written, f"{script.name} --smoke wrote no JSON to {out}:\n{proc.stdout[-2000:]}"
    for path in written:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict) and data, path
    if script.stem == "indexing":
        _check_indexing(json.loads((out / "indexing-smoke.json").read_text(encoding="utf-8")))


def _check_indexing(data: dict) -> None:
    """The indexing smoke run really indexed the photos with huisou and with the baseline."""
    variants = data["sets"]["smoke"]["variants"]
    for name in ("huisou-int8", "huisou-fp32", "baseline"):
        assert variants[name]["ok"], variants[name]
        assert variants[name]["photos_per_s"] > 0
        assert variants[name]["peak_rss_mb"] > 10
    ceiling = data["sets"]["smoke"]["ceiling"]
    assert ceiling["decode_cpu_s"] > 0 and ceiling["encoder_cpu_s"] > 0
    assert data["targets"]["speedup_vs_baseline"]["value"] > 0
