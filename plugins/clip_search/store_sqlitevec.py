"""The sqlite-vec store: a ``vec0`` table per model in the library database.

Vectors live in ``vec_<model>`` (``float[d]``, cosine distance), so any SQLite client with the
extension can run KNN over the library. Interactive search goes through the shared memory-mapped
index (vec0's own brute-force KNN takes ~130 ms at 100k vectors; the index ~8 ms, same results
to recall ≥ 0.99), and filtered searches whose index is stale run *inside* vec0's KNN query
with a ``rowid IN (...)`` constraint (supported since sqlite-vec 0.1.6) instead of over-fetching.

Building the index reads vec0's chunk shadow tables directly (``<t>_chunks`` rowids and
validity bitmap + ``<t>_vector_chunks00`` vectors, 1024 rows per BLOB): ~60 ms for 100k
vectors, where ``SELECT rowid, embedding`` from vec0 takes ~4 s. If the shadow layout is not
the one this code knows (a future sqlite-vec), it falls back to the slow, public scan.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from huisou.core import db
from huisou.core.errors import HuisouError
from huisou.core.interfaces import StoreLocation
from huisou.plugins.clip_search.store_base import (
    SQLiteVectorStore,
    fetch_vectors,
    id_batches,
    table_suffix,
)

log = logging.getLogger(__name__)


def _loadable_path() -> str:
    """Where the ``sqlite-vec`` package keeps its ``vec0`` library, without importing it.

    Why not ``import sqlite_vec``: its ``__init__`` imports ``numpy.typing`` (44 ms, a tenth of
    a cold ``huisou search``) for helpers huisou does not use. The path is what its own
    ``loadable_path()`` returns.
    """
    import importlib.util
    import os

    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        raise HuisouError(
            "sqlite-vec is not installed (pip install sqlite-vec; Termux has no wheel)"
        )
    return os.path.join(list(spec.submodule_search_locations)[0], "vec0")


class SqliteVecStore(SQLiteVectorStore):
    """``CREATE VIRTUAL TABLE vec_<model> USING vec0(embedding float[d] distance_metric=cosine)``."""

    store_id: ClassVar[str] = "sqlite-vec"

    def __init__(self, location: StoreLocation) -> None:
        self.table = self.table_for(location.namespace)
        self.vec_version: str | None = None
        super().__init__(location)

    @staticmethod
    def table_for(namespace: str) -> str:
        return "vec_" + table_suffix(namespace)

    def prepare_connection(self) -> None:
        version = self._loaded_version()
        if version is None:
            path = _loadable_path()
            reason = db.load_extension(self.conn, lambda conn: conn.load_extension(path))
            if reason is not None:
                if self._own_conn:
                    self.conn.close()
                raise HuisouError(f"cannot load the sqlite-vec extension: {reason}")
            version = self._loaded_version()
        self.vec_version = version

    def _loaded_version(self) -> str | None:
        try:
            return str(self.conn.execute("SELECT vec_version()").fetchone()[0])
        except Exception:  # noqa: BLE001 - "no such function" in whichever driver is in use
            return None

    def create_table(self) -> None:
        self.conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.table} USING "
            f"vec0(embedding float[{self.dims}] distance_metric=cosine)"
        )

    def write_rows(self, ids: list[int], blobs: list[bytes]) -> None:
        # vec0 has no UPSERT: delete then insert, atomically inside the caller's savepoint
        self.conn.executemany(f"DELETE FROM {self.table} WHERE rowid = ?", ((i,) for i in ids))
        self.conn.executemany(
            f"INSERT INTO {self.table} (rowid, embedding) VALUES (?, ?)", zip(ids, blobs, strict=True)
        )

    def delete_rows(self, ids: list[int]) -> int:
        present = [i for chunk in id_batches(ids) for i in self._present(chunk)]
        self.conn.executemany(f"DELETE FROM {self.table} WHERE rowid = ?", ((i,) for i in present))
        return len(present)

    def _present(self, chunk: list[int]) -> list[int]:
        marks = ",".join("?" * len(chunk))
        try:
            rows = self.conn.execute(
                f"SELECT rowid FROM {self.table}_rowids WHERE rowid IN ({marks})", chunk
            )
        except Exception:  # noqa: BLE001 - unknown shadow layout
            rows = self.conn.execute(f"SELECT rowid FROM {self.table} WHERE rowid IN ({marks})",
                                     chunk)
        return [int(r[0]) for r in rows]

    def count(self) -> int:
        try:
            return int(self.conn.execute(f"SELECT COUNT(*) FROM {self.table}_rowids").fetchone()[0])
        except Exception:  # noqa: BLE001 - unknown shadow layout: the public (slow) way
            return int(self.conn.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0])

    def ids(self) -> set[int]:
        try:
            rows = self.conn.execute(f"SELECT rowid FROM {self.table}_rowids")
        except Exception:  # noqa: BLE001
            rows = self.conn.execute(f"SELECT rowid FROM {self.table}")
        return {int(r[0]) for r in rows}

    def scan(self) -> Iterator[tuple[Any, Any]]:
        if shadow_layout_known(self.conn, self.table):
            yield from scan_shadow(self.conn, self.table, self.dims)
        else:
            yield from self._scan_public()

    def _scan_public(self) -> Iterator[tuple[Any, Any]]:
        import numpy as np

        cur = self.conn.execute(f"SELECT rowid, embedding FROM {self.table}")
        while rows := cur.fetchmany(4096):
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
            yield ids, matrix.reshape(len(rows), self.dims)

    def fetch(self, ids: Sequence[int]) -> tuple[Any, Any]:
        if shadow_layout_known(self.conn, self.table):
            return fetch_shadow(self.conn, self.table, ids, self.dims)
        return fetch_vectors(self.conn, self.table, "rowid", "embedding", ids, self.dims)

    def search_candidates(
        self, query: Any, k: int, candidates: list[int]
    ) -> list[tuple[int, float]]:
        """KNN restricted inside vec0: ``embedding MATCH ? AND k = ? AND rowid IN (...)``."""
        rows = self.conn.execute(
            f"SELECT rowid, distance FROM {self.table} WHERE embedding MATCH ? AND k = ? "
            "AND rowid IN (SELECT value FROM json_each(?)) ORDER BY distance",
            (query.tobytes(), int(k), json.dumps(candidates)),
        ).fetchall()
        hits = [(int(r[0]), 1.0 - float(r[1])) for r in rows]
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["table"] = self.table
        info["sqlite_vec_version"] = self.vec_version
        return info

    def sibling_scan(self) -> Iterator[tuple[Any, Any]] | None:
        """Vectors the numpy store wrote for this model while sqlite-vec was unavailable."""
        from huisou.plugins.clip_search.store_numpy import NumpyVectorStore

        table = NumpyVectorStore.table_for(self.namespace)
        if not self.table_exists(table):
            return None
        return NumpyVectorStore.scan_table(self.conn, table, self.dims)


def shadow_layout_known(conn: Any, table: str) -> bool:
    """Whether vec0's shadow tables for ``table`` have the layout :func:`scan_shadow` reads."""
    try:
        chunks = {r[1] for r in conn.execute(f"PRAGMA table_info({table}_chunks)")}
        vectors = {r[1] for r in conn.execute(f"PRAGMA table_info({table}_vector_chunks00)")}
    except Exception:  # noqa: BLE001
        return False
    return {"chunk_id", "size", "validity", "rowids"} <= chunks and "vectors" in vectors


def scan_shadow(conn: Any, table: str, dims: int) -> Iterator[tuple[Any, Any]]:
    """Read a vec0 table's vectors from its shadow tables (plain tables: no extension needed).

    ``<t>_chunks`` holds per chunk a validity bitmap (little-endian bit order, 1 = slot in use)
    and the slots' int64 rowids; ``<t>_vector_chunks00`` the slots' float32 vectors.
    """
    import numpy as np

    # Two plain scans, not a JOIN: the planner sorted the joined 2 MB rows in a temporary
    # b-tree (3 s and 1.3 GB peak RSS for 300k vectors; the two scans take 0.2 s).
    chunks = {
        chunk_id: (size, validity, rowids)
        for chunk_id, size, validity, rowids in conn.execute(
            f"SELECT chunk_id, size, validity, rowids FROM {table}_chunks"
        )
    }
    for chunk_id, vectors in conn.execute(f"SELECT rowid, vectors FROM {table}_vector_chunks00"):
        if chunk_id not in chunks:
            continue
        size, validity, rowids = chunks[chunk_id]
        valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid = valid[:size].astype(bool)
        ids = np.frombuffer(rowids, dtype=np.int64)[:size][valid]
        matrix = np.frombuffer(vectors, dtype=np.float32).reshape(-1, dims)[:size]
        if len(ids):
            yield ids, matrix[valid]


def fetch_shadow(conn: Any, table: str, ids: Sequence[int], dims: int) -> tuple[Any, Any]:
    """``(found ids in id order, float32 matrix)`` read from vec0's shadow tables.

    Why: vec0 answers ``rowid IN (...)`` by reading a whole 1024-vector chunk (2 MB at 512
    dims) per id: 1000 ids took 1.9 s at 200k vectors. Here each chunk holding a wanted id is
    read once, and new photos (the usual delta) sit together in the last chunks.
    """
    import numpy as np

    slots: dict[int, list[tuple[int, int]]] = {}  # chunk id -> [(offset, item id)]
    for chunk in id_batches(sorted({int(i) for i in ids})):
        for item_id, chunk_id, offset in conn.execute(
            f"SELECT rowid, chunk_id, chunk_offset FROM {table}_rowids WHERE rowid IN "
            f"({','.join('?' * len(chunk))})", chunk,
        ):
            slots.setdefault(int(chunk_id), []).append((int(offset), int(item_id)))
    found: list[int] = []
    rows: list[Any] = []
    for chunk in id_batches(sorted(slots)):
        for chunk_id, vectors in conn.execute(
            f"SELECT rowid, vectors FROM {table}_vector_chunks00 WHERE rowid IN "
            f"({','.join('?' * len(chunk))})", chunk,
        ):
            matrix = np.frombuffer(vectors, dtype=np.float32).reshape(-1, dims)
            for offset, item_id in slots[int(chunk_id)]:
                found.append(item_id)
                rows.append(matrix[offset])
    order = np.argsort(np.asarray(found, dtype=np.int64), kind="stable")
    matrix = np.stack(rows)[order] if rows else np.zeros((0, dims), dtype=np.float32)
    return np.asarray(found, dtype=np.int64)[order], matrix
