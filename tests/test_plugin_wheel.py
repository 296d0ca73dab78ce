"""The plugin authors' kit ships in huisou's wheel: ``huisou.testing``, its pytest11 entry point
and the ``huisou plugin new`` templates (package data, easy to lose in packaging)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "tests", "benchmarks", "build", "dist", "examples", "docs",
             "__pycache__", ".pytest_cache", ".ruff_cache"}


@pytest.mark.slow
def test_wheel_ships_the_testing_kit_and_templates(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=lambda d, names: [
        n for n in names if n in SKIP_DIRS or n.endswith(".egg-info")
    ])
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "out"), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp_path / "out").glob("huisou-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names
                            if n.endswith(".dist-info/entry_points.txt"))
    assert "[pytest11]\nhuisou = huisou.testing.pytest_plugin" in entry_points
    for module in ("__init__", "pytest_plugin", "fakes", "photos", "contract_source",
                   "contract_backend", "contract_store", "contract_extractor", "field_checks"):
        assert f"huisou/testing/{module}.py" in names, module
    assert "huisou/cli/plugin_cmd.py" in names
    templates = sorted(p.name for p in (REPO / "cli" / "templates" / "plugin").glob("*.tmpl"))
    assert len(templates) == 10  # four kinds: module and test each, plus pyproject and README
    missing = [t for t in templates if f"huisou/cli/templates/plugin/{t}" not in names]
    assert not missing, (
        f"templates missing from the wheel: {missing}; pyproject.toml needs "
        '[tool.setuptools.package-data] "huisou.cli" = ["templates/plugin/*.tmpl"]'
    )
