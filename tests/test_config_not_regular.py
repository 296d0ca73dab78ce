"""Config files and model directories are input too: a FIFO or a huge file there is refused in
one line, never waited on or read whole (a FIFO as ``config.toml`` hung every command)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parent / "models"


def huisou(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "HUISOU_HOME": str(tmp_path / "home"), **env}
    return subprocess.run([sys.executable, "-m", "huisou", *args], capture_output=True,
                          text=True, timeout=60, env=environ)


def one_line_naming(proc: subprocess.CompletedProcess, name: str) -> None:
    assert proc.returncode not in (0, 2), proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_a_fifo_as_config_file_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    one_line_naming(huisou(tmp_path, "status", HUISOU_CONFIG=str(fifo)), "config.toml")


def test_a_huge_config_file_is_not_read_whole(tmp_path):
    big = tmp_path / "config.toml"
    with open(big, "wb") as fh:
        fh.truncate(10 << 30)  # sparse: 10 GB of zeros
    one_line_naming(huisou(tmp_path, "status", HUISOU_CONFIG=str(big)), "config.toml")


def test_a_fifo_in_a_model_directory_is_refused(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(MODELS / "toy_shapes", model)
    (model / "config.json").unlink()
    os.mkfifo(model / "config.json")
    photos = tmp_path / "photos"
    photos.mkdir()
    one_line_naming(huisou(tmp_path, "index", str(photos), "--model", str(model)), "config.json")
