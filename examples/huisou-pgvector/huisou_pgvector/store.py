"""``PgVectorStore``: vectors in a PostgreSQL table with a pgvector column."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from huisou.core.errors import HuisouError
from huisou.core.interfaces import StoreLocation, VectorStore

DSN_ENV = "HUISOU_PG_DSN"
INDEXES = ("none", "hnsw")


def table_name(namespace: str) -> str:
    """A safe, bounded table name for a model fingerprint (identifiers are max 63 bytes)."""
    slug = re.sub(r"[^a-z0-9_]+", "_", namespace.lower()).strip("_")
    return f"huisou_vec_{slug}"[:63]


def vector_literal(vector: Any) -> str:
    """pgvector's text form, ``[x,y,...]``; ``repr`` of float32 keeps every digit."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


class PgVectorStore(VectorStore):
    """Vectors in PostgreSQL; exact search by default, HNSW with ``index = "hnsw"``.

    Options (``[store_options]`` in ``config.toml``, i.e. ``location.options``): ``dsn``
    (else ``$HUISOU_PG_DSN``), ``index`` (``none`` or ``hnsw``), ``ef_search`` (HNSW recall
    knob, default 100).
    """

    store_id: ClassVar[str] = "pgvector"

    def __init__(self, location: StoreLocation) -> None:
        super().__init__(location)
        options = location.options or {}
        self.dsn = options.get("dsn") or os.environ.get(DSN_ENV)
        if not self.dsn:
            raise HuisouError(
                f"the pgvector store needs a server: set dsn in [store_options] of config.toml "
                f"or {DSN_ENV}"
            )
        self.index = options.get("index", "none")
        if self.index not in INDEXES:
            raise HuisouError(f"pgvector store: index must be one of {INDEXES}, got {self.index!r}")
        self.ef_search = int(options.get("ef_search", 100))
        self.table = table_name(location.namespace)
        self._lock = threading.Lock()
        self._conn = self._connect()
        self._create()

    def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise HuisouError("the pgvector store needs psycopg: pip install 'psycopg[binary]'") from exc
        try:
            return psycopg.connect(self.dsn, autocommit=True)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HuisouError(f"cannot connect to PostgreSQL for the pgvector store: {first}") from exc

    def _create(self) -> None:
        dims = int(self.location.dimensions)
        with self._lock, self._conn.transaction():
            self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                f"(id bigint PRIMARY KEY, embedding vector({dims}) NOT NULL)"
            )
            if self.index == "hnsw":
                self._conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {self.table}_hnsw ON {self.table} "
                    "USING hnsw (embedding vector_ip_ops)"
                )

    def upsert(self, ids: Sequence[int], vectors: Any) -> None:
        rows = [(int(i), vector_literal(v)) for i, v in zip(ids, vectors, strict=True)]
        if not rows:
            return
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {self.table} (id, embedding) VALUES (%s, %s::vector) "
                "ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding",
                rows,
            )

    def delete(self, ids: Sequence[int]) -> None:
        id_list = [int(i) for i in ids]
        if not id_list:
            return
        with self._lock:
            self._conn.execute(f"DELETE FROM {self.table} WHERE id = ANY(%s)", (id_list,))

    def search(
        self, vector: Any, k: int, candidates: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        query = vector_literal(vector)
        with self._lock, self._conn.transaction():
            if candidates is not None:
                id_list = [int(i) for i in candidates]
                if not id_list:
                    return []
                rows = self._conn.execute(
                    f"SELECT id, -(embedding <#> %s::vector) FROM {self.table} "
                    "WHERE id = ANY(%s) ORDER BY embedding <#> %s::vector LIMIT %s",
                    (query, id_list, query, int(k)),
                ).fetchall()
            else:
                if self.index == "hnsw":
                    self._conn.execute(f"SET LOCAL hnsw.ef_search = {max(self.ef_search, int(k))}")
                rows = self._conn.execute(
                    f"SELECT id, -(embedding <#> %s::vector) FROM {self.table} "
                    "ORDER BY embedding <#> %s::vector LIMIT %s",
                    (query, query, int(k)),
                ).fetchall()
        return [(int(item_id), float(score)) for item_id, score in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0])

    def ids(self) -> set[int]:
        with self._lock:
            return {int(r[0]) for r in self._conn.execute(f"SELECT id FROM {self.table}")}

    def close(self) -> None:
        with self._lock:
            if not self._conn.closed:
                self._conn.close()

    def describe(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"store": self.store_id, "table": self.table, "index": self.index}
        try:
            with self._lock:
                facts["server"] = self._conn.execute("SHOW server_version").fetchone()[0]
                facts["pgvector"] = self._conn.execute(
                    "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
                ).fetchone()[0]
        except Exception as exc:  # describe is for doctor: report, never raise
            facts["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return facts
