"""The catalog: sources, items and which items have vectors for which model, in one SQLite file.

Schema changes are numbered migrations applied in order and recorded in ``PRAGMA user_version``,
so an old library opens in a new huisou without a manual step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huisou.core import db, library_file
from huisou.core import where as where_language
from huisou.core.errors import LibraryError
from huisou.core.schema import ITEM_COLUMNS, METADATA_COLUMNS, MIGRATIONS
from huisou.core.where import Condition


@dataclass
class SourceRecord:
    id: int
    type: str
    root: str
    options: dict[str, Any]
    added_at: float
    last_indexed_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "root": self.root,
            "options": self.options,
            "added_at": iso_time(self.added_at),
            "last_indexed_at": iso_time(self.last_indexed_at),
        }


#: Metadata columns only decoding knows: a re-extraction without decoding keeps them.
_DECODE_COLUMNS = frozenset({"width", "height", "format", "orientation"})


def iso_time(epoch: float | None) -> str | None:
    """An instant as ISO 8601 with the local UTC offset: the one time format of all JSON."""
    if epoch is None:
        return None
    from datetime import datetime

    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def split_path(path: str) -> tuple[str, str]:
    """``(folder, name)`` of a path or URI, split at the last slash."""
    folder, _, name = path.rpartition("/")
    return folder or "/", name


class Catalog:
    """Typed access to the library database. One instance per thread that writes.

    ``readonly`` catalogs never write and never create: a missing library reads as an empty
    one (held in memory, ``exists`` False), an older schema is reported rather than migrated.
    Every SQLite error while opening becomes a one-line :class:`LibraryError`.
    """

    def __init__(
        self, path: str | Path, *, readonly: bool = False, private_dir: str | Path | None = None
    ) -> None:
        self.path = str(path)
        self.readonly = readonly
        self.exists = True
        try:
            self.conn = self._open(private_dir)
        except LibraryError:
            raise
        except Exception as exc:
            message = db.describe_error(exc, self.path)
            if message is None:
                raise
            raise LibraryError(message) from None

    def _open(self, private_dir: str | Path | None) -> Any:
        if self.path in ("", ":memory:"):
            conn = db.connect(":memory:")
            library_file.migrate(conn)
            return conn
        if not library_file.check_path(self.path):
            if self.readonly:
                self.exists = False
                return self._empty_in_memory()
            library_file.create(self.path, str(private_dir) if private_dir else None)
        conn = db.connect(self.path, readonly=self.readonly, wal=False)
        try:
            version = library_file.identify(conn, self.path)
            if not self.readonly:
                db.use_wal(conn)
                library_file.migrate(conn)
            elif version < len(MIGRATIONS):
                raise LibraryError(
                    f"library {self.path} has an older layout (schema {version}, this huisou "
                    f"uses {len(MIGRATIONS)}): run 'huisou index' once to upgrade it "
                    "(read-only commands never write)"
                )
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _empty_in_memory() -> Any:
        conn = db.connect(":memory:")
        library_file.migrate(conn)
        conn.execute("PRAGMA query_only=1")
        return conn

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``: the write lock is taken up front, so a concurrent
        writer waits on the busy timeout instead of failing half-way through a batch."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            # SQLite may have rolled back already (disk full, I/O error): keep the real error
            if self.conn.in_transaction:
                with suppress(Exception):
                    self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- sources -------------------------------------------------------------------------------

    def add_source(self, type_id: str, root: str, options: dict[str, Any] | None = None) -> int:
        """Add a source; returns its id. For a known source, ``options`` (when given) are
        merged into the stored ones, so ``huisou index PATH`` alone keeps earlier flags."""
        with self.transaction():
            row = self.conn.execute(
                f"SELECT id, options FROM sources WHERE type=? AND root={db.TEXT}",
                (type_id, db.text_param(root)),
            ).fetchone()
            if row:
                if options:
                    merged = {**json.loads(row[1] or "{}"), **options}
                    self.conn.execute(
                        "UPDATE sources SET options=? WHERE id=?",
                        (json.dumps(merged, sort_keys=True), row[0]),
                    )
                return int(row[0])
            cur = self.conn.execute(
                f"INSERT INTO sources (type, root, options, added_at) VALUES (?, {db.TEXT}, ?, ?)",
                (type_id, db.text_param(root), json.dumps(options or {}, sort_keys=True), time.time()),
            )
            return int(cur.lastrowid)

    def remove_source(
        self, source_id: int, drop_vectors: Callable[[list[int]], None] | None = None
    ) -> int:
        """Forget a source and its items (the photos themselves are untouched).

        ``drop_vectors(ids)`` runs in the same transaction so a store never keeps vectors of
        items the catalog no longer has (they would take top-k slots from real results).
        """
        with self.transaction():
            ids = [
                r[0]
                for r in self.conn.execute("SELECT id FROM items WHERE source_id=?", (source_id,))
            ]
            if ids and drop_vectors is not None:
                drop_vectors(ids)
            self.delete_items(ids)
            self.conn.execute("DELETE FROM sources WHERE id=?", (source_id,))
        return len(ids)

    def sources(self) -> list[SourceRecord]:
        rows = self.conn.execute(
            "SELECT id, type, root, options, added_at, last_indexed_at FROM sources ORDER BY id"
        ).fetchall()
        return [SourceRecord(r[0], r[1], r[2], json.loads(r[3] or "{}"), r[4], r[5]) for r in rows]

    def source_counts(self, source_id: int) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT status, COUNT(*) FROM items WHERE source_id=? GROUP BY status", (source_id,)
        ).fetchall()
        return {status: count for status, count in rows}

    def mark_source_indexed(self, source_id: int) -> None:
        self.conn.execute(
            "UPDATE sources SET last_indexed_at=? WHERE id=?", (time.time(), source_id)
        )

    # -- items ---------------------------------------------------------------------------------

    def stat_index(self) -> dict[str, tuple[int, int, int, str, int | None]]:
        """``path -> (id, size, mtime_ns, status, source_id)`` for every item: the fast-path
        diff table (one query; about 30 MB for 100k items)."""
        rows = self.conn.execute("SELECT path, id, size, mtime_ns, status, source_id FROM items")
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def embedded_ids(self, model: str) -> set[int]:
        rows = self.conn.execute("SELECT item_id FROM embeddings WHERE model=?", (model,))
        return {r[0] for r in rows}

    def embedded_count(self, model: str) -> int:
        """How many items have a vector of ``model`` (an index count, no vector is read)."""
        row = self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model=?", (model,))
        return int(row.fetchone()[0])

    def sample_embedded(self, model: str, n: int) -> list[int]:
        """Up to ``n`` ids with a vector of ``model``, spread over the library: a fixed
        pseudo-random order (Knuth's multiplicative hash of the id), so the same library gives
        the same sample, ordered in SQLite rather than in Python."""
        rows = self.conn.execute(
            "SELECT item_id FROM embeddings WHERE model=? "
            "ORDER BY (item_id * 2654435761) % 4294967296 LIMIT ?",
            (model, int(n)),
        )
        return [int(r[0]) for r in rows]

    def item_by_path(self, path: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE path={db.TEXT}",
            (db.text_param(path),),
        ).fetchone()
        return dict(zip(ITEM_COLUMNS, row, strict=True)) if row else None

    def items_by_ids(
        self, ids: Sequence[int], embedded_for: str | None = None
    ) -> dict[int, dict[str, Any]]:
        """``id -> item`` for the ids that exist; with ``embedded_for``, only items that have a
        vector of that model. Why that matters: SQLite reuses the highest ids after a delete,
        and another model's store may still hold the old photo's vector under such an id."""
        out: dict[int, dict[str, Any]] = {}
        ids = list(ids)
        embedded = (
            " AND EXISTS (SELECT 1 FROM embeddings WHERE item_id=items.id AND model=?)"
            if embedded_for
            else ""
        )
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.conn.execute(
                f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE id IN "
                f"({','.join('?' * len(chunk))}){embedded}",
                [*chunk, embedded_for] if embedded_for else chunk,
            )
            for row in rows:
                out[row[0]] = dict(zip(ITEM_COLUMNS, row, strict=True))
        return out

    def content_hashes(self, ids: Iterable[int]) -> dict[int, str]:
        """``id -> content_hash`` for the given items that have one (moves, touched files)."""
        out: dict[int, str] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.conn.execute(
                "SELECT id, content_hash FROM items WHERE content_hash IS NOT NULL AND id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update(rows)
        return out

    def upsert_item(
        self,
        *,
        source_id: int | None,
        path: str,
        size: int,
        mtime_ns: int,
        status: str,
        content_hash: str | None = None,
        error: str | None = None,
        group_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        depends_sig: str | None = None,
    ) -> int:
        """Insert or update an item by path; returns its id. Call inside a transaction."""
        folder, name = split_path(path)
        meta = {col: (metadata or {}).get(col) for col in METADATA_COLUMNS}
        values = {
            "source_id": source_id,
            "path": path,
            "folder": folder,
            "name": name,
            "size": size,
            "mtime_ns": mtime_ns,
            "content_hash": content_hash,
            "status": status,
            "error": error,
            "group_key": group_key,
            "updated_at": time.time(),
            "depends_sig": depends_sig,
            **meta,
        }
        cols = list(values)
        params = [db.text_param(values[c]) for c in cols]
        marks = [db.TEXT if isinstance(v, bytes) else "?" for v in params]
        row = self.conn.execute(
            f"INSERT INTO items ({', '.join(cols)}) VALUES ({', '.join(marks)}) "
            f"ON CONFLICT(path) DO UPDATE SET "
            f"{', '.join(f'{c}=excluded.{c}' for c in cols if c != 'path')} RETURNING id",
            params,
        ).fetchone()
        return int(row[0])

    def touch_item(
        self, item_id: int, size: int, mtime_ns: int, content_hash: str | None = None
    ) -> None:
        """Record a new size/mtime for content that did not change (same hash; given, it is
        stored, e.g. re-spelled with the preferred algorithm)."""
        self.conn.execute(
            "UPDATE items SET size=?, mtime_ns=?, content_hash=COALESCE(?, content_hash), "
            "updated_at=? WHERE id=?",
            (size, mtime_ns, content_hash, time.time(), item_id),
        )

    def move_item(
        self,
        item_id: int,
        source_id: int | None,
        path: str,
        size: int,
        mtime_ns: int,
        content_hash: str | None = None,
    ) -> None:
        """Give an existing item (and so its vectors) a new path."""
        folder, name = split_path(path)
        path, folder, name = (db.text_param(v) for v in (path, folder, name))
        self.conn.execute(f"DELETE FROM items WHERE path={db.TEXT} AND id<>?", (path, item_id))
        self.conn.execute(
            f"UPDATE items SET source_id=?, path={db.TEXT}, folder={db.TEXT}, name={db.TEXT}, "
            "size=?, mtime_ns=?, content_hash=COALESCE(?, content_hash), updated_at=? WHERE id=?",
            (source_id, path, folder, name, size, mtime_ns, content_hash, time.time(), item_id),
        )

    def update_metadata(
        self, item_id: int, metadata: dict[str, Any], depends_sig: str | None
    ) -> None:
        """Re-extracted metadata of an unchanged photo (a sidecar or an extractor changed):
        the columns extractors fill, except what only decoding tells (size, format)."""
        cols = [c for c in METADATA_COLUMNS if c not in _DECODE_COLUMNS]
        self.conn.execute(
            f"UPDATE items SET {', '.join(f'{c}=?' for c in cols)}, depends_sig=?, "
            "updated_at=? WHERE id=?",
            [*(metadata.get(c) for c in cols), depends_sig, time.time(), item_id],
        )

    def depends_sigs(self) -> dict[str, str]:
        """``path -> signature of its sidecar files`` for the items that have sidecars."""
        rows = self.conn.execute("SELECT path, depends_sig FROM items WHERE depends_sig IS NOT NULL")
        return {r[0]: r[1] for r in rows}

    def record_extractions(self, item_id: int, versions: dict[str, str]) -> None:
        """Remember which extractor versions saw this photo (see :meth:`stale_extractions`)."""
        self.conn.executemany(
            "INSERT INTO extractions (item_id, extractor, version) VALUES (?, ?, ?) "
            "ON CONFLICT(item_id, extractor) DO UPDATE SET version=excluded.version",
            [(item_id, name, version) for name, version in versions.items()],
        )

    def stale_extractions(self, active: dict[str, str]) -> dict[int, set[str]]:
        """``id -> names of active extractors`` that have not seen this indexed photo at their
        current version: new extractors, upgraded ones. One pass in SQLite."""
        if not active:
            return {}
        pairs = ",".join("(?, ?)" for _ in active)
        rows = self.conn.execute(
            f"WITH active(extractor, version) AS (VALUES {pairs}) "
            "SELECT i.id, a.extractor FROM items i CROSS JOIN active a "
            "WHERE i.status = 'indexed' AND NOT EXISTS (SELECT 1 FROM extractions e "
            "WHERE e.item_id = i.id AND e.extractor = a.extractor AND e.version = a.version)",
            [value for pair in active.items() for value in pair],
        )
        stale: dict[int, set[str]] = {}
        for item_id, name in rows:
            stale.setdefault(int(item_id), set()).add(name)
        return stale

    def state(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM library_state WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO library_state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def delete_items(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            self.conn.execute(
                f"DELETE FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )

    # -- models and embeddings -------------------------------------------------------------

    def ensure_model(
        self, fingerprint: str, backend: str, name: str | None, dimensions: int, store: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO models (fingerprint, backend, name, dimensions, store, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE SET "
            "store=excluded.store",
            (fingerprint, backend, name, dimensions, store, time.time()),
        )

    def mark_model_complete(self, fingerprint: str) -> None:
        """Record that an index run with this model finished: from now on it is the one
        searches use by default (until then the previous model's vectors keep serving)."""
        self.conn.execute(
            "UPDATE models SET completed_at=? WHERE fingerprint=?", (time.time(), fingerprint)
        )

    def last_model(self) -> tuple[str, str] | None:
        """``(backend, name)`` of the model whose index run completed last (else the newest),
        so ``huisou search`` uses the model the library was indexed with unless told."""
        row = self.conn.execute(
            "SELECT backend, name FROM models WHERE name IS NOT NULL "
            "ORDER BY completed_at IS NULL, completed_at DESC, created_at DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else None

    def models(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT m.fingerprint, m.backend, m.name, m.dimensions, m.store, "
            "(SELECT COUNT(*) FROM embeddings e WHERE e.model = m.fingerprint) FROM models m"
        ).fetchall()
        keys = ("fingerprint", "backend", "name", "dimensions", "store", "vectors")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def mark_embedded(self, item_ids: Sequence[int], model: str) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO embeddings (item_id, model) VALUES (?, ?)",
            [(i, model) for i in item_ids],
        )

    def unmark_embedded(self, item_ids: Sequence[int], model: str) -> None:
        self.conn.executemany(
            "DELETE FROM embeddings WHERE item_id=? AND model=?", [(i, model) for i in item_ids]
        )

    # -- queries ---------------------------------------------------------------------------

    def status_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) FROM items GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    def failures(self, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT path, status, error FROM items WHERE status IN ('unreadable', 'unsupported') "
            "ORDER BY path LIMIT ?",
            (limit,),
        ).fetchall()
        return [{"path": r[0], "status": r[1], "error": r[2]} for r in rows]

    def filter_ids(
        self,
        model: str,
        *,
        folder: str | None = None,
        after: str | None = None,
        before: str | None = None,
        camera: str | None = None,
        has_gps: bool | None = None,
        weekdays: Sequence[int] | None = None,
        where: Sequence[Condition] = (),
    ) -> list[int] | None:
        """Ids of embedded items matching the filters, or None when no filter is set. The
        named filters are shorthands for ``--where`` conditions (:func:`where.shorthands`)."""
        conditions = [
            *where_language.shorthands(folder=folder, after=after, before=before,
                                       camera=camera, has_gps=has_gps, weekdays=weekdays),
            *where,
        ]
        return self.ids_where(model, conditions) if conditions else None

    def ids_where(self, model: str, conditions: Sequence[Condition]) -> list[int]:
        """Ids of the items with a vector of ``model`` that meet every condition (compiled by
        :mod:`huisou.core.where`: SQL over ``items i`` with bound parameters).

        The vector check is a primary-key probe after the conditions, so SQLite starts from
        the conditions' own index (a ``taken_at`` range: 840 of 100k photos in 2 ms instead of
        26 ms through a join it started from ``embeddings``; benchmarks/where.py)."""
        clauses = " AND ".join(f"({condition.sql})" for condition in conditions) or "1"
        params = [*(p for condition in conditions for p in condition.params), model]
        rows = self.conn.execute(
            f"SELECT i.id FROM items i WHERE {clauses} AND EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.item_id = i.id AND e.model = ?)",
            params,
        )
        return [r[0] for r in rows]

    def positions(self, model: str) -> list[tuple[int, float, float]]:
        """``(id, lat, lon)`` of the items with GPS that have a vector of ``model``."""
        rows = self.conn.execute(
            "SELECT i.id, i.gps_lat, i.gps_lon FROM items i JOIN embeddings e "
            "ON e.item_id = i.id AND e.model = ? WHERE i.gps_lat IS NOT NULL",
            (model,),
        )
        return [(int(r[0]), float(r[1]), float(r[2])) for r in rows]

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]
