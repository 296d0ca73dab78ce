"""SQLite connections that can load extensions when this Python allows it.

Many Pythons (pyenv defaults, the macOS system Python, this project's build machine) ship a
``sqlite3`` without ``enable_load_extension``. Then we use ``sqlean`` (sqlean-py), a DB-API
drop-in with loadable extensions. When neither works, connections still open and the vector
store falls back to numpy; :func:`driver_info` says which path was taken, for ``huisou doctor``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any
from urllib.parse import quote

BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class DriverInfo:
    """Which SQLite module is used and whether it can load extensions."""

    module: str
    sqlite_version: str
    can_load_extensions: bool
    reason: str


def _stdlib_can_load() -> bool:
    return hasattr(sqlite3.Connection, "enable_load_extension")


@lru_cache(maxsize=1)
def _choose_driver() -> tuple[ModuleType, DriverInfo]:
    if _stdlib_can_load():
        return sqlite3, DriverInfo(
            "sqlite3", sqlite3.sqlite_version, True, "stdlib sqlite3 loads extensions"
        )
    try:
        import sqlean
    except ImportError:
        return sqlite3, DriverInfo(
            "sqlite3",
            sqlite3.sqlite_version,
            False,
            "stdlib sqlite3 of this Python cannot load extensions and sqlean-py is not installed",
        )
    return sqlean, DriverInfo(
        "sqlean",
        sqlean.sqlite_version,
        True,
        "stdlib sqlite3 cannot load extensions; using sqlean-py",
    )


def driver_info() -> DriverInfo:
    """The driver :func:`connect` uses."""
    return _choose_driver()[1]


def driver_module() -> ModuleType:
    """The DB-API module in use (``sqlite3`` or ``sqlean``); exceptions live on it."""
    return _choose_driver()[0]


def decode_text(data: bytes) -> str:
    """A TEXT value as Python shows file names: bytes that are not UTF-8 (a Latin-1
    ``caf\xe9.jpg`` stored by :func:`text_param`) become ``surrogateescape`` code points, so the
    str equals the one ``os.scandir`` gave and opens the same file."""
    return data.decode("utf-8", "surrogateescape")


def text_param(value: Any) -> Any:
    """``value`` as SQLite can bind it: a str holding undecodable bytes (``surrogateescape``)
    as those exact bytes, for SQL that reads it with ``CAST(? AS TEXT)`` (see :data:`TEXT`).

    Why not refuse such names: they are real files (old cameras, Windows archives, Samba
    shares), and a run that cannot store one of them crashed at the same batch every time."""
    if not isinstance(value, str) or value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")
    return value


#: The placeholder for a :func:`text_param`: a TEXT whatever the bound value's type.
TEXT = "CAST(? AS TEXT)"


def connect(path: str, *, readonly: bool = False, wal: bool = True) -> Any:
    """Open a database in WAL mode with a long busy timeout (a cron job may hold the lock).

    ``isolation_level=None`` puts transactions under our explicit control (``BEGIN`` /
    ``COMMIT``), which is what makes one-transaction-per-batch possible. A read-only
    connection is opened ``mode=ro`` *and* ``query_only``, so no code path can write through
    it; in a read-only folder without WAL files it falls back to ``immutable`` (SQLite cannot
    create them there, and nobody can be writing such a library). ``wal=False`` leaves the
    journal mode alone (a file not yet known to be huisou's).
    """
    global _last_path
    module = driver_module()
    if path not in ("", ":memory:"):
        _last_path = path
    if readonly:
        conn = _connect_readonly(module, path)
    else:
        conn = module.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
    conn.text_factory = decode_text
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if readonly:
        conn.execute("PRAGMA query_only=1")
    elif wal:
        use_wal(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def use_wal(conn: Any) -> None:
    """WAL journal (readers never wait for the indexer). It is recorded in the file, so a
    file must be known to be a library before this runs (``wal=False`` in :func:`connect`)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def _connect_readonly(module: ModuleType, path: str) -> Any:
    uri = "file:" + quote(os.fsencode(os.path.abspath(path))) + "?mode=ro"
    options = {"uri": True, "isolation_level": None, "check_same_thread": False,
               "timeout": BUSY_TIMEOUT_MS / 1000}
    conn = module.connect(uri, **options)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except module.Error as exc:
        conn.close()
        wal_files = os.path.exists(path + "-wal") or os.path.exists(path + "-shm")
        if error_code(exc) != SQLITE_CANTOPEN or wal_files or os.access(
            os.path.dirname(os.path.abspath(path)), os.W_OK
        ):
            raise
        conn = module.connect(uri + "&immutable=1", **options)
    return conn


def is_readonly(conn: Any) -> bool:
    """Whether ``conn`` was opened read-only (see :func:`connect`): writers skip setup."""
    return bool(conn.execute("PRAGMA query_only").fetchone()[0])


def error_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of a driver exception (None when it carries none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_sqlite_error(exc: BaseException) -> bool:
    return isinstance(exc, (sqlite3.Error, driver_module().Error))


SQLITE_READONLY, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM = 8, 5, 6, 7
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 10, 11, 13, 14, 26
SQLITE_PERM = 3

_last_path = ""

#: primary result code -> what is wrong with the library file, and what to do about it
_ADVICE: dict[int, str] = {
    SQLITE_FULL: "the disk is full (or the file hit a size limit): free some space and run the "
    "command again; the unfinished batch was rolled back and nothing else is lost",
    SQLITE_IOERR: "a read or write failed ({detail}): check the disk and that it has free "
    "space, then run the command again",
    SQLITE_CORRUPT: "is damaged ({detail}): run 'huisou doctor --repair' (see 'Recovering a "
    "damaged library' in the README)",
    SQLITE_NOTADB: "is not a huisou library (not an SQLite database): give --db a library "
    "file, or a new path to start one",
    SQLITE_CANTOPEN: "cannot be opened (missing folder, no permission, or not a file): check "
    "the path and its permissions",
    SQLITE_READONLY: "is read-only (the file or its folder cannot be written): this command "
    "must write; fix the permissions, or use a read-only command (search, status, info)",
    SQLITE_PERM: "cannot be accessed (permission denied): fix the permissions",
    SQLITE_BUSY: "stayed locked by another program for 30 s: let it finish, then run the "
    "command again",
    SQLITE_LOCKED: "is locked by another connection: let it finish, then run the command again",
    SQLITE_NOMEM: "could not be read: SQLite ran out of memory",
}


def describe_error(exc: BaseException, path: str | None = None) -> str | None:
    """One line for an SQLite error: the file, what is wrong, what to do; None when ``exc`` is
    not an SQLite error. ``path`` defaults to the database this process opened last."""
    if not is_sqlite_error(exc):
        return None
    where = path or _last_path or "(in memory)"
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    code = error_code(exc)
    if code == SQLITE_CANTOPEN and path and _unwritable_file(path):
        code = SQLITE_READONLY  # it exists, but its journal cannot be created beside it
    advice = _ADVICE.get(code or -1)
    if advice is None:
        return f"library {where}: SQLite error: {detail}"
    advice = advice.format(detail=detail)
    joiner = " " if advice.startswith(("is ", "cannot ", "stayed ", "could ")) else ": "
    return f"library {where}{joiner}{advice}"


def load_extension(conn: Any, loader: Any) -> str | None:
    """Load an extension with ``loader(conn)``; return None on success, else the reason."""
    if not hasattr(conn, "enable_load_extension"):
        return driver_info().reason
    try:
        conn.enable_load_extension(True)
        try:
            loader(conn)
        finally:
            conn.enable_load_extension(False)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _unwritable_file(path: str) -> bool:
    folder = os.path.dirname(os.path.abspath(path))
    return os.path.isfile(path) and not (os.access(path, os.W_OK) and os.access(folder, os.W_OK))
