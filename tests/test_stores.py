"""The SQLite vector stores on real database files: transactions, the sidecar cache, fallback,
and the whole path through Library + Indexer + Searcher."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from huisou.core import db
from huisou.core.config import Config
from huisou.core.errors import HuisouError
from huisou.core.indexer import Indexer
from huisou.core.interfaces import StoreLocation
from huisou.core.library import Library
from huisou.core.search import Searcher, SearchFilters
from huisou.plugins.clip_search import store_sqlitevec, vector_index
from huisou.plugins.clip_search.stores import NumpyVectorStore, SqliteVecStore

STORES = [SqliteVecStore, NumpyVectorStore]
DIMS = 32


def unit(n: int, seed: int = 0, dims: int = DIMS):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dims)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def open_store(cls, path: Path, conn=None, namespace: str = "model-a", **options):
    conn = conn if conn is not None else db.connect(str(path))
    return cls(StoreLocation(str(path), namespace, DIMS, connection=conn, options=options)), conn


def indexer_batch(conn, store, ids, vectors):
    """What the indexer does: one BEGIN IMMEDIATE … COMMIT per batch."""
    conn.execute("BEGIN IMMEDIATE")
    store.upsert(ids, vectors)
    conn.execute("COMMIT")


def top_ids(store, query, k=5, candidates=None):
    return [item_id for item_id, _ in store.search(query, k, candidates)]


@pytest.fixture(params=STORES, ids=lambda cls: cls.store_id)
def store_cls(request):
    return request.param


@pytest.fixture(autouse=True)
def _bit_path_for_small_data(monkeypatch):
    """Small test data, real code path: searches go through the bits + re-rank index."""
    monkeypatch.setattr(vector_index, "EXACT_MAX", 8)
    monkeypatch.setattr(vector_index, "SUBSET_EXACT_MAX", 4)


def test_upsert_is_idempotent_and_last_write_wins(store_cls, tmp_path):
    store, conn = open_store(store_cls, tmp_path / "lib.db")
    vectors = unit(50)
    indexer_batch(conn, store, range(1, 51), vectors)
    indexer_batch(conn, store, range(1, 51), vectors)  # a resumed batch writes again
    assert store.count() == 50 and store.ids() == set(range(1, 51))
    new = unit(2, seed=9)
    indexer_batch(conn, store, [7, 7], new)  # duplicate id in one batch: the last one wins
    assert store.count() == 50
    hit, score = store.search(new[1], 1)[0]
    assert hit == 7 and score == pytest.approx(1.0, abs=1e-5)


def test_delete_and_count(store_cls, tmp_path):
    store, conn = open_store(store_cls, tmp_path / "lib.db")
    vectors = unit(40)
    indexer_batch(conn, store, range(1, 41), vectors)
    assert top_ids(store, vectors[4], 1) == [5]
    conn.execute("BEGIN IMMEDIATE")
    store.delete([5, 6, 1000])
    conn.execute("COMMIT")
    assert store.count() == 38 and 5 not in store.ids()
    assert 5 not in top_ids(store, vectors[4], 40)


def test_candidates_restrict_the_search_exactly(store_cls, tmp_path):
    store, conn = open_store(store_cls, tmp_path / "lib.db")
    vectors = unit(300)
    indexer_batch(conn, store, range(1, 301), vectors)
    query = unit(1, seed=4)[0]
    candidates = list(range(3, 301, 10))
    expected = sorted(candidates, key=lambda i: -float(vectors[i - 1] @ query))[:10]
    assert top_ids(store, query, 10, candidates) == expected  # stale index: answered in SQL
    store.search(query, 1)  # builds the index
    assert top_ids(store, query, 10, candidates) == expected  # fresh index: exact over rows
    assert store.search(query, 10, [10_000]) == []


def test_vectors_persist_across_reopen_and_sidecar_is_reused(store_cls, tmp_path):
    path = tmp_path / "lib.db"
    store, conn = open_store(store_cls, path)
    vectors = unit(100)
    indexer_batch(conn, store, range(1, 101), vectors)
    first = store.search(vectors[10], 5)
    store.close()
    conn.close()
    assert os.path.exists(store.sidecar_path)

    reopened, conn2 = open_store(store_cls, path)
    assert reopened.count() == 100
    assert reopened.search(vectors[10], 5) == first
    assert reopened.describe()["index"] == ("loaded", 100)
    os.remove(reopened.sidecar_path)  # it is a cache
    third, _ = open_store(store_cls, path, conn2)
    assert third.search(vectors[10], 5) == first
    assert os.path.exists(third.sidecar_path)


def test_writes_from_another_connection_make_the_sidecar_stale(store_cls, tmp_path):
    path = tmp_path / "lib.db"
    reader, _ = open_store(store_cls, path)
    writer, wconn = open_store(store_cls, path)
    vectors = unit(60)
    indexer_batch(wconn, writer, range(1, 61), vectors)
    assert top_ids(reader, vectors[0], 1) == [1]
    old_token = reader.token()
    assert vector_index.VectorIndex.load(reader.sidecar_path, old_token, DIMS) is not None

    new = unit(1, seed=77)
    indexer_batch(wconn, writer, [500], new)
    assert reader.token() != old_token
    assert top_ids(reader, new[0], 1) == [500]
    # not rebuilt: the sidecar stays the base and the new row is searched as a delta
    assert vector_index.VectorIndex.load(reader.sidecar_path, old_token, DIMS) is not None
    assert reader.describe()["index_delta"] == 1

    wconn.execute("BEGIN IMMEDIATE")
    writer.delete([500, 1])
    wconn.execute("COMMIT")
    assert {500, 1}.isdisjoint(top_ids(reader, new[0], 60))
    # a third process opening now maps the rebuilt sidecar and agrees
    third, _ = open_store(store_cls, path)
    assert third.search(new[0], 10) == reader.search(new[0], 10)


def test_rollback_leaves_store_and_sidecar_consistent(store_cls, tmp_path):
    path = tmp_path / "lib.db"
    store, conn = open_store(store_cls, path)
    vectors = unit(80)
    indexer_batch(conn, store, range(1, 81), vectors)
    store.search(vectors[0], 1)
    sidecar = Path(store.sidecar_path)
    before, inode = sidecar.read_bytes(), sidecar.stat().st_ino

    new = unit(1, seed=123)
    conn.execute("BEGIN IMMEDIATE")
    store.upsert([999], new)
    store.delete([1])
    # inside the transaction the connection sees its own writes…
    assert top_ids(store, new[0], 1) == [999]
    assert 1 not in top_ids(store, vectors[0], 80)
    conn.execute("ROLLBACK")
    # …and after the rollback nothing of it, and the committed-state sidecar is untouched
    assert store.count() == 80 and 999 not in store.ids()
    assert top_ids(store, new[0], 80).count(999) == 0
    assert top_ids(store, vectors[0], 1) == [1]
    assert sidecar.read_bytes() == before
    assert sidecar.stat().st_ino == inode  # never replaced by an uncommitted snapshot
    fresh, _ = open_store(store_cls, path)
    assert fresh.search(vectors[3], 3) == store.search(vectors[3], 3)


def test_failed_write_rolls_back_its_own_statements(store_cls, tmp_path):
    store, conn = open_store(store_cls, tmp_path / "lib.db")
    indexer_batch(conn, store, [1, 2], unit(2))
    token = store.token()
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(ValueError, match="32 dimensions"):
        store.upsert([3], unit(1, dims=16))
    conn.execute("COMMIT")
    assert store.count() == 2 and store.token() == token


def test_namespaces_never_mix(store_cls, tmp_path):
    path = tmp_path / "lib.db"
    a, conn = open_store(store_cls, path, namespace="clip-a:fp32")
    b, _ = open_store(store_cls, path, conn, namespace="clip-b/int8")
    indexer_batch(conn, a, [1, 2, 3], unit(3))
    indexer_batch(conn, b, [7], unit(1, seed=5))
    assert (a.count(), b.count()) == (3, 1)
    assert top_ids(b, unit(3)[0], 10) == [7]
    assert a.sidecar_path != b.sidecar_path


def test_wrong_dimensions_are_refused_in_one_line(store_cls, tmp_path):
    store, _ = open_store(store_cls, tmp_path / "lib.db")
    with pytest.raises(ValueError, match="8 dimensions but the vectors of model 'model-a' have 32"):
        store.search(np.ones(8, np.float32), 3)
    with pytest.raises(ValueError, match="2 vectors of 32"):
        store.upsert([1, 2], unit(1))


def test_unwritable_sidecar_directory_falls_back_to_a_temporary_index(
    store_cls, tmp_path, monkeypatch
):
    store, conn = open_store(store_cls, tmp_path / "lib.db")
    indexer_batch(conn, store, range(1, 41), unit(40))
    store.sidecar_path = str(tmp_path / "no-such-dir" / "x.vidx")
    assert top_ids(store, unit(40)[6], 1) == [7]


def test_sqlite_vec_describe_reports_driver_and_version(tmp_path):
    store, _ = open_store(SqliteVecStore, tmp_path / "lib.db")
    info = store.describe()
    assert info["store"] == "sqlite-vec"
    assert info["driver"] == db.driver_info().module
    assert info["sqlite_vec_version"].startswith("v0.")
    assert info["table"].startswith("vec_model_a")


def test_vec0_shadow_scan_equals_the_public_scan_after_deletes_and_reuse(tmp_path):
    store, conn = open_store(SqliteVecStore, tmp_path / "lib.db")
    vectors = unit(2_100)  # three vec0 chunks
    indexer_batch(conn, store, range(1, 2_101), vectors)
    conn.execute("BEGIN IMMEDIATE")
    store.delete(list(range(1, 2_101, 3)))
    store.upsert([5_000, 5_001], unit(2, seed=8))  # reuses freed slots
    conn.execute("COMMIT")

    def collect(chunks):
        pairs = {int(i): v for ids, m in chunks for i, v in zip(ids, m, strict=True)}
        return pairs

    assert store_sqlitevec.shadow_layout_known(conn, store.table)
    shadow = collect(store_sqlitevec.scan_shadow(conn, store.table, DIMS))
    public = collect(store._scan_public())
    assert set(shadow) == set(public) == store.ids() and len(shadow) == store.count()
    assert all(np.array_equal(shadow[i], public[i]) for i in public)


@pytest.mark.parametrize("first,second", [(SqliteVecStore, NumpyVectorStore),
                                          (NumpyVectorStore, SqliteVecStore)])
def test_switching_store_keeps_the_vectors_of_a_model(first, second, tmp_path):
    """A library indexed with sqlite-vec opened where it cannot load (and back): the catalog
    says the items are embedded, so the vectors must come along or they are lost to search."""
    path = tmp_path / "lib.db"
    a, conn = open_store(first, path)
    vectors = unit(50)
    indexer_batch(conn, a, range(1, 51), vectors)
    indexer_batch(conn, a, [51], unit(1, seed=3))
    conn.execute("BEGIN IMMEDIATE")
    a.delete([2])
    conn.execute("COMMIT")
    b, _ = open_store(second, path)
    assert b.ids() == a.ids() and b.count() == 50
    assert top_ids(b, vectors[9], 1) == [10] and 2 not in top_ids(b, vectors[1], 50)
    assert b.search(vectors[20], 5) == a.search(vectors[20], 5)
    other, _ = open_store(second, path, namespace="another-model")
    assert other.count() == 0


def test_numpy_store_reads_a_vec0_library_through_a_sqlite3_without_extensions(tmp_path):
    import sqlite3

    path = tmp_path / "lib.db"
    a, conn = open_store(SqliteVecStore, path)
    vectors = unit(40)
    indexer_batch(conn, a, range(1, 41), vectors)
    conn.close()
    plain = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)  # no vec0
    b, _ = open_store(NumpyVectorStore, path, plain)
    assert b.count() == 40 and top_ids(b, vectors[7], 1) == [8]


def test_sqlite_vec_store_refuses_in_one_line_without_the_extension(tmp_path, monkeypatch):
    monkeypatch.setattr(
        store_sqlitevec.db, "load_extension", lambda conn, loader: "this sqlite3 cannot load"
    )
    with pytest.raises(HuisouError, match="cannot load the sqlite-vec extension") as info:
        open_store(SqliteVecStore, tmp_path / "lib.db", conn=db.connect(":memory:"))
    assert "\n" not in str(info.value)
    monkeypatch.setitem(__import__("sys").modules, "sqlite_vec", None)
    with pytest.raises(HuisouError, match="sqlite-vec is not installed"):
        open_store(SqliteVecStore, tmp_path / "lib.db", conn=db.connect(":memory:"))


# -- through the library ------------------------------------------------------------------


def _photo(path: Path, colour) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), colour).save(path)


def _library(tmp_path: Path, fake_host, store: str) -> Library:
    config = Config(db=str(tmp_path / "library.db"), backend="fake", store=store, batch_size=4)
    return Library(config, fake_host)


@pytest.mark.parametrize("store_id", ["sqlite-vec", "numpy"])
def test_index_and_search_end_to_end(store_id, tmp_path, fake_host):
    root = tmp_path / "photos"
    colours = {"red": (220, 10, 10), "green": (10, 170, 10), "blue": (10, 10, 230)}
    for n in range(4):
        for name, rgb in colours.items():
            _photo(root / ("a" if n % 2 else "b") / f"{name}{n}.png", rgb)
    library = _library(tmp_path, fake_host, store_id)
    try:
        library.catalog.add_source("folder", str(root.resolve()))
        events = list(Indexer(library).run())
        assert events[-1].indexed == 12
        assert type(library.store).store_id == store_id and library.store.count() == 12
        # the after_index hook already built the sidecar: the first search maps it
        store = library.store
        assert vector_index.VectorIndex.load(store.sidecar_path, store.token(), 16) is not None
        hits = Searcher(library).search("red", top=4)
        assert [Path(h.path).name[:3] for h in hits] == ["red"] * 4
        in_a = Searcher(library).search(
            "blue", top=5, filters=SearchFilters(folder=str((root / "a").resolve()))
        )
        names = [Path(h.path).name for h in in_a]
        assert sorted(names[:2]) == ["blue1.png", "blue3.png"]
        assert all("/a/" in h.path for h in in_a) and len(in_a) == 5
        # deleting photos removes their vectors on the next run
        for n in range(4):
            os.remove(root / ("a" if n % 2 else "b") / f"red{n}.png")
        list(Indexer(library).run())
        assert library.store.count() == 8
        assert not any("red" in Path(h.path).name for h in Searcher(library).search("red", top=8))
    finally:
        library.close()
    reopened = _library(tmp_path, fake_host, store_id)
    try:  # a new process: the sidecar index is reused and agrees with the database
        assert reopened.store.count() == 8
        assert Path(Searcher(reopened).search("green", top=1)[0].path).name.startswith("green")
    finally:
        reopened.close()


def test_auto_falls_back_to_numpy_with_a_notice(tmp_path, fake_host, monkeypatch):
    monkeypatch.setattr(
        store_sqlitevec.db, "load_extension",
        lambda conn, loader: "stdlib sqlite3 of this Python cannot load extensions",
    )
    library = _library(tmp_path, fake_host, "auto")
    try:
        assert type(library.store).store_id == "numpy"
        assert any("sqlite-vec" in n and "cannot load" in n for n in library.notices)
        assert "numpy" in library.store.describe()["notice"]
    finally:
        library.close()
