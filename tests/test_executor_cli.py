"""``huisou index --executor``: choosing an executor, its flags, and what is said when it
cannot run — one line each, never a traceback. Needs no Ray cluster (see test_ray_executor.py
for the cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _index(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True, exist_ok=True)
    (home / "plugins" / "fakes.py").write_text(
        "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n")
    (home / "config.toml").write_text('backend = "fake"\nstore = "numpy"\n'
                                      'plugins_dir = "plugins"\ndb = "lib.db"\n')
    full = {**os.environ, "HUISOU_HOME": str(home), **env}
    full.pop("HUISOU_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "huisou", "index", *args], capture_output=True,
                          text=True, timeout=300, env=full, cwd=tmp_path)


def test_help_does_not_import_ray():
    probe = (
        "import sys, json\n"
        "from huisou.cli.main import cli\n"
        "for args in (['--help'], ['index', '--help']):\n"
        "    try:\n"
        "        cli.main(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "from huisou.core.plugins import get_host\n"
        "assert sorted(get_host().executors()) == ['local', 'ray']\n"
        "print(json.dumps([m for m in sys.modules if m == 'ray' or m.startswith('ray.')]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert "--ray-address" in out and "--ship-bytes" in out  # index --help lists them
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_local_is_the_default_and_can_be_named(photo_folder, tmp_path):
    result = _index([str(photo_folder), "--executor", "local", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    finished = json.loads(result.stdout.strip().splitlines()[-1])
    assert finished["event"] == "finished" and finished["indexed"] == 6


@pytest.mark.parametrize("args, message", [
    (["--executor", "spark"], "unknown executor 'spark' (known: local, ray)"),
    (["--ray-address", "10.0.0.1:6379"],
     "--ray-address is an option of --executor ray, not of --executor local"),
    (["--executor", "ray", "--ray-actors", "none"],
     "--ray-actors 'none': expected a whole number of at least 1"),
])
def test_bad_choices_are_one_line(photo_folder, tmp_path, args, message):
    result = _index([str(photo_folder), *args], tmp_path)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_without_ray_says_how_to_install_it_in_one_line(photo_folder, tmp_path):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "ray.py").write_text("raise ImportError('blocked by the test')\n")
    result = _index([str(photo_folder), "--executor", "ray"], tmp_path,
                    PYTHONPATH=str(blocker))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "huisou[ray]" in line]
    assert len(lines) == 1, output
