"""Incremental search index: writes after the sidecar are searched as a delta, not rebuilt.

Each check compares against exact brute force over the database's current vectors, so a
masked row that leaks, a delta row that is lost or a stale base used as current fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from huisou.core import db
from huisou.core.interfaces import StoreLocation
from huisou.plugins.clip_search import layered_index, vector_index
from huisou.plugins.clip_search.store_base import CHANGES_TABLE, STATE_TABLE
from huisou.plugins.clip_search.stores import NumpyVectorStore, SqliteVecStore

DIMS = 32


def clustered(n: int, seed: int) -> np.ndarray:
    """CLIP-like data: a shared component plus clusters, unit length."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, DIMS))
    x = 2.0 + centres[rng.integers(0, 20, n)] + 0.6 * rng.standard_normal((n, DIMS))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def open_store(cls, path: Path):
    conn = db.connect(str(path))
    return cls(StoreLocation(str(path), "model-a", DIMS, connection=conn)), conn


def batch(conn, store, ids, vectors=None) -> None:
    conn.execute("BEGIN IMMEDIATE")
    if vectors is None:
        store.delete(ids)
    else:
        store.upsert(list(ids), vectors)
    conn.execute("COMMIT")


def exact_top(store, query, k, candidates=None):
    ids, matrix = store.fetch(sorted(store.ids()) if candidates is None else candidates)
    scores = matrix @ query
    order = np.lexsort((ids, -scores))[:k]
    return [int(ids[i]) for i in order]


def sidecar_stamp(store) -> tuple[int, int]:
    stat = os.stat(store.sidecar_path)
    return stat.st_ino, stat.st_mtime_ns


@pytest.fixture(params=[SqliteVecStore, NumpyVectorStore], ids=lambda c: c.store_id)
def store_cls(request):
    return request.param


@pytest.fixture(autouse=True)
def _coarse_path(monkeypatch):
    """Small data through the real bits + re-rank path, and a small delta limit."""
    monkeypatch.setattr(vector_index, "EXACT_MAX", 64)
    monkeypatch.setattr(vector_index, "SUBSET_EXACT_MAX", 32)
    monkeypatch.setattr(layered_index, "DELTA_MIN", 400)


def test_adds_edits_and_deletes_are_searched_without_a_rebuild(store_cls, tmp_path):
    store, conn = open_store(store_cls, tmp_path / "lib.db")
    batch(conn, store, range(1, 3001), clustered(3000, seed=1))
    store.refresh()
    stamp = sidecar_stamp(store)

    batch(conn, store, range(3001, 3201), clustered(200, seed=2))  # new photos
    batch(conn, store, range(1, 51), clustered(50, seed=3))  # re-embedded photos
    batch(conn, store, range(100, 200))  # removed photos
    store.refresh()
    assert sidecar_stamp(store) == stamp  # the sidecar was not rewritten
    assert store.describe()["index_delta"] == 350
    assert len(store.index()) == store.count() == 3100

    queries = clustered(30, seed=4)
    hits = [store.search(q, 20) for q in queries]
    recall = np.mean([len({i for i, _ in h} & set(exact_top(store, q, 20))) / 20
                      for h, q in zip(hits, queries, strict=True)])
    assert recall >= 0.99
    found = {i for h in hits for i, _ in h}
    assert found.isdisjoint(range(100, 200))  # deleted rows never come back
    edited = {i for h in hits for i, _ in h if i <= 50}
    fresh = dict(zip(*store.fetch(sorted(edited)), strict=True))
    for h in hits:  # an edited photo scores with its new vector, not the base's
        for i, score in h:
            if i in fresh:
                q = queries[hits.index(h)]
                assert score == pytest.approx(float(fresh[i] @ q), abs=1e-5)

    subset = list(range(1, 400, 3)) + list(range(3001, 3201, 2))
    for q in queries[:5]:
        assert [i for i, _ in store.search(q, 10, subset)] == exact_top(store, q, 10, [
            i for i in subset if i not in range(100, 200)])


def test_the_delta_is_compacted_and_the_log_pruned_past_its_limit(store_cls, tmp_path):
    store, conn = open_store(store_cls, tmp_path / "lib.db")
    batch(conn, store, range(1, 2001), clustered(2000, seed=5))
    store.refresh()
    stamp = sidecar_stamp(store)
    batch(conn, store, range(2001, 2501), clustered(500, seed=6))  # 500 > DELTA_MIN (400)
    store.refresh()
    assert sidecar_stamp(store) != stamp
    assert store.describe()["index_delta"] == 0
    logged = conn.execute(f"SELECT count(*) FROM {CHANGES_TABLE}").fetchone()[0]
    assert logged == 0
    _, seq, floor = store.state()
    assert floor == seq

    # a reader whose base is older than the new floor maps the new sidecar and agrees
    reader, _ = open_store(store_cls, tmp_path / "lib.db")
    q = clustered(1, seed=7)[0]
    assert [i for i, _ in reader.search(q, 10)] == exact_top(store, q, 10)


def test_a_reader_with_an_old_base_follows_later_writes(store_cls, tmp_path):
    store, conn = open_store(store_cls, tmp_path / "lib.db")
    batch(conn, store, range(1, 1001), clustered(1000, seed=8))
    reader, _ = open_store(store_cls, tmp_path / "lib.db")
    q = clustered(1, seed=9)[0]
    reader.search(q, 5)  # holds the base in memory
    batch(conn, store, range(1001, 1101), clustered(100, seed=10))
    batch(conn, store, range(1, 20))
    assert [i for i, _ in reader.search(q, 10)] == exact_top(store, q, 10)


def test_a_sidecar_from_another_history_is_not_used_as_a_base(store_cls, tmp_path):
    """A library restored from a backup reaches the sidecar's seq by other writes: the
    (seq, token) pair differs, so the sidecar is rebuilt rather than trusted."""
    path = tmp_path / "lib.db"
    store, conn = open_store(store_cls, path)
    batch(conn, store, range(1, 301), clustered(300, seed=11))
    conn.close()
    backup = (tmp_path / "backup.db")
    backup.write_bytes(path.read_bytes())
    store, conn = open_store(store_cls, path)
    batch(conn, store, range(301, 401), clustered(100, seed=12))
    store.refresh()  # the sidecar now describes this history at seq 2
    conn.close()
    os.replace(backup, path)  # restore: seq 1, then another write reaches seq 2
    store, conn = open_store(store_cls, path)
    batch(conn, store, range(1, 100))
    q = clustered(1, seed=13)[0]
    assert [i for i, _ in store.search(q, 10)] == exact_top(store, q, 10)
    assert not {i for i, _ in store.search(q, 300)} & set(range(301, 401))


def test_a_library_from_before_the_log_opens_and_searches(store_cls, tmp_path):
    """The state table as the code before this change made it: no ``seq``/``floor``."""
    path = tmp_path / "lib.db"
    store, conn = open_store(store_cls, path)
    batch(conn, store, range(1, 201), clustered(200, seed=14))
    conn.executescript(
        f"CREATE TABLE old_state AS SELECT namespace, store, token FROM {STATE_TABLE};"
        f"DROP TABLE {STATE_TABLE}; DROP TABLE {CHANGES_TABLE}; DROP TABLE huisou_vector_history;"
        f"CREATE TABLE {STATE_TABLE} (namespace TEXT NOT NULL, store TEXT NOT NULL, "
        "token INTEGER NOT NULL, PRIMARY KEY (namespace, store));"
        f"INSERT INTO {STATE_TABLE} SELECT * FROM old_state; DROP TABLE old_state;"
    )
    conn.close()
    store, conn = open_store(store_cls, path)
    q = clustered(1, seed=15)[0]
    assert [i for i, _ in store.search(q, 10)] == exact_top(store, q, 10)
    batch(conn, store, range(201, 251), clustered(50, seed=16))
    assert store.describe()["index_delta"] == 0  # not yet searched at the new state
    assert [i for i, _ in store.search(q, 10)] == exact_top(store, q, 10)
    assert store.describe()["index_delta"] == 50


def test_sqlite_vec_fetch_reads_the_shadow_tables_like_the_public_table(tmp_path):
    from huisou.plugins.clip_search.store_base import fetch_vectors
    from huisou.plugins.clip_search.store_sqlitevec import fetch_shadow

    store, conn = open_store(SqliteVecStore, tmp_path / "lib.db")
    batch(conn, store, range(1, 2501), clustered(2500, seed=17))  # three vec0 chunks
    batch(conn, store, range(1000, 1100))  # freed slots
    batch(conn, store, range(1, 30), clustered(29, seed=18))  # rewritten rows move
    wanted = list(range(1, 2600, 7)) + [5000]
    shadow_ids, shadow = fetch_shadow(conn, store.table, wanted, DIMS)
    public_ids, public = fetch_vectors(conn, store.table, "rowid", "embedding", wanted, DIMS)
    order = np.argsort(public_ids)  # vec0 returns rows in its own order
    assert shadow_ids.tolist() == public_ids[order].tolist()
    assert not set(shadow_ids.tolist()) & set(range(1000, 1100)) and 5000 not in shadow_ids
    np.testing.assert_array_equal(shadow, public[order])
