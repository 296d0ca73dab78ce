"""Opening the library file safely: what the path is, whose database it is, how it is made.

Why: SQLite opens almost anything. A 0-byte file silently becomes an empty library (its
sources forgotten), ``/dev/zero`` reads as an empty database whose writes vanish, a directory
or a text file fails deep inside a query, and another application's database gains huisou's
tables. So every path is checked before SQLite sees it; a new library is made whole in a
private temporary file (0600) and linked into place, so no process ever sees a half-made one;
huisou's databases carry ``PRAGMA application_id`` and others are refused; migrations run
under the write lock, re-reading the schema version once they hold it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import Any

from huisou.core import db
from huisou.core.errors import LibraryError
from huisou.core.schema import MIGRATIONS
from huisou.core.tempfiles import locked_temp, remove_stale

#: ``PRAGMA application_id`` of a huisou library: "HSOU".
APPLICATION_ID = 0x48534F55
#: Tables every huisou library has had since migration 1: how a library made before
#: application ids is recognised.
CORE_TABLES = frozenset({"sources", "items", "models", "embeddings"})
#: Name prefix of a library being created (removed later if its creator was killed).
NEW_PREFIX = ".huisou-new-"


def check_path(path: str) -> bool:
    """True when a file that may be a library exists at ``path``, False when nothing does.

    Raises :class:`LibraryError` for what can never be a library: a directory, a device, a
    FIFO, a socket, an empty file (a truncated library must not turn into an empty one).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        raise LibraryError(
            f"library {path}: a part of this path is a file, not a folder; choose another --db"
        ) from None
    except OSError as exc:
        raise LibraryError(
            f"library {path} cannot be examined ({exc.strerror}): check the path and its "
            "permissions"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise LibraryError(
            f"library {path} is a directory: give --db a file path, e.g. "
            f"{os.path.join(path, 'library.db')}"
        )
    if not stat.S_ISREG(st.st_mode):
        raise LibraryError(
            f"library {path} is not a regular file (a device, FIFO or socket): give --db a "
            "file path"
        )
    if st.st_size == 0:
        raise LibraryError(
            f"library {path} is an empty file (0 bytes), not a library: if it was one, restore "
            "it from a backup (see 'Recovering a damaged library' in the README); otherwise "
            "delete it or choose another --db"
        )
    return True


def create(path: str, private_dir: str | None = None) -> None:
    """Make a new, fully migrated library at ``path`` (unless another process just did).

    Folders created on the way are 0700 and the file 0600: a library holds paths, dates and
    places. ``private_dir`` (huisou's own data folder) is made 0700 even if it existed.
    """
    parent = os.path.dirname(os.path.abspath(path))
    try:
        _make_private_dirs(parent)
        if private_dir and os.path.abspath(private_dir) == parent:
            os.chmod(parent, 0o700)
    except OSError as exc:
        raise LibraryError(
            f"library {path}: cannot create its folder {parent} ({exc.strerror}): check the "
            "path and permissions"
        ) from None
    remove_stale(parent, NEW_PREFIX)
    try:
        fd, tmp = locked_temp(parent, NEW_PREFIX, ".db")
    except OSError as exc:
        raise LibraryError(
            f"library {path}: cannot create it in {parent} ({exc.strerror}): check the "
            "permissions and free space"
        ) from None
    try:
        _initialise(tmp)
        _link_into_place(tmp, path)
    finally:
        for leftover in (tmp, tmp + "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        os.close(fd)


def _make_private_dirs(folder: str) -> None:
    """Like ``os.makedirs``, but every folder it creates is 0700 (``makedirs`` gives its mode
    to the last one only)."""
    missing: list[str] = []
    while not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)


def _initialise(tmp: str) -> None:
    conn = db.connect(tmp)
    try:
        migrate(conn)
        conn.execute("PRAGMA journal_mode=DELETE")  # no WAL file to carry along
    finally:
        conn.close()


def _link_into_place(tmp: str, path: str) -> None:
    """A hard link never replaces a library another process created meanwhile; where the
    filesystem has no hard links (Android shared storage) a rename does, almost as safely."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        return
    except OSError:
        if not os.path.exists(path):
            os.rename(tmp, path)


def identify(conn: Any, path: str) -> int:
    """The schema version of a huisou library; :class:`LibraryError` for anything else."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id != APPLICATION_ID and not (
        application_id == 0 and _is_unmarked_library(conn, version)
    ):
        owner = f"application id {application_id:#x}" if application_id else "no huisou tables"
        raise LibraryError(
            f"library {path} is another application's SQLite database ({owner}): huisou does "
            "not touch it; choose another --db"
        )
    if version > len(MIGRATIONS):
        raise LibraryError(
            f"library {path} was made by a newer huisou (schema {version}, this one knows "
            f"{len(MIGRATIONS)}): upgrade huisou"
        )
    return version


def _is_unmarked_library(conn: Any, version: int) -> bool:
    """A library made before huisou marked its databases: its tables and a schema version."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return version >= 1 and tables >= CORE_TABLES


def needs_migration(conn: Any) -> bool:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return application_id != APPLICATION_ID or version < len(MIGRATIONS)


def migrate(conn: Any) -> None:
    """Apply pending migrations and mark the library, each step under the write lock.

    The version is read *after* ``BEGIN IMMEDIATE`` takes the lock, so two processes opening
    an old library at once never apply the same migration twice: the second one finds the
    work done. Running it again is a no-op.
    """
    if not needs_migration(conn):
        return
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = _migrate_one(conn)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if done:
            return


def _migrate_one(conn: Any) -> bool:
    """Mark the library and apply the next migration; True when nothing was left to do."""
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= len(MIGRATIONS):
        return True
    for statement in statements(MIGRATIONS[version]):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version={version + 1}")
    return False


def statements(script: str) -> list[str]:
    """The SQL statements of a migration, split at each ``;`` that ends a complete statement
    (so a trigger's ``BEGIN ... ; ... END`` stays whole). ``executescript`` would do the
    splitting but commits first, which would break the migration's transaction."""
    import sqlite3

    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip())
    return out
