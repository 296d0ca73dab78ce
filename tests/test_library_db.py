"""The library database under attack: races, hostile paths, full disks, foreign, damaged and
read-only files. Every failure is one line naming the file, and nothing is lost or created."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
LEGACY = DATA / "libraries" / "before-application-id.db"
FAKE_PLUGIN = "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n"
APPLICATION_ID = 0x48534F55


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A HUISOU_HOME with the fake colour backend and the numpy store."""
    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "fakes.py").write_text(FAKE_PLUGIN)
    (home / "config.toml").write_text(
        f'backend = "fake"\nstore = "numpy"\nbatch_size = 2\nplugins_dir = "{home / "plugins"}"\n'
    )
    return home


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        Image.new("RGB", (32, 24), (40 * i, 200 - 30 * i, 90)).save(folder / f"p{i}.png")
    return folder


def huisou(home: Path, *args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "HUISOU_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "huisou", *args],
        env=env, capture_output=True, text=True, timeout=timeout, **kwargs,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 1, no traceback, and the last line of stderr (after any progress report) is the
    one error line, naming the library and what to do."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert [line for line in lines if line.startswith("huisou:")] == lines[-1:], result.stderr
    assert lines[-1].startswith("huisou: error: library "), lines[-1]
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# -- concurrent first runs and migrations ---------------------------------------------------

OPEN_AND_ADD = """
import os, sys, time
while not os.path.exists(sys.argv[2]):
    time.sleep(0.002)
from huisou.core.catalog import Catalog
catalog = Catalog(sys.argv[1])
catalog.add_source("folder", "/photos")
catalog.close()
"""


def _race(db: Path, go: Path, processes: int) -> list[subprocess.CompletedProcess]:
    procs = [
        subprocess.Popen([sys.executable, "-c", OPEN_AND_ADD, str(db), str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    time.sleep(1.0)  # all of them imported and waiting
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    go.unlink()
    return results


def test_concurrent_processes_on_a_new_and_an_old_library_all_succeed(tmp_path):
    """Released at once, several processes create the same new library (or migrate the same
    old one); every one succeeds, and the library holds the one source once."""
    go = tmp_path / "go"
    new = tmp_path / "new" / "library.db"
    for result in _race(new, go, 6):
        assert result.returncode == 0, result.stderr
    old = tmp_path / "old.db"
    _schema_1_library(old)
    for result in _race(old, go, 6):
        assert result.returncode == 0, result.stderr
    for db in (new, old):
        with contextlib.closing(sqlite3.connect(db)) as conn:
            assert conn.execute("SELECT root FROM sources").fetchall() == [("/photos",)]
            assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [p.name for p in new.parent.iterdir() if p.name.startswith(".huisou")] == []


def _schema_1_library(path: Path) -> None:
    from huisou.core.schema import MIGRATIONS

    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")


class _RacingConnection:
    """A connection that lets another process migrate the library just before its first
    ``BEGIN IMMEDIATE``: the interleaving that crashed 7 of 30 concurrent first runs."""

    def __init__(self, conn, path: str) -> None:
        self._conn = conn
        self._path = path
        self.raced = False

    def execute(self, sql, *args):
        if sql.strip().upper() == "BEGIN IMMEDIATE" and not self.raced:
            self.raced = True
            subprocess.run([sys.executable, "-c", "import sys\nfrom huisou.core.catalog import "
                            "Catalog\nCatalog(sys.argv[1]).close()", self._path], check=True,
                           timeout=60)
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def test_a_migration_finished_by_another_process_meanwhile_is_not_applied_again(
    tmp_path, monkeypatch
):
    from huisou.core import db
    from huisou.core.catalog import Catalog
    from huisou.core.schema import MIGRATIONS

    path = tmp_path / "old.db"
    _schema_1_library(path)
    real_connect = db.connect
    racing: list[_RacingConnection] = []

    def connect(target, **kwargs):
        conn = real_connect(target, **kwargs)
        if str(target) == str(path) and not racing:
            racing.append(_RacingConnection(conn, str(path)))
            return racing[0]
        return conn

    monkeypatch.setattr(db, "connect", connect)
    catalog = Catalog(path)
    assert racing and racing[0].raced
    assert catalog.schema_version == len(MIGRATIONS)
    catalog.close()


# -- what --db points at ---------------------------------------------------------------------


def _corrupt(path: Path) -> None:
    """Overwrite the schema page after the file header: every statement sees a damaged file."""
    with open(path, "r+b") as fh:
        fh.seek(100)
        fh.write(os.urandom(4096 - 100))


HOSTILE = {
    "empty file": (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
    "text file": (lambda p: p.write_text("shopping list\n" * 200), "not an SQLite database"),
    "fifo": (lambda p: os.mkfifo(p), "not a regular file"),
    "parent is a file": (None, "is a file, not a folder"),
    "foreign database": (
        lambda p: sqlite3.connect(p).executescript("CREATE TABLE notes(x); INSERT INTO notes "
                                                   "VALUES (1);"),
        "another application's SQLite database",
    ),
    "foreign application id": (
        lambda p: sqlite3.connect(p).executescript("PRAGMA application_id=1234; CREATE TABLE "
                                                   "sources(x); CREATE TABLE items(x); CREATE "
                                                   "TABLE models(x); CREATE TABLE embeddings(x);"),
        "application id 0x4d2",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("command", [("status",), ("sources", "add", "."), ("index", ".")])
def test_a_hostile_db_path_is_refused_in_one_line_and_left_alone(home, tmp_path, case, command):
    make, needle = HOSTILE[case]
    db = tmp_path / "lib.db"
    if make is None:
        (tmp_path / "file.txt").write_text("x")
        db = tmp_path / "file.txt" / "lib.db"
    else:
        make(db)
    before = snapshot(tmp_path)
    result = huisou(home, *command, "--db", str(db), timeout=30, cwd=tmp_path)
    line = assert_one_line_error(result, needle)
    assert str(db) in line
    assert snapshot(tmp_path) == before  # not written, not turned into a library


def test_a_device_and_a_directory_in_the_config_are_refused(home, tmp_path):
    for target, needle in (("/dev/zero", "not a regular file"), (str(tmp_path), "directory")):
        config = (home / "config.toml").read_text()
        (home / "config.toml").write_text(config + f'db = "{target}"\n')
        for command in (("status",), ("sources", "add", str(tmp_path))):
            assert_one_line_error(huisou(home, *command, timeout=30), target, needle)
        (home / "config.toml").write_text(config)


def test_a_library_of_a_newer_huisou_is_refused(home, tmp_path):
    db = tmp_path / "new.db"
    assert huisou(home, "sources", "add", str(tmp_path), "--db", str(db)).returncode == 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version=99")
    assert_one_line_error(huisou(home, "status", "--db", str(db)), "newer huisou")


def test_a_damaged_library_is_reported_in_one_line(home, tmp_path, photos):
    db = tmp_path / "lib.db"
    assert huisou(home, "index", str(photos), "--db", str(db)).returncode == 0
    _corrupt(db)
    for command in (("status",), ("sources", "list"), ("index",), ("search", "red")):
        result = huisou(home, *command, "--db", str(db))
        assert_one_line_error(result, str(db), "is damaged", "huisou doctor --repair")


def _run_with_file_size_limit(home: Path, limit: int, *args: str) -> subprocess.CompletedProcess:
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return huisou(home, *args, timeout=60, preexec_fn=limit_file_size)


def test_a_full_disk_fails_in_one_line_and_loses_nothing(home, tmp_path, photos):
    """RLIMIT_FSIZE makes every write past 40 KB fail, as on a full disk: the run stops with
    one line, the library stays intact, and the next run (with room) completes it."""
    db = tmp_path / "lib.db"
    assert huisou(home, "sources", "add", str(photos), "--db", str(db)).returncode == 0
    result = _run_with_file_size_limit(home, 40_000, "index", "--db", str(db))
    assert_one_line_error(result, str(db), "free")
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM sources").fetchone()[0] == 1
    result = huisou(home, "index", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM items WHERE status='indexed'").fetchone()[0] == 6


@pytest.fixture
def small_filesystem(tmp_path: Path):
    """A real 192 KiB tmpfs (root only; elsewhere the RLIMIT test above stands in)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount)],
                          capture_output=True, timeout=10)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], timeout=10)


def test_a_really_full_filesystem_fails_in_one_line(home, tmp_path, small_filesystem):
    from PIL import Image

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(400):
        Image.new("RGB", (8, 8), (i % 256, (7 * i) % 256, 3)).save(folder / f"img{i:04d}.png")
    db = small_filesystem / "lib.db"
    result = huisou(home, "index", str(folder), "--db", str(db))
    assert_one_line_error(result, str(db))
    assert "full" in result.stderr or "write failed" in result.stderr


# -- read-only use -----------------------------------------------------------------------------


def _library(home: Path, photos: Path, db: Path) -> None:
    result = huisou(home, "index", str(photos), "--db", str(db))
    assert result.returncode == 0, result.stderr


READ_ONLY_COMMANDS = (
    ("status",), ("status", "--json"), ("sources", "list"), ("search", "red"), ("doctor",),
    ("fields", "--json"),
)


def test_read_only_commands_never_write(home, tmp_path, photos):
    db = tmp_path / "lib" / "lib.db"
    _library(home, photos, db)
    huisou(home, "search", "red", "--db", str(db))  # the sidecar is a cache: let it exist
    before = snapshot(db.parent)
    mtime = db.stat().st_mtime_ns
    for command in READ_ONLY_COMMANDS + (("info", str(photos / "p1.png")),):
        result = huisou(home, *command, "--db", str(db))
        assert result.returncode == 0, (command, result.stderr)
    after = snapshot(db.parent)
    assert after == before
    assert db.stat().st_mtime_ns == mtime


def test_read_only_commands_create_nothing(home, tmp_path):
    db = tmp_path / "new" / "dir" / "x.db"
    for command in (("status",), ("sources", "list")):
        result = huisou(home, *command, "--db", str(db))
        assert result.returncode == 0, result.stderr
    assert "not created yet" in huisou(home, "status", "--db", str(db)).stdout
    result = huisou(home, "search", "red", "--db", str(db))
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "new").exists()


def test_other_applications_databases_are_never_written(home, tmp_path):
    db = tmp_path / "other-app.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.executescript("CREATE TABLE contacts(name); INSERT INTO contacts VALUES ('a');")
    before = db.read_bytes()
    for command in READ_ONLY_COMMANDS + (("index", str(tmp_path)), ("sources", "add", ".")):
        result = huisou(home, *command, "--db", str(db), cwd=tmp_path)
        assert_one_line_error(result, "another application's SQLite database")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "other-app.db"]


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """``(writable folder, the same folder read-only)``: chmod for a normal user, a read-only
    bind mount for root (whom permissions do not stop)."""
    folder = tmp_path / "lib"
    folder.mkdir()
    if os.geteuid() != 0:
        yield folder, folder, lambda: folder.chmod(0o555)
        folder.chmod(0o755)
        return
    view = tmp_path / "lib-ro"
    view.mkdir()
    steps = (["mount", "--bind", str(folder), str(view)],
             ["mount", "-o", "remount,ro,bind", str(view)])

    def freeze():
        for step in steps:
            done = subprocess.run(step, capture_output=True, timeout=10)
            if done.returncode != 0:
                pytest.skip(f"cannot make a read-only mount: {done.stderr.decode().strip()}")

    yield folder, view, freeze
    subprocess.run(["umount", "-l", str(view)], capture_output=True, timeout=10)


def test_a_read_only_library_can_be_searched_and_refuses_writes_in_one_line(
    home, tmp_path, photos, read_only_folder
):
    folder, view, freeze = read_only_folder
    _library(home, photos, folder / "lib.db")
    freeze()
    db = view / "lib.db"
    search = huisou(home, "search", "red", "--db", str(db), "--json")
    assert search.returncode == 0, search.stderr
    assert len(__import__("json").loads(search.stdout)) == 6
    for command in READ_ONLY_COMMANDS:
        result = huisou(home, *command, "--db", str(db))
        assert result.returncode == 0, (command, result.stderr)
    result = huisou(home, "sources", "add", str(tmp_path), "--db", str(db))
    assert_one_line_error(result, str(db), "read-only")
    result = huisou(home, "index", "--db", str(db))
    assert_one_line_error(result, str(db), "read-only")


# -- marking, migration of existing libraries, permissions ---------------------------------


def test_a_library_made_before_application_ids_opens_and_is_marked(home, tmp_path):
    from huisou.core.schema import MIGRATIONS

    db = tmp_path / "old.db"
    shutil.copy(LEGACY, db)
    status = huisou(home, "status", "--db", str(db), "--json")
    if len(MIGRATIONS) == 2:  # the schema it was made with: read-only commands just work
        assert status.returncode == 0, status.stderr
        assert '"root": "/tmp/legacy/photos"' in status.stdout
    else:  # read-only commands never migrate: they say how to
        assert_one_line_error(status, str(db), "older layout", "huisou index")
    search = huisou(home, "search", "red", "--db", str(db))
    assert search.returncode in (0, 1) and "Traceback" not in search.stderr, search.stderr
    if search.returncode:  # its vector tables predate the change log: one line, how to fix
        assert "run 'huisou index'" in search.stderr.strip().splitlines()[-1], search.stderr
    assert db.read_bytes() == LEGACY.read_bytes()  # read-only: not even marked
    photos = tmp_path / "more"
    photos.mkdir()
    from PIL import Image

    Image.new("RGB", (64, 48), (230, 20, 20)).save(photos / "red.jpg")
    assert huisou(home, "index", str(photos), "--db", str(db)).returncode == 0  # writes
    search = huisou(home, "search", "red", "--db", str(db), "--json")
    assert search.returncode == 0 and "red.jpg" in search.stdout.splitlines()[0], search.stderr
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 3
        assert conn.execute("SELECT COUNT(*) FROM sources").fetchone()[0] == 2


def test_a_new_library_is_private(home, tmp_path):
    db = tmp_path / "a" / "b" / "library.db"
    assert huisou(home, "sources", "add", str(tmp_path), "--db", str(db)).returncode == 0
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.parent.parent.stat().st_mode) == 0o700
    own = tmp_path / "own-home"
    own.mkdir(mode=0o755)
    shutil.copytree(home, own, dirs_exist_ok=True)
    own.chmod(0o755)
    assert huisou(own, "sources", "add", str(tmp_path)).returncode == 0
    assert stat.S_IMODE((own / "library.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(own.stat().st_mode) == 0o700  # huisou's own data folder


# -- doctor: finding and repairing damage --------------------------------------------------


def _vector_table_root(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name LIKE 'huisou_vectors_%'"
        ).fetchone()[0]


def _damage_page(db: Path, page: int) -> None:
    with open(db, "r+b") as fh:
        fh.seek((page - 1) * 4096 + 8)
        fh.write(os.urandom(300))


def _search(home: Path, db: Path) -> list[dict]:
    import json

    result = huisou(home, "search", "red", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_doctor_finds_damage_the_sidecar_hides_and_repair_restores_the_library(
    home, tmp_path, photos
):
    import json

    db = tmp_path / "lib.db"
    _library(home, photos, db)
    hits = _search(home, db)  # builds the sidecar
    _damage_page(db, _vector_table_root(db))
    assert _search(home, db) == hits  # the sidecar hides the damage from search
    doctor = huisou(home, "doctor", "--db", str(db), "--json")
    assert_one_line_error(doctor, str(db), "has problems", "huisou doctor --repair")
    report = json.loads(doctor.stdout)["library"]
    assert report["ok"] is False and report["check"] == "integrity_check"
    repair = huisou(home, "doctor", "--repair", "--db", str(db), "--json")
    assert repair.returncode == 0, repair.stderr
    facts = json.loads(repair.stdout)
    assert facts["library"]["ok"] is True
    done = "\n".join(facts["repairs"])
    assert "kept a copy of the damaged library" in done and "salvaged" in done
    assert "6 photos" in done and "1 sources" in done
    assert list(tmp_path.glob("lib.db.damaged-*"))
    index = huisou(home, "index", "--db", str(db), "--json")
    assert index.returncode == 0, index.stderr
    assert '"indexed": 6' in index.stdout  # the photos whose vectors were lost, embedded again
    assert [hit["path"] for hit in _search(home, db)] == [hit["path"] for hit in hits]
    assert huisou(home, "doctor", "--db", str(db)).returncode == 0


def test_doctor_repairs_vectors_the_catalog_does_not_match(home, tmp_path, photos):
    """No SQLite damage, but a vector that is not finite and a catalog row without a vector:
    both are reported, and --repair makes the next index embed those photos again."""
    import json

    db = tmp_path / "lib.db"
    _library(home, photos, db)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        table = conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'huisou_vectors_%'").fetchone()[0]
        first, second = [r[0] for r in conn.execute(f"SELECT id FROM {table} LIMIT 2")]
        dims = len(conn.execute(f"SELECT vector FROM {table}").fetchone()[0]) // 4
        conn.execute(f"UPDATE {table} SET vector=? WHERE id=?",
                     (b"\xff\xff\xff\xff" * dims, first))
        conn.execute(f"DELETE FROM {table} WHERE id=?", (second,))
        conn.commit()
    doctor = huisou(home, "doctor", "--db", str(db), "--json")
    assert doctor.returncode == 1
    model = json.loads(doctor.stdout)["library"]["models"][0]
    assert (model["damaged"], model["missing"]) == (1, 1)
    repair = huisou(home, "doctor", "--repair", "--db", str(db))
    assert repair.returncode == 0, repair.stderr
    assert "2 photos lost their vectors" in repair.stdout
    index = huisou(home, "index", "--db", str(db), "--json")
    assert '"indexed": 2' in index.stdout, index.stdout
    assert huisou(home, "doctor", "--db", str(db)).returncode == 0


# -- temp files of killed writers ------------------------------------------------------------

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


def test_a_sidecar_build_killed_with_sigkill_leaves_no_temp_file_behind(tmp_path):
    import numpy as np
    from huisou.plugins.clip_search.vector_index import VectorIndex

    sidecar = tmp_path / "lib.db.model.numpy.vidx"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(sidecar)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "building"
    live = list(tmp_path.glob(".huisou-vidx-*"))
    assert len(live) == 1
    os.utime(live[0], (0, 0))  # old enough: only its writer's lock protects it now
    VectorIndex.build(iter([(np.arange(2), np.eye(2, 8, dtype=np.float32))]), 2, 8, 2,
                      str(sidecar))
    assert live[0].exists()  # its writer is alive
    proc.kill()
    proc.wait(timeout=10)
    VectorIndex.build(iter([(np.arange(2), np.eye(2, 8, dtype=np.float32))]), 2, 8, 3,
                      str(sidecar))
    assert list(tmp_path.glob(".huisou-vidx-*")) == []
    assert sidecar.exists()
