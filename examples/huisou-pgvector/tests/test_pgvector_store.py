"""huisou-pgvector on a real PostgreSQL + pgvector server: the contract, then huisou end to end.

The store class is taken from huisou's plugin host, which finds the installed distribution by
its ``huisou`` entry point.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from huisou.core.errors import HuisouError
from huisou.core.interfaces import StoreLocation
from huisou.core.plugins import PluginHost
from huisou.testing import VectorStoreContract


@pytest.fixture(scope="module")
def store_cls():
    return PluginHost(load_entry_points=True).get_store_class("pgvector")


def location(dsn: str, dimensions: int, **options) -> StoreLocation:
    # A fresh namespace per test = a fresh table: tests never see each other's vectors.
    return StoreLocation(
        db_path="/unused/library.db",
        namespace=f"contract-{uuid.uuid4().hex[:12]}",
        dimensions=dimensions,
        options={"dsn": dsn, **options},
    )


class TestPgVectorExactContract(VectorStoreContract):
    @pytest.fixture
    def store(self, store_cls, pg_dsn):
        store = store_cls(location(pg_dsn, self.dimensions))
        yield store
        store.close()


class TestPgVectorHnswContract(VectorStoreContract):
    """With an HNSW index the search is approximate; at this size it still finds 9/10."""

    min_recall = 0.9

    @pytest.fixture
    def store(self, store_cls, pg_dsn):
        store = store_cls(location(pg_dsn, self.dimensions, index="hnsw"))
        yield store
        store.close()


def test_plugin_is_installed_not_imported_from_the_source_tree(store_cls):
    import huisou_pgvector

    assert store_cls is huisou_pgvector.PgVectorStore
    assert "examples" not in Path(huisou_pgvector.__file__).parts, huisou_pgvector.__file__


def test_describe_reports_server_and_extension(store_cls, pg_dsn):
    store = store_cls(location(pg_dsn, 4))
    info = store.describe()
    store.close()
    assert info["store"] == "pgvector" and info["pgvector"] and info["server"]


def test_missing_dsn_is_one_clear_line(store_cls, monkeypatch):
    monkeypatch.delenv("HUISOU_PG_DSN", raising=False)
    with pytest.raises(HuisouError, match="needs a server: set dsn"):
        store_cls(StoreLocation("/x.db", "ns", 4))


def test_unreachable_server_is_one_clear_line(store_cls, tmp_path):
    dsn = f"postgresql://nobody@/db?host={tmp_path}&connect_timeout=2"
    with pytest.raises(HuisouError, match="cannot connect to PostgreSQL"):
        store_cls(location(dsn, 4))


def test_indexes_and_searches_through_huisou(pg_dsn, photo_folder, tmp_path):
    """huisou's indexer and search with the fake backend, vectors in PostgreSQL."""
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.search import Searcher

    host = PluginHost(load_entry_points=True)
    host.register(fakes, name="fakes")
    config = Config(db=str(tmp_path / "lib.db"), backend="fake", store="pgvector",
                    extra={"store_options": {"dsn": pg_dsn}})
    library = Library(config, host)
    source_id = library.catalog.add_source("folder", str(photo_folder), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    summary = list(Indexer(library, [(record, library.source_for(record))]).run())[-1]
    assert summary.indexed == len(photo_folder.photos)
    assert library.store.count() == len(photo_folder.photos)
    hits = Searcher(library).search("yellow", top=2)
    assert Path(hits[0].path).name == "yellow.jpg"
    library.close()
