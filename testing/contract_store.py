"""``VectorStoreContract``: the clauses of :class:`~huisou.core.interfaces.VectorStore`, as tests.

Subclass it and provide a ``store`` fixture that returns a new, empty store of
``self.dimensions`` (``request.cls.dimensions``) dimensions::

    class TestMyStore(VectorStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            location = StoreLocation(str(tmp_path / "lib.db"), "contract", self.dimensions)
            yield MyStore(location)

The suite also opens a second instance with ``type(store)(store.location)`` to check that data
is shared through the location (after a commit, for stores on the catalog connection).
"""

from __future__ import annotations

from typing import Any

import pytest
from huisou.core.interfaces import StoreLocation, VectorStore


def unit_vectors(n: int, dimensions: int, seed: int = 0) -> Any:
    """``n`` random float32 unit vectors (deterministic per seed)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dimensions)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(vectors: Any, ids: list[int], query: Any, k: int) -> list[int]:
    import numpy as np

    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [ids[i] for i in order]


class VectorStoreContract:
    """Contract tests for a vector store; the subclass provides the ``store`` fixture."""

    #: Vector length the ``store`` fixture must use.
    dimensions = 8
    #: Vectors used by the recall checks.
    n_vectors = 300
    #: Minimum recall@10 against exact search (1.0 for exact stores; lower it for ANN stores).
    min_recall = 1.0
    #: Tolerance on scores (quantised stores may raise it).
    score_tolerance = 1e-3

    @pytest.fixture
    def store(self) -> VectorStore:
        raise NotImplementedError("provide a 'store' fixture returning an empty VectorStore")

    def _write(self, store: VectorStore, method: str, *args: Any) -> None:
        """Call a writing method as the indexer does: inside a transaction on a shared
        connection (``BEGIN`` … ``COMMIT``), plainly on a store's own connection."""
        conn = store.location.connection
        if conn is None:
            getattr(store, method)(*args)
            return
        if not getattr(conn, "in_transaction", False):
            conn.execute("BEGIN")
        getattr(store, method)(*args)
        conn.commit()

    def _fill(self, store: VectorStore, n: int | None = None, seed: int = 0) -> tuple[list[int], Any]:
        n = n or self.n_vectors
        vectors = unit_vectors(n, self.dimensions, seed)
        ids = list(range(1, n + 1))
        self._write(store, "upsert", ids, vectors)
        return ids, vectors

    def test_is_a_vector_store(self, store: VectorStore) -> None:
        assert isinstance(store, VectorStore)
        assert isinstance(type(store).store_id, str) and type(store).store_id
        assert isinstance(store.location, StoreLocation)
        assert store.location.dimensions == self.dimensions

    def test_starts_empty(self, store: VectorStore) -> None:
        assert store.count() == 0
        assert store.search(unit_vectors(1, self.dimensions)[0], 5) == []

    def test_upsert_then_count_and_ids(self, store: VectorStore) -> None:
        ids, _ = self._fill(store, 25)
        assert store.count() == 25
        try:
            stored = store.ids()
        except NotImplementedError:
            pytest.skip(f"{type(store).__name__}.ids() is not implemented (optional)")
        assert stored == set(ids)

    def test_upsert_is_idempotent(self, store: VectorStore) -> None:
        ids, vectors = self._fill(store, 20)
        self._write(store, "upsert", ids, vectors)
        assert store.count() == 20

    def test_upsert_replaces_the_vector(self, store: VectorStore) -> None:
        ids, vectors = self._fill(store, 20)
        replacement = unit_vectors(1, self.dimensions, seed=99)
        self._write(store, "upsert", [ids[0]], replacement)
        assert store.count() == 20
        best_id, score = store.search(replacement[0], 1)[0]
        assert best_id == ids[0]
        assert score == pytest.approx(1.0, abs=self.score_tolerance)

    def test_search_returns_exact_match_first_with_cosine_score(self, store: VectorStore) -> None:
        ids, vectors = self._fill(store)
        for row in (0, 7, len(ids) - 1):
            hits = store.search(vectors[row], 5)
            assert hits[0][0] == ids[row]
            assert hits[0][1] == pytest.approx(1.0, abs=self.score_tolerance)

    def test_search_is_best_first_with_cosine_scores(self, store: VectorStore) -> None:
        import numpy as np

        ids, vectors = self._fill(store)
        query = unit_vectors(1, self.dimensions, seed=7)[0]
        hits = store.search(query, 20)
        assert len(hits) == 20
        scores = [score for _id, score in hits]
        assert scores == sorted(scores, reverse=True), "results are not best first"
        by_id = dict(zip(ids, vectors, strict=True))
        for item_id, score in hits:
            expected = float(np.dot(by_id[item_id], query))
            assert score == pytest.approx(expected, abs=self.score_tolerance), item_id
            assert -1.0 - self.score_tolerance <= score <= 1.0 + self.score_tolerance

    def test_results_are_plain_python_types(self, store: VectorStore) -> None:
        self._fill(store, 10)
        for item_id, score in store.search(unit_vectors(1, self.dimensions, 3)[0], 5):
            assert type(item_id) is int, f"id {item_id!r} is {type(item_id).__name__}, not int"
            assert isinstance(score, float), f"score {score!r} is {type(score).__name__}"

    def test_search_recall_against_exact(self, store: VectorStore) -> None:
        ids, vectors = self._fill(store)
        queries = unit_vectors(10, self.dimensions, seed=11)
        found = 0
        for query in queries:
            expected = set(brute_force(vectors, ids, query, 10))
            found += len(expected & {i for i, _ in store.search(query, 10)})
        recall = found / (10 * len(queries))
        assert recall >= self.min_recall, f"recall@10 {recall:.2f} < {self.min_recall}"

    def test_k_larger_than_count(self, store: VectorStore) -> None:
        self._fill(store, 5)
        assert len(store.search(unit_vectors(1, self.dimensions, 4)[0], 50)) == 5

    def test_candidates_restrict_the_search(self, store: VectorStore) -> None:
        ids, vectors = self._fill(store)
        candidates = ids[::7]
        query = unit_vectors(1, self.dimensions, seed=5)[0]
        hits = store.search(query, 10, candidates=candidates)
        assert hits and {i for i, _ in hits} <= set(candidates)
        subset = [ids.index(c) for c in candidates]
        expected = brute_force(vectors[subset], candidates, query, 10)
        found = len(set(expected) & {i for i, _ in hits}) / len(expected)
        assert found >= self.min_recall

    def test_candidates_ignore_unknown_ids_and_may_be_empty(self, store: VectorStore) -> None:
        ids, vectors = self._fill(store, 10)
        hits = store.search(vectors[2], 5, candidates=[ids[2], 10_000, 10_001])
        assert [i for i, _ in hits] == [ids[2]]
        assert store.search(vectors[2], 5, candidates=[]) == []

    def test_delete_removes_and_ignores_unknown_ids(self, store: VectorStore) -> None:
        ids, vectors = self._fill(store, 30)
        self._write(store, "delete", [ids[0], ids[1], 123_456])
        assert store.count() == 28
        assert ids[0] not in {i for i, _ in store.search(vectors[0], 30)}
        self._write(store, "delete", [])
        assert store.count() == 28

    def test_second_instance_on_same_location_sees_the_vectors(self, store: VectorStore) -> None:
        ids, vectors = self._fill(store, 12)
        other = type(store)(store.location)
        try:
            assert other.count() == 12
            assert other.search(vectors[3], 1)[0][0] == ids[3]
        finally:
            other.close()

    def test_does_not_commit_the_shared_connection(self, store: VectorStore) -> None:
        conn = store.location.connection
        if conn is None:
            pytest.skip("store does not use the catalog connection")
        # As the indexer does: a transaction is open (BEGIN, even on an autocommit connection),
        # the store writes into it, and the batch is rolled back here instead of committed.
        conn.commit()
        conn.execute("BEGIN")
        store.upsert([1, 2, 3], unit_vectors(3, self.dimensions))
        conn.rollback()
        assert store.count() == 0, "upsert committed; the indexer must commit the batch"

    def test_describe_names_the_store(self, store: VectorStore) -> None:
        info = store.describe()
        assert isinstance(info, dict) and info.get("store") == type(store).store_id

    def test_close_releases(self, store: VectorStore) -> None:
        self._fill(store, 3)
        other = type(store)(store.location)
        other.close()  # closing one instance must not break another
        assert store.count() == 3
