"""The built-in ``postgres`` store on a real PostgreSQL + pgvector server: the contract, then
huisou end to end, then the one-line answers when psycopg, the DSN or the server is missing.

``HUISOU_PG_DSN`` points the tests at a server of your own. Otherwise the ``pgserver`` wheel
(PostgreSQL and pgvector bundled, installed by the ``dev`` extra) starts one in a temporary
directory, listening only on a Unix socket there, once per module. Nothing here is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from huisou.core.errors import HuisouError
from huisou.core.interfaces import StoreLocation
from huisou.core.plugins import PluginHost
from huisou.plugins.postgres import PostgresStore
from huisou.testing import VectorStoreContract


@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    dsn = os.environ.get("HUISOU_PG_DSN")
    if dsn:
        yield dsn
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
        import pgserver

    # A short path: Unix socket paths are limited to ~100 bytes.
    base = tempfile.mkdtemp(prefix="huisou-pg-")
    server = pgserver.get_server(os.path.join(base, "data"), cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def location(dsn: str, dimensions: int, **options) -> StoreLocation:
    # A fresh namespace per test = a fresh table: tests never see each other's vectors.
    return StoreLocation(
        db_path="/unused/library.db",
        namespace=f"contract-{uuid.uuid4().hex[:12]}",
        dimensions=dimensions,
        options={"dsn": dsn, **options},
    )


class TestPostgresExactContract(VectorStoreContract):
    @pytest.fixture
    def store(self, pg_dsn):
        store = PostgresStore(location(pg_dsn, self.dimensions))
        yield store
        store.close()


class TestPostgresHnswContract(VectorStoreContract):
    """With an HNSW index the search is approximate; at this size it still finds 9/10."""

    min_recall = 0.9

    @pytest.fixture
    def store(self, pg_dsn):
        store = PostgresStore(location(pg_dsn, self.dimensions, index="hnsw"))
        yield store
        store.close()


def test_is_a_builtin_plugin():
    host = PluginHost(load_entry_points=False)
    assert host.get_store_class("postgres") is PostgresStore


def test_help_does_not_import_psycopg():
    probe = (
        "import sys, json\n"
        "from huisou.cli.main import cli\n"
        "try:\n"
        "    cli.main(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "from huisou.core.plugins import get_host\n"
        "assert 'postgres' in get_host().vector_stores()\n"
        "print(json.dumps([m for m in ('psycopg', 'pgserver') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_without_psycopg_says_how_to_install_it_in_one_line(tmp_path, monkeypatch):
    """The extra is not installed: ``import psycopg`` fails (None in sys.modules does that)."""
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(HuisouError) as info:
        PostgresStore(location("postgresql://x@/db", 4))
    message = str(info.value)
    assert "\n" not in message
    assert "pip install 'huisou[postgres]'" in message


def test_selecting_the_store_without_psycopg_is_one_line_from_the_cli(photo_folder, tmp_path):
    """``huisou index`` with ``store = "postgres"`` where psycopg cannot be imported."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "psycopg.py").write_text("raise ImportError('blocked by the test')\n")
    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "fakes.py").write_text(
        "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n")
    (home / "config.toml").write_text(
        'backend = "fake"\nstore = "postgres"\nplugins_dir = "plugins"\ndb = "lib.db"\n'
        '[store_options]\ndsn = "postgresql://x@/db"\n')
    env = {**os.environ, "HUISOU_HOME": str(home), "PYTHONPATH": str(blocker)}
    env.pop("HUISOU_CONFIG", None)
    result = subprocess.run([sys.executable, "-m", "huisou", "index", str(photo_folder)],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "huisou[postgres]" in line]
    assert len(lines) == 1, output


def test_describe_reports_server_and_extension(pg_dsn):
    store = PostgresStore(location(pg_dsn, 4))
    info = store.describe()
    store.close()
    assert info["store"] == "postgres" and info["pgvector"] and info["server"]


def test_missing_dsn_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("HUISOU_PG_DSN", raising=False)
    with pytest.raises(HuisouError, match="needs a server: set dsn"):
        PostgresStore(StoreLocation("/x.db", "ns", 4))


@pytest.mark.parametrize(("key", "value"), [("index", "ivf"), ("ef_search", "many"),
                                            ("connect_timeout", -1)])
def test_bad_option_is_one_clear_line(key, value):
    with pytest.raises(HuisouError, match=f"{key} of the postgres store"):
        PostgresStore(location("postgresql://x@/db", 4, **{key: value}))


def test_malformed_dsn_is_one_clear_line():
    with pytest.raises(HuisouError, match="cannot connect to PostgreSQL"):
        PostgresStore(location("not a dsn = = =", 4))


def test_unreachable_server_is_one_clear_line(tmp_path):
    dsn = f"postgresql://nobody@/db?host={tmp_path}"
    with pytest.raises(HuisouError, match="cannot connect to PostgreSQL"):
        PostgresStore(location(dsn, 4, connect_timeout=2))


def test_indexes_and_searches_through_huisou(pg_dsn, photo_folder, tmp_path):
    """huisou's indexer and search with the fake backend, vectors in PostgreSQL."""
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.search import Searcher

    host = PluginHost(load_entry_points=False)
    host.register(fakes, name="fakes")
    config = Config(db=str(tmp_path / "lib.db"), backend="fake", store="postgres",
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


def test_filtered_search_with_hnsw_returns_k_exact_hits(pg_dsn):
    """Candidates far from the query: an HNSW walk then a filter would find almost none of
    them; the store ranks the candidate rows exactly and returns k of them."""
    import numpy as np
    from huisou.testing.contract_store import brute_force, unit_vectors

    store = PostgresStore(location(pg_dsn, 16, index="hnsw", ef_search=10))
    try:
        vectors = unit_vectors(3000, 16, seed=3)
        ids = list(range(1, 3001))
        store.upsert(ids, vectors)
        query = vectors[0]
        order = np.argsort(-(vectors @ query))
        far = sorted(int(ids[i]) for i in order[-400:])  # the 400 least similar
        rows = [ids.index(i) for i in far]
        expected = brute_force(vectors[rows], far, query, 20)
        assert [item_id for item_id, _ in store.search(query, 20, candidates=far)] == expected
        assert len(store.search(query, 1500)) == 1500  # beyond ef_search's cap: exact
    finally:
        store.close()
