"""Hostile cases for the terminal UI: no terminal, locked or damaged libraries at start-up,
a FIFO or a changed photo behind a thumbnail, a thumbnail cache that is not a database."""

from __future__ import annotations

import os
import pty
import sqlite3
import time
from pathlib import Path

from battery import Case, expect_error, expect_ok, fake_home, huisou, make_photos


def _in_terminal(args: list[str], timeout: float = 20.0) -> tuple[int, str]:
    """Run ``huisou ARGS`` on a pseudo-terminal; return (exit code, output). A hang fails."""
    import sys

    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.executable, [sys.executable, "-m", "huisou", *args])
    out = b""
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        done, status = os.waitpid(pid, os.WNOHANG)
        while not done and time.monotonic() - started < timeout:  # output closed: exiting
            time.sleep(0.05)
            done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError(f"huisou {' '.join(args)} hung in a terminal (> {timeout:g} s)")
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def _one_line_exit_1(args: list[str], naming: str) -> None:
    code, text = _in_terminal(args)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert "Traceback" not in text, text[-2000:]
    assert code == 1, f"exit {code}\n{text[-2000:]}"
    assert len(lines) == 1 and naming in lines[0], text[-2000:]


def tui_without_a_terminal(tmp: Path) -> None:
    """`huisou` from cron or a pipe: the help and exit 2, never a hung full-screen UI."""
    run = huisou(timeout=30)
    assert run.returncode == 2 and "Usage:" in run.stdout, run.describe()
    assert len(run.stderr.strip().splitlines()) == 1, run.describe()


def pick_without_a_terminal(tmp: Path) -> None:
    expect_error(huisou("pick", "beach", timeout=30), code=1)


def tui_on_an_exclusively_locked_library(tmp: Path) -> None:
    db = tmp / "locked.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO other VALUES (1)")
    try:
        _one_line_exit_1(["tui", "--db", str(db)], str(db))
    finally:
        holder.close()


def tui_on_a_text_file_as_library(tmp: Path) -> None:
    db = tmp / "notes.db"
    db.write_text("these are my notes, not a database\n" * 100)
    _one_line_exit_1(["tui", "--db", str(db)], str(db))
    assert db.read_text().startswith("these are my notes")  # untouched


def thumbnails_rebuild_with_a_fifo_and_a_broken_photo(tmp: Path) -> None:
    """A photo replaced by a FIFO after indexing, and one truncated: rebuild neither hangs
    nor fails; the good photos get thumbnails."""
    fake_home()
    photos = tmp / "photos"
    paths = make_photos(photos, count=4)
    expect_ok(huisou("index", photos, timeout=60))
    paths[0].unlink()
    os.mkfifo(paths[0])
    paths[1].write_bytes(paths[1].read_bytes()[:40])
    run = expect_ok(huisou("thumbnails", "rebuild", "--json", timeout=60))
    import json

    result = json.loads(run.stdout)
    assert result["thumbnails"] == 2 and result["failed"] == 2, run.describe()


def thumbnail_cache_that_is_not_a_database(tmp: Path) -> None:
    """A garbage library.thumbs.db: rebuild says so in one line and leaves it alone."""
    home = fake_home()
    photos = tmp / "photos"
    make_photos(photos, count=2)
    expect_ok(huisou("index", photos, timeout=60))
    cache = next(home.rglob("library.db")).with_name("library.thumbs.db")
    garbage = os.urandom(4096)
    cache.write_bytes(garbage)
    expect_error(huisou("thumbnails", "rebuild", timeout=60), code=1, naming=cache)
    assert cache.read_bytes() == garbage


CASES = [
    Case("tui: no terminal prints help", tui_without_a_terminal, timeout=40),
    Case("tui: pick with no terminal", pick_without_a_terminal, timeout=40),
    Case("tui: exclusively locked library", tui_on_an_exclusively_locked_library, timeout=40),
    Case("tui: text file as library", tui_on_a_text_file_as_library, timeout=40),
    Case("tui: thumbnails rebuild with a FIFO and a broken photo",
         thumbnails_rebuild_with_a_fifo_and_a_broken_photo, timeout=120),
    Case("tui: thumbnail cache that is not a database", thumbnail_cache_that_is_not_a_database,
         timeout=120),
]
