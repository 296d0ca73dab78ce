"""Reliability contract: kill -9 mid-run, then a second run completes without loss or duplicates."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PHOTOS = 48


def _make_photos(folder: Path) -> None:
    from PIL import Image

    folder.mkdir()
    for i in range(PHOTOS):
        colour = ((i * 53) % 256, (i * 97) % 256, (i * 31) % 256)
        Image.new("RGB", (64, 48), colour).save(folder / f"photo_{i:03}.jpg", quality=90)


def _home(tmp_path: Path, slow: bool) -> dict[str, str]:
    home = tmp_path / "home"
    plugins = home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    plugin = plugins / "test_fakes.py"
    code = "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n"
    if slow:
        code += textwrap.dedent(
            """
            import time
            from huisou import hookimpl

            @hookimpl
            def items_indexed(run, paths):
                time.sleep(0.25)  # give the test time to kill us between batches
            """
        )
    plugin.write_text(code)
    (home / "config.toml").write_text(
        f'backend = "fake"\nstore = "numpy"\nbatch_size = 4\nplugins_dir = "{plugins}"\n'
    )
    return {**os.environ, "HUISOU_HOME": str(home)}


def _committed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_sigkill_mid_index_then_resume(tmp_path: Path):
    photos = tmp_path / "photos"
    _make_photos(photos)
    db = tmp_path / "home" / "library.db"
    cmd = [sys.executable, "-m", "huisou", "index", str(photos), "--json"]
    proc = subprocess.Popen(
        cmd, env=_home(tmp_path, slow=True), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while _committed(db) < 8 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "indexing finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _committed(db)
    assert 8 <= before < PHOTOS

    result = subprocess.run(cmd, env=_home(tmp_path, slow=False), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    finished = json.loads(result.stdout.strip().splitlines()[-1])
    assert finished["event"] == "finished"
    assert finished["failed"] == 0
    assert finished["indexed"] + finished["unchanged"] == PHOTOS
    assert finished["indexed"] <= PHOTOS - before + 4  # at most the batch in flight redone

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        paths = [r[0] for r in conn.execute("SELECT path FROM items WHERE status='indexed'")]
        assert len(paths) == len(set(paths)) == PHOTOS
        assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == PHOTOS

    status = subprocess.run(
        [sys.executable, "-m", "huisou", "status", "--json"],
        env=_home(tmp_path, slow=False),
        capture_output=True,
        text=True,
        check=True,
    )
    models = json.loads(status.stdout)["models"]
    assert [m["vectors"] for m in models] == [PHOTOS]

    search = subprocess.run(
        [sys.executable, "-m", "huisou", "search", "red", "--json", "--top", "100",
         "--min-score", "off"],
        env=_home(tmp_path, slow=False),
        capture_output=True,
        text=True,
    )
    assert search.returncode == 0, search.stderr
    hits = json.loads(search.stdout)
    assert len(hits) == PHOTOS  # the store holds each photo exactly once
