"""SQLite connections that can load extensions when this Python allows it.

Many Pythons (pyenv defaults, the macOS system Python, this project's build machine) ship a
``sqlite3`` without ``enable_load_extension``. Then we use ``sqlean`` (sqlean-py), a DB-API
drop-in with loadable extensions. When neither works, connections still open and the vector
store falls back to numpy; :func:`driver_info` says which path was taken, for ``huisou doctor``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

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


def connect(path: str, *, readonly: bool = False) -> Any:
    """Open a database in WAL mode with a long busy timeout (a cron job may hold the lock).

    ``isolation_level=None`` puts transactions under our explicit control (``BEGIN`` /
    ``COMMIT``), which is what makes one-transaction-per-batch possible.
    """
    module = driver_module()
    if readonly:
        conn = module.connect(
            f"file:{path}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    else:
        conn = module.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
    conn.text_factory = decode_text
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if not readonly:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


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
