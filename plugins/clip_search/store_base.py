"""What the two SQLite vector stores share: tables named per model, a change token, the index.

Both stores keep float32 vectors in the library database (the source of truth, written in the
indexer's transaction) and search through :class:`~.vector_index.VectorIndex`, a memory-mapped
sidecar file ``<db>.<namespace>.<store>.vidx`` next to the database.

Staleness: every write sets a new random ``token`` in ``huisou_vector_state`` inside the same
transaction as the rows. Because the token is random (not a counter), a rolled-back write can
never be mistaken for a later committed one, and a write from another process or connection
is noticed by the next search.

Incremental maintenance: every write also advances a sequence number ``seq``, records the
token it produced in ``huisou_vector_history`` and the ids it touched in
``huisou_vector_changes``. A sidecar built at ``(seq, token)`` is a valid *base* for any later
state whose history holds that pair: a search masks the ids changed since then and searches
their current vectors exactly beside it (:mod:`.layered_index`). The sidecar is rebuilt only
when that delta outgrows :func:`~.layered_index.delta_limit`; after a rebuild the writer prunes
the log up to the new base (``floor``), and a reader whose base is older than ``floor`` maps the
new sidecar instead.

This module imports only the standard library; numpy is imported where vectors are handled.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from huisou.core import db
from huisou.core.errors import HuisouError
from huisou.core.interfaces import StoreLocation, VectorStore

log = logging.getLogger(__name__)

STATE_TABLE = "huisou_vector_state"
HISTORY_TABLE = "huisou_vector_history"
CHANGES_TABLE = "huisou_vector_changes"
#: Rows per chunk when streaming vectors out of SQLite to build the index.
SCAN_CHUNK = 4_096
#: A filter with at most this many ids is answered in SQL when the index would need a rebuild.
SUBSET_SQL_MAX = 20_000
#: SQLite host-parameter batch for ``IN (...)`` lists.
PARAM_BATCH = 500


def table_suffix(namespace: str) -> str:
    """A table-name-safe, collision-free form of a model fingerprint."""
    safe = re.sub(r"[^0-9A-Za-z_]", "_", namespace)[:48]
    digest = hashlib.sha1(namespace.encode()).hexdigest()[:8]
    return f"{safe}_{digest}"


class SQLiteVectorStore(VectorStore):
    """Base class: subclasses define the vector table and how to read and write it."""

    def __init__(self, location: StoreLocation) -> None:
        super().__init__(location)
        if location.metric != "cosine":
            raise HuisouError(f"vector store {self.store_id!r} supports only cosine distance, "
                              f"not {location.metric!r}")
        self.dims = int(location.dimensions)
        self.namespace = location.namespace
        self.suffix = table_suffix(location.namespace)
        self._own_conn = location.connection is None
        self.conn = location.connection if location.connection is not None else db.connect(
            location.db_path
        )
        self._lock = threading.RLock()
        self._index: Any = None  # LayeredIndex of the last state searched
        self._base: Any = None  # the newest VectorIndex known to describe a committed state
        self.rerank: int | None = location.options.get("rerank")
        memory = location.db_path in ("", ":memory:") or location.db_path.startswith("file::memory")
        self.sidecar_path: str | None = None
        if not memory and location.options.get("sidecar", True):
            self.sidecar_path = f"{location.db_path}.{self.suffix}.{self.store_id}.vidx"
        self.prepare_connection()
        if db.is_readonly(self.conn):  # a read-only library: use what is there, create nothing
            self._require_setup_done()
            return
        with self._write(setup=True):
            self._create_log_tables()
            self.create_table()
            self.conn.execute(
                f"INSERT OR IGNORE INTO {STATE_TABLE} (namespace, store, token) VALUES (?, ?, ?)",
                (self.namespace, self.store_id, secrets.randbits(62)),
            )
            # the first state (and a library's from before the log) is a valid base too
            self.conn.execute(
                f"INSERT OR IGNORE INTO {HISTORY_TABLE} SELECT namespace, store, seq, token "
                f"FROM {STATE_TABLE} WHERE namespace=? AND store=?",
                (self.namespace, self.store_id),
            )
            if self.is_empty():
                self._adopt_sibling()

    def _require_setup_done(self) -> None:
        """A read-only library is searched as it is: its tables must exist and be current."""
        tables = (STATE_TABLE, HISTORY_TABLE, CHANGES_TABLE)
        if not all(self.table_exists(t) for t in tables) or not self.conn.execute(
            f"SELECT 1 FROM {STATE_TABLE} WHERE namespace=? AND store=?",
            (self.namespace, self.store_id),
        ).fetchone():
            raise HuisouError(
                f"the library has no {self.store_id!r} vectors of model {self.namespace} yet "
                "(read-only: nothing is created): run 'huisou index'"
            )
        columns = {row[1] for row in self.conn.execute(f"PRAGMA table_info({STATE_TABLE})")}
        if not {"seq", "floor"} <= columns:
            raise HuisouError(
                f"the {self.store_id!r} vector tables were made by an older huisou: run "
                "'huisou index' once to upgrade them (read-only commands never write)"
            )

    # -- subclass interface ------------------------------------------------------------------

    def prepare_connection(self) -> None:  # noqa: B027 - optional hook
        """Make the connection usable (load an extension); raise HuisouError if impossible."""

    @abstractmethod
    def create_table(self) -> None:
        """Create this namespace's vector table if it does not exist."""

    @abstractmethod
    def write_rows(self, ids: list[int], blobs: list[bytes]) -> None:
        """Insert or replace rows (called inside a savepoint)."""

    @abstractmethod
    def delete_rows(self, ids: list[int]) -> int:
        """Delete rows; return how many existed."""

    @abstractmethod
    def scan(self) -> Iterator[tuple[Any, Any]]:
        """Yield every stored vector as ``(int64 ids, float32 matrix)`` chunks."""

    @abstractmethod
    def fetch(self, ids: Sequence[int]) -> tuple[Any, Any]:
        """``(ids, float32 matrix)`` for the given ids that exist."""

    @abstractmethod
    def count(self) -> int:
        """Number of stored vectors."""

    def is_empty(self) -> bool:
        """Whether no vector is stored (subclasses answer without counting every row)."""
        return self.count() == 0

    def sibling_scan(self) -> Iterator[tuple[Any, Any]] | None:
        """The other store's vectors of this model, if it has a table here (else None)."""
        return None

    def table_exists(self, name: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)
        ).fetchone() is not None

    def _adopt_sibling(self) -> None:
        """Copy vectors the other store wrote for this model (the catalog marks those items as
        embedded, so they would otherwise never be searched or re-embedded)."""
        chunks = self.sibling_scan()
        if chunks is None:
            return
        copied = 0
        for ids, matrix in chunks:
            self.write_rows([int(i) for i in ids], [row.tobytes() for row in matrix])
            copied += len(ids)
        if copied:
            self._bump(None)
            log.warning("copied %d vectors of model %s into the %r store", copied,
                        self.namespace, self.store_id)

    def _create_log_tables(self) -> None:
        """The token row, the history of tokens and the changed-ids log (see the module doc).

        Libraries made before the log existed have a state table without ``seq``/``floor``:
        the columns are added in place (a fresh log starts at 0, so their sidecars rebuild once).
        """
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (namespace TEXT NOT NULL, "
            "store TEXT NOT NULL, token INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0, "
            "floor INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (namespace, store))"
        )
        columns = {row[1] for row in self.conn.execute(f"PRAGMA table_info({STATE_TABLE})")}
        for column in ("seq", "floor"):
            if column not in columns:
                self.conn.execute(f"ALTER TABLE {STATE_TABLE} ADD COLUMN {column} INTEGER "
                                  "NOT NULL DEFAULT 0")
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (namespace TEXT NOT NULL, "
            "store TEXT NOT NULL, seq INTEGER NOT NULL, token INTEGER NOT NULL, "
            "PRIMARY KEY (namespace, store, seq)) WITHOUT ROWID"
        )
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (namespace TEXT NOT NULL, "
            "store TEXT NOT NULL, item_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
            "PRIMARY KEY (namespace, store, item_id)) WITHOUT ROWID"
        )
        self.conn.execute(
            f"CREATE INDEX IF NOT EXISTS {CHANGES_TABLE}_seq "
            f"ON {CHANGES_TABLE} (namespace, store, seq)"
        )

    # -- transactions and the change token ---------------------------------------------------

    @contextmanager
    def _write(self, setup: bool = False) -> Iterator[None]:
        """Make a write atomic with its token bump without ever committing the caller's work.

        - inside a transaction (the indexer's ``BEGIN IMMEDIATE``): a nested SAVEPOINT;
        - autocommit connection (``isolation_level=None``) outside a transaction: the caller
          asked for statements to commit as they run, so the SAVEPOINT commits our statements
          together, atomically;
        - a DB-API "legacy" connection outside a transaction: plain statements; the driver
          opens a transaction and the caller commits it (or rolls it back).
        ``setup`` (tables, the state row) always uses a SAVEPOINT: schema is not the caller's.
        """
        if not (setup or self.conn.in_transaction or self.conn.isolation_level is None):
            yield
            return
        name = f"huisou_store_{id(self)}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        self.conn.execute(f"RELEASE {name}")

    def _bump(self, ids: Sequence[int] | None) -> None:
        """Record a write: a new token, the next ``seq``, and the ids it changed.

        ``ids=None`` (rows copied in bulk) moves the floor up instead of logging every id: no
        older base can describe the new state, so the next search rebuilds.
        """
        token = secrets.randbits(62)
        key = (self.namespace, self.store_id)
        self.conn.execute(
            f"UPDATE {STATE_TABLE} SET token=?, seq=seq+1 WHERE namespace=? AND store=?",
            (token, *key),
        )
        seq = self.state()[1]
        self.conn.execute(f"INSERT OR REPLACE INTO {HISTORY_TABLE} VALUES (?, ?, ?, ?)",
                          (*key, seq, token))
        if ids is None:
            self.conn.execute(f"UPDATE {STATE_TABLE} SET floor=seq WHERE namespace=? AND store=?",
                              key)
            return
        self.conn.executemany(
            f"INSERT INTO {CHANGES_TABLE} VALUES (?, ?, ?, ?) "
            "ON CONFLICT(namespace, store, item_id) DO UPDATE SET seq=excluded.seq",
            ((*key, int(i), seq) for i in ids),
        )

    def state(self) -> tuple[int, int, int]:
        """``(token, seq, floor)``: the current change token (what a sidecar used as is must
        have been built at), the write sequence number, and the oldest usable base ``seq``."""
        row = self.conn.execute(
            f"SELECT token, seq, floor FROM {STATE_TABLE} WHERE namespace=? AND store=?",
            (self.namespace, self.store_id),
        ).fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)

    def token(self) -> int:
        """The current change token."""
        return self.state()[0]

    # -- VectorStore -------------------------------------------------------------------------

    def upsert(self, ids: Sequence[int], vectors: Any) -> None:
        import numpy as np

        ids = [int(i) for i in ids]
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape != (len(ids), self.dims):
            raise ValueError(
                f"upsert needs {len(ids)} vectors of {self.dims} dimensions, got shape "
                f"{tuple(matrix.shape)}"
            )
        if not ids:
            return
        if len(set(ids)) != len(ids):  # last one wins, as with repeated single upserts
            last = {item_id: row for row, item_id in enumerate(ids)}
            ids, matrix = list(last), matrix[list(last.values())]
        blobs = [row.tobytes() for row in matrix]
        with self._lock, self._write():
            self.write_rows(ids, blobs)
            self._bump(ids)

    def delete(self, ids: Sequence[int]) -> None:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        with self._lock, self._write():
            if self.delete_rows(ids):
                self._bump(ids)

    def search(
        self, vector: Any, k: int, candidates: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        import numpy as np

        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dims:
            raise ValueError(f"query vector has {query.shape[0]} dimensions but the vectors of "
                             f"model {self.namespace!r} have {self.dims}")
        if k <= 0 or (candidates is not None and len(candidates) == 0):
            return []
        if candidates is None:
            found_ids, scores = self.index().search(query, k, rerank=self.rerank)
            return [(int(i), float(s)) for i, s in zip(found_ids, scores, strict=True)]
        wanted = sorted({int(c) for c in candidates})
        index = self.index(build=len(wanted) > SUBSET_SQL_MAX)
        if index is None:  # stale index and a small filter: no rebuild needed for this query
            return self.search_candidates(query, k, wanted)
        found_ids, scores = index.search(query, k, wanted, rerank=self.rerank)
        return [(int(i), float(s)) for i, s in zip(found_ids, scores, strict=True)]

    def search_candidates(
        self, query: Any, k: int, candidates: list[int]
    ) -> list[tuple[int, float]]:
        """Exact KNN over the candidates' vectors read from SQL (used when the index is stale).

        Subclasses that can restrict the KNN inside SQL (vec0 ``rowid IN``) override this.
        """
        from huisou.plugins.clip_search.bitcode import exact_search

        ids, matrix = self.fetch(candidates)
        return exact_search(matrix, ids, query, k)

    def ids(self) -> set[int]:
        return {int(i) for chunk_ids, _ in self.scan() for i in chunk_ids}

    def close(self) -> None:
        self._index = self._base = None
        if self._own_conn:
            self.conn.close()

    def describe(self) -> dict[str, Any]:
        info = db.driver_info()
        index = self._index
        return {
            "store": self.store_id,
            "driver": info.module,
            "sqlite_version": info.sqlite_version,
            "namespace": self.namespace,
            "vectors": self.count(),
            "sidecar": self.sidecar_path,
            "index": None if index is None else ("loaded", len(index)),
            "index_delta": None if index is None else index.delta_size,
        }

    # -- the index ---------------------------------------------------------------------------

    def index(self, build: bool = True) -> Any:
        """The search index for the current token: a :class:`~.layered_index.LayeredIndex`.

        Cached; else a committed base (in memory or the sidecar) plus the changes since it;
        else rebuilt. The state check, the delta's reads and a rebuild's scan run in one read
        transaction, so the index describes exactly the snapshot its token names. With
        ``build=False`` nothing is rebuilt or read in bulk, and None is returned instead.
        """
        from huisou.plugins.clip_search.layered_index import LayeredIndex, delta_limit

        with self._lock:
            own_txn = not self.conn.in_transaction
            if own_txn:
                self.conn.execute("BEGIN")
            try:
                token, seq, floor = self.state()
                cached = self._index
                if cached is not None and cached.token == token:
                    return cached
                base = self._usable_base(token, seq, floor)
                changed = self._changed_since(base.seq) if base is not None else None
                if base is not None and len(changed) <= delta_limit(len(base)):
                    delta_ids, delta_vectors = self.fetch(changed) if changed else (None, None)
                    index = LayeredIndex(base, token, changed, delta_ids, delta_vectors)
                elif build:
                    # an uncommitted snapshot is built in a temporary file: persisting it would
                    # replace the sidecar of the committed state with one a rollback orphans
                    base = self._build(token, seq, self.sidecar_path if own_txn else None)
                    if own_txn:
                        self._base = base
                    index = LayeredIndex(base, token)
                else:
                    return None
                self._index = index
                return index
            finally:
                if own_txn:
                    self.conn.execute("COMMIT")

    def _usable_base(self, token: int, seq: int, floor: int) -> Any:
        """A committed snapshot this state can be reached from by the logged changes, if any:
        built at ``(seq, token)`` exactly, or at a logged ``(seq, token)`` pair from ``floor``
        on (a base from another history, e.g. a restored backup, does not match its pair)."""
        for base in (self._base, self._load_sidecar()):
            if base is None:
                continue
            if (base.seq, base.token) == (seq, token):
                return base
            if floor <= base.seq < seq and self._logged_token(base.seq) == base.token:
                self._base = base
                return base
        return None

    def _logged_token(self, seq: int) -> int | None:
        row = self.conn.execute(
            f"SELECT token FROM {HISTORY_TABLE} WHERE namespace=? AND store=? AND seq=?",
            (self.namespace, self.store_id, seq),
        ).fetchone()
        return int(row[0]) if row else None

    def _changed_since(self, seq: int) -> list[int]:
        return [int(row[0]) for row in self.conn.execute(
            f"SELECT item_id FROM {CHANGES_TABLE} WHERE namespace=? AND store=? AND seq>?",
            (self.namespace, self.store_id, seq),
        )]

    def _load_sidecar(self) -> Any:
        from huisou.plugins.clip_search.vector_index import VectorIndex

        if not self.sidecar_path:
            return None
        try:
            return VectorIndex.load(self.sidecar_path, None, self.dims)
        except (OSError, ValueError) as exc:
            log.info("ignoring unreadable vector index %s: %s", self.sidecar_path, exc)
            return None

    def _build(self, token: int, seq: int, path: str | None) -> Any:
        from huisou.plugins.clip_search.vector_index import VectorIndex

        n = self.count()
        try:
            return VectorIndex.build(self.scan(), n, self.dims, token, path, seq)
        except OSError as exc:  # read-only directory, disk full: fall back to a temp file
            if path is None:
                raise
            log.warning("cannot write vector index %s (%s); using a temporary one", path, exc)
            return VectorIndex.build(self.scan(), n, self.dims, token, None, seq)

    def refresh(self) -> None:
        """Bring the search index up to date (e.g. right after indexing) and, when the sidecar
        on disk is a newer base than the log's floor, prune the log entries it folded in."""
        index = self.index()
        base = index.base
        if base.path != self.sidecar_path or base is not self._base:
            return
        _, _, floor = self.state()
        if base.seq > floor:
            self._prune_log(base.seq)

    def _prune_log(self, seq: int) -> None:
        """Forget changes a base at ``seq`` already holds (readers with older bases then map
        the new sidecar, see ``_usable_base``)."""
        key = (self.namespace, self.store_id)
        with self._lock, self._write(setup=True):
            self.conn.execute(
                f"DELETE FROM {CHANGES_TABLE} WHERE namespace=? AND store=? AND seq<=?",
                (*key, seq),
            )
            self.conn.execute(
                f"DELETE FROM {HISTORY_TABLE} WHERE namespace=? AND store=? AND seq<?",
                (*key, seq),
            )
            self.conn.execute(
                f"UPDATE {STATE_TABLE} SET floor=? WHERE namespace=? AND store=? AND floor<?",
                (seq, *key, seq),
            )


def id_batches(ids: Sequence[int], size: int = PARAM_BATCH) -> Iterator[list[int]]:
    """Split ids for ``IN (?, ...)`` lists under SQLite's host-parameter limit."""
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def fetch_vectors(
    conn: Any, table: str, id_column: str, vector_column: str, ids: Sequence[int], dims: int
) -> tuple[Any, Any]:
    """``(found ids, float32 matrix)`` for the ids a table holds, in id order: the re-rank
    read shared by the stores (vec0 and plain tables store the same float32 BLOBs)."""
    import numpy as np

    found: list[int] = []
    blobs: list[bytes] = []
    for chunk in id_batches(sorted({int(i) for i in ids})):
        rows = conn.execute(
            f"SELECT {id_column}, {vector_column} FROM {table} WHERE {id_column} IN "
            f"({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        found += [r[0] for r in rows]
        blobs += [r[1] for r in rows]
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(found), dims)
    order = np.argsort(np.asarray(found, dtype=np.int64), kind="stable")  # vec0 has its own
    return np.asarray(found, dtype=np.int64)[order], matrix[order]


def refresh_after_index(db_path: str, namespace: str, classes: dict[str, type]) -> None:
    """Bring the sidecar of ``namespace`` up to date after an indexing run.

    The first search after indexing would otherwise pay the rebuild (~2 s at 100k vectors);
    indexing is the better place for it. Never raises: a failure only logs, and the next
    search rebuilds instead.
    """
    try:
        conn = db.connect(db_path)
    except Exception as exc:  # noqa: BLE001 - a cache refresh must not fail an index run
        log.warning("not refreshing the vector index of %s: %s", db_path, exc)
        return
    try:
        row = conn.execute(
            "SELECT store, dimensions FROM models WHERE fingerprint=?", (namespace,)
        ).fetchone()
        cls = classes.get(row[0]) if row else None
        if cls is None:
            return
        store = cls(StoreLocation(db_path, namespace, int(row[1]), connection=conn))
        try:
            store.refresh()
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001
        log.warning("could not refresh the vector index of %s: %s", db_path, exc)
    finally:
        conn.close()
