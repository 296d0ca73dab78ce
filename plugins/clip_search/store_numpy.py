"""The numpy store: float32 BLOBs in a plain table, searched by the shared numpy index.

It needs nothing but numpy and any ``sqlite3``, so it is the fallback where sqlite-vec cannot
be loaded (Termux has no wheel; many Pythons cannot load SQLite extensions). It is announced
once per process, and ``describe()`` carries the notice for ``huisou doctor``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from huisou.core import db
from huisou.core.interfaces import StoreLocation
from huisou.plugins.clip_search.store_base import (
    SCAN_CHUNK,
    SQLiteVectorStore,
    fetch_vectors,
    id_batches,
    table_suffix,
)

log = logging.getLogger(__name__)

NOTICE = (
    "vectors are searched with numpy over float32 BLOBs (store 'numpy'), not sqlite-vec; "
    "search speed is the same, SQL KNN queries are not available"
)
_announced = False


class NumpyVectorStore(SQLiteVectorStore):
    """Table ``huisou_vectors_<model>(id INTEGER PRIMARY KEY, vector BLOB)``."""

    store_id: ClassVar[str] = "numpy"

    def __init__(self, location: StoreLocation) -> None:
        global _announced
        self.table = self.table_for(location.namespace)
        super().__init__(location)
        if not _announced:
            _announced = True
            log.info("%s", NOTICE)

    @staticmethod
    def table_for(namespace: str) -> str:
        return "huisou_vectors_" + table_suffix(namespace)

    def create_table(self) -> None:
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} "
            "(id INTEGER PRIMARY KEY, vector BLOB NOT NULL)"
        )

    def write_rows(self, ids: list[int], blobs: list[bytes]) -> None:
        self.conn.executemany(
            f"INSERT INTO {self.table} (id, vector) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET vector=excluded.vector",
            zip(ids, blobs, strict=True),
        )

    def delete_rows(self, ids: list[int]) -> int:
        removed = 0
        for chunk in id_batches(ids):
            cur = self.conn.execute(
                f"DELETE FROM {self.table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            removed += max(cur.rowcount, 0)
        return removed

    def scan(self) -> Iterator[tuple[Any, Any]]:
        return self.scan_table(self.conn, self.table, self.dims)

    @staticmethod
    def scan_table(conn: Any, table: str, dims: int) -> Iterator[tuple[Any, Any]]:
        """Stream ``(ids, float32 matrix)`` chunks out of a numpy-store table."""
        import numpy as np

        cur = conn.execute(f"SELECT id, vector FROM {table} ORDER BY id")
        while rows := cur.fetchmany(SCAN_CHUNK):
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
            yield ids, matrix.reshape(len(rows), dims)

    def sibling_scan(self) -> Iterator[tuple[Any, Any]] | None:
        """Vectors sqlite-vec stored for this model (read from vec0's plain shadow tables, so
        a library indexed elsewhere keeps working where the extension cannot load)."""
        from huisou.plugins.clip_search.store_sqlitevec import (
            SqliteVecStore,
            scan_shadow,
            shadow_layout_known,
        )

        table = SqliteVecStore.table_for(self.namespace)
        if not shadow_layout_known(self.conn, table):
            return None
        return scan_shadow(self.conn, table, self.dims)

    def fetch(self, ids: Sequence[int]) -> tuple[Any, Any]:
        return fetch_vectors(self.conn, self.table, "id", "vector", ids, self.dims)

    def count(self) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0])

    def is_empty(self) -> bool:
        # COUNT(*) reads every 2 KB row of the table (170 ms at 100k); this reads one
        return self.conn.execute(f"SELECT 1 FROM {self.table} LIMIT 1").fetchone() is None

    def ids(self) -> set[int]:
        return {int(r[0]) for r in self.conn.execute(f"SELECT id FROM {self.table}")}

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["table"] = self.table
        info["notice"] = NOTICE
        extension = db.driver_info()
        if not extension.can_load_extensions:
            info["notice"] += f" ({extension.reason})"
        return info
