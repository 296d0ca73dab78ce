"""``PostgresStore``: vectors in a PostgreSQL table with a pgvector column.

Imports only the standard library at module level: psycopg is loaded when a store opens.
"""

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
#: pgvector's upper bound for ``hnsw.ef_search``.
HNSW_MAX_EF_SEARCH = 1000
FULL_SEARCH = (
    "SELECT id, -(embedding <#> %s::vector) FROM {table} ORDER BY embedding <#> %s::vector LIMIT %s"
)
#: Filtered search: the candidate rows are fetched by primary key first (MATERIALIZED keeps the
#: planner from walking the HNSW graph and filtering afterwards, which returns fewer than ``k``
#: rows when the candidates are not among the ``ef_search`` nearest), then ranked exactly.
CANDIDATE_SEARCH = (
    "WITH chosen AS MATERIALIZED (SELECT id, embedding FROM {table} WHERE id = ANY(%s)) "
    "SELECT id, -(embedding <#> %s::vector) FROM chosen ORDER BY embedding <#> %s::vector LIMIT %s"
)
#: Largest vector kept inline (PLAIN storage): a row must fit in an 8 kB page.
PLAIN_MAX_DIMS = 1900


def table_name(namespace: str) -> str:
    """A safe, bounded table name for a model fingerprint (identifiers are max 63 bytes)."""
    slug = re.sub(r"[^a-z0-9_]+", "_", namespace.lower()).strip("_")
    return f"huisou_vec_{slug}"[:63]


def vector_literal(vector: Any) -> str:
    """pgvector's text form, ``[x,y,...]``; ``repr`` of float32 keeps every digit."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def copy_binary(ids: Sequence[int], vectors: Any) -> bytes:
    """A ``COPY … FROM STDIN (FORMAT BINARY)`` stream of ``(id bigint, embedding vector)``.

    Built with NumPy in one pass: formatting 512 floats per row as text costs ~0.4 ms a
    vector in Python, the binary form almost nothing. pgvector's binary ``vector`` is int16
    dimensions, int16 zero, then big-endian float32s.
    """
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float32)
    n, dims = matrix.shape
    row = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("vec_len", ">i4"),
                    ("dims", ">i2"), ("unused", ">i2"), ("vec", ">f4", (dims,))])
    rows = np.zeros(n, dtype=row)
    rows["fields"], rows["id_len"], rows["vec_len"] = 2, 8, 4 + 4 * dims
    rows["id"] = np.asarray(ids, dtype=np.int64)
    rows["dims"] = dims
    rows["vec"] = matrix
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
    return header + rows.tobytes() + b"\xff\xff"


def _import_psycopg() -> Any:
    """psycopg, or the one line that says how to get it (the ``postgres`` extra)."""
    try:
        import psycopg
        import psycopg.conninfo
    except ImportError as exc:
        raise HuisouError(
            "the postgres store needs psycopg, which is not installed: "
            "pip install 'huisou[postgres]'"
        ) from exc
    return psycopg


def _positive_int(options: dict[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HuisouError(
            f"[store_options] {key} of the postgres store must be a positive integer, "
            f"got {value!r}"
        )
    return value


class PostgresStore(VectorStore):
    """Vectors in PostgreSQL; exact search by default, HNSW with ``index = "hnsw"``.

    Options (``[store_options]`` in ``config.toml``, i.e. ``location.options``): ``dsn``
    (else ``$HUISOU_PG_DSN``), ``index`` (``none`` or ``hnsw``), ``ef_search`` (HNSW recall
    knob, default 100), ``connect_timeout`` (seconds, default 10; a ``connect_timeout`` in the
    DSN wins).
    """

    store_id: ClassVar[str] = "postgres"

    def __init__(self, location: StoreLocation) -> None:
        super().__init__(location)
        psycopg = _import_psycopg()
        options = location.options or {}
        self.dsn = options.get("dsn") or os.environ.get(DSN_ENV)
        if not self.dsn or not isinstance(self.dsn, str):
            raise HuisouError(
                "the postgres store needs a server: set dsn = \"postgresql://…\" in "
                f"[store_options] of config.toml, or {DSN_ENV}"
            )
        self.index = options.get("index", "none")
        if self.index not in INDEXES:
            raise HuisouError(
                f"[store_options] index of the postgres store must be one of {INDEXES}, "
                f"got {self.index!r}"
            )
        self.ef_search = min(_positive_int(options, "ef_search", 100), HNSW_MAX_EF_SEARCH)
        self.connect_timeout = _positive_int(options, "connect_timeout", 10)
        self.table = table_name(location.namespace)
        self._lock = threading.Lock()
        self._conn = self._connect(psycopg)
        self._create()

    def _connect(self, psycopg: Any) -> Any:
        """Connect with a bounded wait: an unreachable server is a one-line error, not a hang."""
        try:
            params = psycopg.conninfo.conninfo_to_dict(self.dsn)
            params.setdefault("connect_timeout", self.connect_timeout)
            return psycopg.connect(autocommit=True, **params)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HuisouError(f"cannot connect to PostgreSQL for the postgres store: {first}") from exc

    def _create(self) -> None:
        dims = int(self.location.dimensions)
        with self._lock, self._conn.transaction():
            self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                f"(id bigint PRIMARY KEY, embedding vector({dims}) NOT NULL)"
            )
            if dims <= PLAIN_MAX_DIMS:
                # Keep vectors inline in the heap: a 512-d vector (2 KB) is just over the TOAST
                # threshold, and de-TOASTing every row made exact scans ~4x slower.
                self._conn.execute(
                    f"ALTER TABLE {self.table} ALTER COLUMN embedding SET STORAGE PLAIN"
                )
            if self.index == "hnsw":
                self._conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {self.table}_hnsw ON {self.table} "
                    "USING hnsw (embedding vector_ip_ops)"
                )

    def upsert(self, ids: Sequence[int], vectors: Any) -> None:
        """COPY the batch into a session temp table, then one INSERT … ON CONFLICT.

        COPY is several times faster than row-by-row inserts; ``DISTINCT ON`` keeps the last
        vector when a batch names an id twice (ON CONFLICT may touch a row only once).
        """
        if len(ids) == 0:
            return
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids but {len(vectors)} vectors")
        data = copy_binary(ids, vectors)
        staging = f"huisou_upsert_{int(self.location.dimensions)}"
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging} (id bigint, "
                f"embedding vector({int(self.location.dimensions)}), n serial) "
                "ON COMMIT DELETE ROWS"
            )
            with cur.copy(f"COPY {staging} (id, embedding) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(data)
            cur.execute(
                f"INSERT INTO {self.table} (id, embedding) "
                f"SELECT DISTINCT ON (id) id, embedding FROM {staging} ORDER BY id, n DESC "
                "ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding"
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
        """Best ``k`` by cosine; ``candidates`` (the catalog's filter result) go to the server
        as one array parameter and are searched exactly (see :data:`CANDIDATE_SEARCH`)."""
        query, k = vector_literal(vector), int(k)
        with self._lock, self._conn.transaction():
            if candidates is not None:
                id_list = [int(i) for i in candidates]
                if not id_list:
                    return []
                sql, params = CANDIDATE_SEARCH.format(table=self.table), (id_list, query, query, k)
            else:
                self._tune_index(k)
                sql, params = FULL_SEARCH.format(table=self.table), (query, query, k)
            rows = self._conn.execute(sql, params).fetchall()
        return [(int(item_id), float(score)) for item_id, score in rows]

    def _tune_index(self, k: int) -> None:
        """HNSW returns at most ``ef_search`` rows (capped at 1000 by pgvector): widen it to
        ``k``, and search exactly when ``k`` is beyond what the graph can return."""
        if self.index != "hnsw":
            return
        if k > HNSW_MAX_EF_SEARCH:
            self._conn.execute("SET LOCAL enable_indexscan = off")
        else:
            self._conn.execute(f"SET LOCAL hnsw.ef_search = {max(self.ef_search, k)}")

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
