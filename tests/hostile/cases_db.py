"""Hostile libraries: what ``--db`` may point at, full disks, damage, races, read-only media."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from battery import Case, expect_error, expect_ok, fake_home, huisou, make_photos

APPLICATION_ID = 0x48534F55


def _library(tmp: Path, count: int = 4) -> Path:
    fake_home()
    photos = tmp / "photos"
    make_photos(photos, count)
    db = tmp / "lib.db"
    expect_ok(huisou("index", photos, "--db", db, "--json"))
    return db


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _refused(tmp: Path, db: Path | str, needle: str) -> None:
    """Every kind of command refuses ``db`` in one line, and nothing in ``tmp`` changes."""
    fake_home()
    before = _files(tmp)
    for command in (("status",), ("sources", "list"), ("sources", "add", str(tmp)),
                    ("index", str(tmp), "--json"), ("search", "red")):
        run = expect_error(huisou(*command, "--db", db), code=1, naming=db)
        assert needle in run.stderr, run.describe()
    assert _files(tmp) == before, "the file was written"


def empty_file(tmp: Path) -> None:
    """A 0-byte library.db used to become an empty library, forgetting every source."""
    db = tmp / "library.db"
    db.write_bytes(b"")
    _refused(tmp, db, "empty file")
    assert db.stat().st_size == 0


def text_file(tmp: Path) -> None:
    db = tmp / "notes.db"
    db.write_text("shopping list\n" * 100)
    _refused(tmp, db, "not an SQLite database")


def dev_zero(tmp: Path) -> None:
    _refused(tmp, "/dev/zero", "not a regular file")


def a_fifo(tmp: Path) -> None:
    db = tmp / "pipe.db"
    os.mkfifo(db)
    _refused(tmp, db, "not a regular file")


def a_directory_in_the_config(tmp: Path) -> None:
    home = fake_home()
    with open(home / "config.toml", "a") as fh:
        fh.write(f'db = "{tmp}"\n')
    for command in (("status",), ("sources", "add", str(tmp)), ("search", "red")):
        run = expect_error(huisou(*command), code=1, naming=tmp)
        assert "directory" in run.stderr, run.describe()


def a_path_under_a_file(tmp: Path) -> None:
    (tmp / "file.txt").write_text("x")
    _refused(tmp, tmp / "file.txt" / "lib.db", "not a folder")


def another_applications_database(tmp: Path) -> None:
    """`status --db other-app.db` used to write huisou's tables into it."""
    db = tmp / "other-app.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.executescript("CREATE TABLE contacts(name); INSERT INTO contacts VALUES ('a');")
    _refused(tmp, db, "another application")


def a_newer_library(tmp: Path) -> None:
    db = _library(tmp)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version=999")
    expect_error(huisou("status", "--db", db), code=1, naming=db)


def a_corrupt_page(tmp: Path) -> None:
    """A damaged schema page: every command says so in one line and points at the repair."""
    db = _library(tmp)
    with open(db, "r+b") as fh:
        fh.seek(100)
        fh.write(os.urandom(3000))
    for command in (("status",), ("search", "red"), ("index", "--json")):
        run = expect_error(huisou(*command, "--db", db), code=1, naming=db)
        assert "doctor --repair" in run.stderr, run.describe()


def damage_hidden_by_the_sidecar(tmp: Path) -> None:
    """A damaged vector page: search still answers from its cached index, so doctor must see
    it (exit 1), and --repair must make the library whole again."""
    db = _library(tmp)
    expect_ok(huisou("search", "red", "--db", db))
    with contextlib.closing(sqlite3.connect(db)) as conn:
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name LIKE "
                            "'huisou_vectors_%'").fetchone()[0]
    with open(db, "r+b") as fh:
        fh.seek((page - 1) * 4096 + 8)
        fh.write(os.urandom(300))
    run = huisou("doctor", "--db", db)
    assert run.returncode == 1 and "has problems" in run.stderr, run.describe()
    repair = expect_ok(huisou("doctor", "--repair", "--db", db))
    assert "kept a copy" in repair.stdout, repair.describe()
    expect_ok(huisou("index", "--db", db, "--json"))
    expect_ok(huisou("doctor", "--db", db))
    assert json.loads(expect_ok(huisou("search", "red", "--db", db, "--json")).stdout)


def disk_full(tmp: Path) -> None:
    """Writes past 40 KB fail (RLIMIT_FSIZE, as on a full disk): one line, nothing lost."""
    db = _library(tmp, 2)
    make_photos(tmp / "more", 30)
    expect_ok(huisou("sources", "add", tmp / "more", "--db", db))
    limit = 40_000

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "huisou", "index", "--db", str(db), "--json"],
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=limit_file_size)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and str(db) in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finished = json.loads(expect_ok(huisou("index", "--db", db, "--json")).stdout.splitlines()[-1])
    assert finished["failed"] == 0, finished


def racing_first_runs(tmp: Path) -> None:
    """Two commands on a new library used to race in the migrations (7 of 30 crashed)."""
    fake_home()
    for round_ in range(3):
        db = tmp / f"race{round_}" / "library.db"
        procs = [subprocess.Popen([sys.executable, "-m", "huisou", "sources", "add", str(tmp),
                                   "--db", str(db)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err


def read_only_library(tmp: Path) -> None:
    """A library on read-only media can be searched; writing commands say why they cannot."""
    db = _library(tmp)
    if os.geteuid() == 0:
        view = tmp / "ro"
        view.mkdir()
        for step in (["mount", "--bind", str(tmp), str(view)],
                     ["mount", "-o", "remount,ro,bind", str(view)]):
            if subprocess.run(step, capture_output=True).returncode != 0:
                return  # no mounts here: the chmod path below needs a normal user
        try:
            _use_read_only(view / "lib.db")
        finally:
            subprocess.run(["umount", "-l", str(view)], capture_output=True)
        return
    db.chmod(0o444)
    tmp.chmod(0o555)
    try:
        _use_read_only(db)
    finally:
        tmp.chmod(0o755)


def _use_read_only(db: Path) -> None:
    for command in (("search", "red"), ("status",), ("sources", "list"), ("doctor",)):
        expect_ok(huisou(*command, "--db", db))
    run = expect_error(huisou("sources", "add", "/", "--db", db), code=1, naming=db)
    assert "read-only" in run.stderr, run.describe()


def read_only_commands_create_nothing(tmp: Path) -> None:
    fake_home()
    db = tmp / "new" / "dir" / "x.db"
    for command in (("status",), ("sources", "list"), ("doctor",)):
        expect_ok(huisou(*command, "--db", db))
    assert not (tmp / "new").exists()


def a_new_library_is_private(tmp: Path) -> None:
    fake_home()
    db = tmp / "a" / "library.db"
    expect_ok(huisou("sources", "add", tmp, "--db", db))
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


SLOW_BUILD = """
import sys, time
import numpy as np
from huisou.plugins.clip_search.vector_index import VectorIndex

def chunks():
    yield np.arange(4), np.eye(4, 8, dtype=np.float32)
    print("building", flush=True)
    time.sleep(60)

VectorIndex.build(chunks(), 8, 8, 1, sys.argv[1])
"""


def killed_sidecar_build(tmp: Path) -> None:
    """`kill -9` during a sidecar rebuild used to leave `.huisou-vidx-*` files forever."""
    db = _library(tmp)
    sidecar = next(tmp.glob("lib.db.*.vidx"))
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(sidecar)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "building"
    proc.kill()
    proc.wait(timeout=10)
    leftovers = list(tmp.glob(".huisou-vidx-*"))
    assert len(leftovers) == 1
    expect_ok(huisou("doctor", "--repair", "--db", db))  # or any later rebuild, after a minute
    assert not list(tmp.glob(".huisou-vidx-*")), "the orphan is still there"


CASES = [
    Case("db: a 0-byte library file", empty_file, timeout=60),
    Case("db: a text file as --db", text_file, timeout=60),
    Case("db: /dev/zero as --db", dev_zero, timeout=60),
    Case("db: a FIFO as --db", a_fifo, timeout=60),
    Case("db: a directory as db in the config", a_directory_in_the_config, timeout=40),
    Case("db: --db under a file", a_path_under_a_file, timeout=60),
    Case("db: another application's database", another_applications_database, timeout=60),
    Case("db: a library of a newer huisou", a_newer_library, timeout=40),
    Case("db: a corrupt page", a_corrupt_page, timeout=40),
    Case("db: damage hidden by the search sidecar", damage_hidden_by_the_sidecar, timeout=60),
    Case("db: disk full while indexing", disk_full, timeout=60),
    Case("db: racing first runs on a new library", racing_first_runs, timeout=90),
    Case("db: a read-only library", read_only_library, timeout=60),
    Case("db: read-only commands on a missing library", read_only_commands_create_nothing,
         timeout=40),
    Case("db: a new library is private and marked", a_new_library_is_private, timeout=30),
    Case("db: kill -9 during a sidecar build", killed_sidecar_build, timeout=60),
]
