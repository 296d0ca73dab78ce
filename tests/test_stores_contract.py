"""The VectorStore contract suite run against both SQLite stores, on three kinds of connection.

- ``shared legacy``: a DB-API connection whose driver opens transactions implicitly, so the
  suite's "does not commit the shared connection" check (commit, upsert, rollback) can fail;
- ``own``: no connection in the location, the store opens its own;
- small ``EXACT_MAX`` and a sidecar directory, so the suite also runs on the bit-index path.
"""

from __future__ import annotations

import pytest
from huisou.core import db
from huisou.core.interfaces import StoreLocation
from huisou.plugins.clip_search import vector_index
from huisou.plugins.clip_search.stores import NumpyVectorStore, SqliteVecStore
from huisou.testing.contract_store import VectorStoreContract


def _legacy_connection(path):
    # isolation_level "" (the DB-API default): DML opens a transaction the caller must commit
    return db.driver_module().connect(str(path), check_same_thread=False)


class _SharedLegacy(VectorStoreContract):
    store_cls: type

    @pytest.fixture
    def store(self, tmp_path):
        conn = _legacy_connection(tmp_path / "lib.db")
        location = StoreLocation(str(tmp_path / "lib.db"), "contract-v1", self.dimensions,
                                 connection=conn)
        store = self.store_cls(location)
        conn.commit()
        yield store
        store.close()
        conn.close()


class _OwnConnection(VectorStoreContract):
    store_cls: type

    @pytest.fixture
    def store(self, tmp_path):
        store = self.store_cls(StoreLocation(str(tmp_path / "lib.db"), "contract-v1",
                                             self.dimensions))
        yield store
        store.close()


class _BitIndexPath(_OwnConnection):
    """Forces the coarse (bits + re-rank) path: the contract's 300 vectors exceed EXACT_MAX."""

    dimensions = 64
    min_recall = 0.9  # 64-d random vectors are the worst case for sign bits; see test_stores_index

    @pytest.fixture(autouse=True)
    def _small_exact(self, monkeypatch):
        monkeypatch.setattr(vector_index, "EXACT_MAX", 16)
        monkeypatch.setattr(vector_index, "SUBSET_EXACT_MAX", 8)


class TestSqliteVecShared(_SharedLegacy):
    store_cls = SqliteVecStore


class TestSqliteVecOwn(_OwnConnection):
    store_cls = SqliteVecStore


class TestSqliteVecBits(_BitIndexPath):
    store_cls = SqliteVecStore


class TestNumpyShared(_SharedLegacy):
    store_cls = NumpyVectorStore


class TestNumpyOwn(_OwnConnection):
    store_cls = NumpyVectorStore


class TestNumpyBits(_BitIndexPath):
    store_cls = NumpyVectorStore
