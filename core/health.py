"""Is a library healthy, and how to repair what can be rebuilt: ``huisou doctor [--repair]``.

Why: a damaged page can sit unnoticed for a long time. Searches read vectors from the sidecar
index (a cache file) and status reads only the catalog, so everything exits 0 until the sidecar
is rebuilt. The check therefore asks SQLite itself (``PRAGMA integrity_check``, or
``quick_check`` on big files), then reads every vector of every model and compares it with the
catalog's record of which photos have one. The repair keeps a copy of the damaged file, rebuilds
indexes, salvages every readable row into a new library when the file is beyond that, drops
vectors that are unreadable, damaged or orphaned (the next ``huisou index`` embeds those photos
again: they are the photos' content, which never left the disk), and deletes the sidecars.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from huisou.core import db, library_file
from huisou.core.errors import HuisouError, LibraryError
from huisou.core.interfaces import StoreLocation
from huisou.core.tempfiles import remove_stale

#: Above this size the check is ``quick_check`` (no index cross-check; linear, not n log n).
FULL_CHECK_MAX_BYTES = 256 * 2**20
#: Problems listed by the integrity check at most.
MAX_PROBLEMS = 20
#: Rows per probe when reading around damaged pages.
PROBE_CHUNK = 256
#: Temp files left in the library's folder by killed writers.
TEMP_PREFIXES = (".huisou-vidx-", library_file.NEW_PREFIX)


@dataclass
class ModelHealth:
    """One model's vectors against the catalog."""

    fingerprint: str
    name: str | None
    store: str | None
    catalog_vectors: int = 0
    store_vectors: int = 0
    missing: list[int] = field(default_factory=list)  # catalog says embedded, store has none
    orphans: list[int] = field(default_factory=list)  # store has, catalog does not know
    damaged: list[int] = field(default_factory=list)  # unreadable, not finite, not unit length
    error: str | None = None

    @property
    def problems(self) -> list[str]:
        label = self.name or self.fingerprint
        out = [f"model {label}: {self.error}"] if self.error else []
        for what, ids in (("missing", self.missing), ("orphaned", self.orphans),
                          ("damaged or unreadable", self.damaged)):
            if ids:
                out.append(f"model {label}: {len(ids)} vectors {what}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint, "name": self.name, "store": self.store,
            "catalog_vectors": self.catalog_vectors, "store_vectors": self.store_vectors,
            "missing": len(self.missing), "orphans": len(self.orphans),
            "damaged": len(self.damaged), "error": self.error,
        }


@dataclass
class Health:
    path: str
    exists: bool = True
    check: str = "integrity_check"
    integrity: list[str] = field(default_factory=list)  # SQLite's findings; empty = ok
    models: list[ModelHealth] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    error: str | None = None  # the library could not be opened or read at all

    @property
    def problems(self) -> list[str]:
        out = [self.error] if self.error else []
        out += [f"{self.check}: {finding}" for finding in self.integrity]
        for model in self.models:
            out += model.problems
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "exists": self.exists, "check": self.check,
            "ok": not self.problems, "problems": self.problems,
            "models": [m.to_json() for m in self.models], "temp_files": self.temp_files,
        }


def examine(library: Any) -> Health:
    """Check the library of ``library`` (a read-only :class:`~huisou.core.library.Library`)."""
    path = str(library.config.db_path)
    health = Health(path)
    health.temp_files = _temp_files(path)
    try:
        catalog = library.catalog
    except LibraryError as exc:
        health.error = str(exc)
        return health
    health.exists = catalog.exists
    if not catalog.exists:
        return health
    size = os.path.getsize(path)
    health.check = "integrity_check" if size <= FULL_CHECK_MAX_BYTES else "quick_check"
    try:
        rows = catalog.conn.execute(f"PRAGMA {health.check}({MAX_PROBLEMS})").fetchall()
        findings = [line for r in rows for line in str(r[0]).splitlines()]
        health.integrity = [f for f in findings if f not in ("ok", "*** in database main ***")]
        health.integrity += [
            f"item {r[1]} names a missing {r[2]}"
            for r in catalog.conn.execute("PRAGMA foreign_key_check").fetchall()
        ]
    except Exception as exc:
        health.integrity = [_describe(exc, path)]
    try:
        health.models = [_examine_model(library, catalog.conn, m) for m in _models(catalog.conn)]
    except Exception as exc:
        health.integrity.append(_describe(exc, path))
    return health


def _models(conn: Any) -> list[tuple[str, str | None, str | None, int]]:
    return conn.execute("SELECT fingerprint, name, store, dimensions FROM models").fetchall()


def _open_store(library: Any, conn: Any, store_id: str | None, namespace: str, dims: int) -> Any:
    cls = library.host.get_store_class(store_id or "")
    location = StoreLocation(str(library.config.db_path), namespace, dims, connection=conn)
    return cls(location)


def _examine_model(library: Any, conn: Any, row: tuple) -> ModelHealth:
    fingerprint, name, store_id, dims = row
    health = ModelHealth(fingerprint, name, store_id)
    embedded = {r[0] for r in conn.execute(
        "SELECT item_id FROM embeddings WHERE model=?", (fingerprint,))}
    health.catalog_vectors = len(embedded)
    try:
        store = _open_store(library, conn, store_id, fingerprint, dims)
    except HuisouError as exc:
        if embedded:
            health.error = str(exc)
            health.missing = sorted(embedded)
        return health
    try:
        readable, damaged = read_vectors(store, conn, embedded)
    finally:
        with contextlib.suppress(Exception):
            store.close()
    health.store_vectors = len(readable) + len(damaged)
    health.damaged = sorted(damaged)
    health.missing = sorted(embedded - readable - damaged)
    health.orphans = sorted((readable | damaged) - embedded)
    return health


def read_vectors(store: Any, conn: Any, expected: set[int]) -> tuple[set[int], set[int]]:
    """``(good ids, damaged ids)`` of a store: every vector is read; one that cannot be read,
    is not finite or is not unit length (backends return L2-normalised vectors) is damaged.
    Around damaged pages the ids the catalog expects are probed one by one."""
    good: set[int] = set()
    damaged: set[int] = set()
    try:
        for ids, matrix in store.scan():
            _sort_rows(ids, matrix, good, damaged)
        return good, damaged
    except Exception:  # noqa: BLE001 - a damaged page or row: read around it below
        good.clear()
        damaged.clear()
    for item_id in sorted(expected | _readable_ids(store)):
        try:
            ids, matrix = store.fetch([item_id])
        except Exception:  # noqa: BLE001 - SQLite's error, or a NULL/short vector BLOB
            damaged.add(item_id)
            continue
        _sort_rows(ids, matrix, good, damaged)
    return good, damaged


def _readable_ids(store: Any) -> set[int]:
    try:
        return set(store.ids())
    except Exception:
        return set()


def _sort_rows(ids: Any, matrix: Any, good: set[int], damaged: set[int]) -> None:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1) if len(ids) else np.zeros(0)
    fine = np.isfinite(norms) & (np.abs(norms - 1.0) < 0.01)
    good.update(int(i) for i in np.asarray(ids)[fine])
    damaged.update(int(i) for i in np.asarray(ids)[~fine])


def _temp_files(path: str) -> list[str]:
    folder = os.path.dirname(os.path.abspath(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if n.startswith(TEMP_PREFIXES))


def _describe(exc: BaseException, path: str) -> str:
    return db.describe_error(exc, path) or f"{type(exc).__name__}: {exc}"


# -- repair ------------------------------------------------------------------------------------


def repair(library_factory: Any, path: str) -> list[str]:
    """Repair the library at ``path``; returns what was done, one line each.

    ``library_factory(readonly)`` opens the library (a fresh object each time, because the
    file may be replaced underneath).
    """
    actions: list[str] = []
    _refuse_foreign(path)
    folder = os.path.dirname(os.path.abspath(path))
    for prefix in TEMP_PREFIXES:
        for stale in remove_stale(folder, prefix, grace=0):
            actions.append(f"removed {stale}, left by a writer that was killed")
    with contextlib.closing(library_factory(True)) as library:
        health = examine(library)
    if not health.exists:
        return actions + ["no library here yet: nothing to repair"]
    if health.problems:
        backup = _backup(path)
        actions.append(f"kept a copy of the damaged library as {backup}")
    if health.integrity or health.error:
        actions += _rebuild_file(library_factory, path)
    with contextlib.closing(library_factory(False)) as library:
        actions += _repair_vectors(library)
    for sidecar in glob.glob(glob.escape(path) + ".*.vidx"):
        os.unlink(sidecar)
        actions.append(f"deleted the search index {sidecar} (the next search rebuilds it)")
    return actions


def _refuse_foreign(path: str) -> None:
    """Only huisou's own libraries are repaired: a directory, an empty file or another
    application's database is refused (a damaged library, which SQLite cannot even
    identify, is what repairing is for)."""
    if not library_file.check_path(path):
        return
    try:
        conn = db.connect(path, readonly=True)
    except Exception:  # noqa: BLE001 - unreadable: salvage reports what it can
        return
    try:
        library_file.identify(conn, path)
    except LibraryError:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged beyond identification, unless not SQLite
        if db.error_code(exc) == db.SQLITE_NOTADB:
            raise LibraryError(db.describe_error(exc, path) or str(exc)) from None
    finally:
        conn.close()


def _backup(path: str) -> str:
    backup = f"{path}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            shutil.copy2(path + suffix, backup + suffix)
            os.chmod(backup + suffix, 0o600)
    return backup


def _rebuild_file(library_factory: Any, path: str) -> list[str]:
    """REINDEX when only indexes are damaged; else salvage every readable row."""
    with contextlib.suppress(Exception), contextlib.closing(library_factory(False)) as library:
        conn = library.catalog.conn
        conn.execute("REINDEX")
        if conn.execute("PRAGMA integrity_check(1)").fetchone()[0] == "ok":
            return ["rebuilt the damaged indexes (REINDEX); no rows were lost"]
    return salvage(library_factory, path)


def salvage(library_factory: Any, path: str) -> list[str]:
    """Copy every readable source, item and vector into a new library that replaces ``path``."""
    new_path = f"{path}.repairing"
    for leftover in (new_path, new_path + "-wal", new_path + "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(leftover)
    try:
        source = db.connect(path, readonly=True)
    except Exception as exc:
        raise LibraryError(_beyond_repair(path, exc)) from None
    try:
        counts = _copy_into(library_factory, source, path, new_path)
    finally:
        source.close()
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)
    os.replace(new_path, path)
    return [
        f"salvaged the readable rows into a new library: {counts['sources']} sources, "
        f"{counts['items']} photos, {counts['vectors']} vectors ({counts['lost_items']} "
        f"photo records and {counts['lost_vectors']} vectors could not be read; 'huisou index' "
        "finds those photos and embeds them again)"
    ]


def _beyond_repair(path: str, exc: BaseException) -> str:
    return (f"library {path} is damaged beyond repair here ({_describe(exc, path)}); restore a "
            "backup, or move it away and run 'huisou index' on your folders again")


def _copy_into(library_factory: Any, source: Any, path: str, new_path: str) -> dict[str, int]:
    from huisou.core.catalog import Catalog

    try:
        tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
        models = _models(source)
    except Exception as exc:
        raise LibraryError(_beyond_repair(path, exc)) from None
    counts = dict.fromkeys(("sources", "items", "vectors", "lost_items", "lost_vectors"), 0)
    target = Catalog(new_path)
    try:
        with target.transaction():
            for table in ("sources", "items", "models"):
                if table in tables:
                    counts[table], lost = _copy_table(source, target.conn, table)
                    if table == "items":
                        counts["lost_items"] = lost
        with contextlib.closing(library_factory(False)) as library:
            for fingerprint, _name, store_id, dims in models:
                copied, lost = _copy_vectors(library, source, target, store_id, fingerprint,
                                             dims, new_path)
                counts["vectors"] += copied
                counts["lost_vectors"] += lost
        target.conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
    return counts


def _copy_table(source: Any, target: Any, table: str) -> tuple[int, int]:
    columns = [r[1] for r in target.execute(f"PRAGMA table_info({table})")]
    have = {r[1] for r in source.execute(f"PRAGMA table_info({table})")}
    columns = [c for c in columns if c in have]
    insert = (f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
              f"VALUES ({', '.join('?' * len(columns))})")
    copied = lost = 0
    for row in _readable_rows(source, table, columns):
        if row is None:
            lost += 1
            continue
        target.execute(insert, row)
        copied += 1
    return copied, lost


def _readable_rows(conn: Any, table: str, columns: list[str]) -> Iterator[tuple | None]:
    """Rows of a rowid table, reading around damaged pages: a chunk that fails is read row by
    row, and a row that fails yields None (counted as lost)."""
    select = f"SELECT {', '.join(columns)} FROM {table} WHERE rowid BETWEEN ? AND ?"
    try:
        top = conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except Exception:
        return
    for start in range(0, top + 1, PROBE_CHUNK):
        try:
            yield from conn.execute(select, (start, start + PROBE_CHUNK - 1)).fetchall()
            continue
        except Exception as exc:
            if not db.is_sqlite_error(exc):
                raise
        for rowid in range(start, start + PROBE_CHUNK):
            try:
                yield from conn.execute(select, (rowid, rowid)).fetchall()
            except Exception:
                yield None


def _copy_vectors(
    library: Any, source: Any, target: Any, store_id: str | None, fingerprint: str, dims: int,
    new_path: str,
) -> tuple[int, int]:
    """Copy one model's readable, sound vectors of photos the new library knows."""
    import numpy as np

    items = {r[0] for r in target.conn.execute("SELECT id FROM items")}
    try:
        old = _open_store(library, source, store_id, fingerprint, dims)
    except HuisouError:
        return 0, 0
    good, damaged = read_vectors(old, source, items)
    keep = sorted(good & items)
    try:
        expected = {r[0] for r in source.execute(
            "SELECT item_id FROM embeddings WHERE model=?", (fingerprint,))}
    except Exception:  # noqa: BLE001 - the catalog's list is damaged too
        expected = good | damaged
    cls = library.host.get_store_class(store_id or "")
    new = cls(StoreLocation(new_path, fingerprint, dims, connection=target.conn))
    try:
        for start in range(0, len(keep), 500):
            ids, matrix = old.fetch(keep[start : start + 500])
            with target.transaction():
                new.upsert([int(i) for i in ids], np.asarray(matrix))
                target.mark_embedded([int(i) for i in ids], fingerprint)
    finally:
        old.close()
        new.close()
    return len(keep), len((expected & items) - set(keep))


def _repair_vectors(library: Any) -> list[str]:
    """Drop unreadable, damaged and orphaned vectors; forget missing ones (re-embedded)."""
    actions: list[str] = []
    catalog = library.catalog
    for row in _models(catalog.conn):
        health = _examine_model(library, catalog.conn, row)
        if health.error and not health.missing:
            continue
        label = health.name or health.fingerprint
        drop = sorted(set(health.damaged) | set(health.orphans))
        forget = sorted(set(health.damaged) | set(health.missing))
        if not (drop or forget):
            continue
        store = None if health.error else _open_store(
            library, catalog.conn, health.store, health.fingerprint, row[3])
        try:
            with catalog.transaction():
                if store is not None and drop:
                    store.delete(drop)
                catalog.unmark_embedded(forget, health.fingerprint)
        finally:
            if store is not None:
                store.close()
        if drop:
            actions.append(f"model {label}: removed {len(drop)} damaged or orphaned vectors")
        if forget:
            actions.append(f"model {label}: {len(forget)} photos lost their vectors; "
                           "'huisou index' embeds them again")
    return actions
