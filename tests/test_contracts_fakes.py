"""The contract suites run against the fakes shipped in ``huisou.testing.fakes``.

The fakes stand in for real plugins in many tests, so they must honour the same contracts.
"""

from __future__ import annotations

import pytest
from huisou.core.interfaces import StoreLocation
from huisou.testing import EmbeddingBackendContract, VectorStoreContract
from huisou.testing.fakes import FakeEmbeddingBackend, MemoryVectorStore


class TestFakeBackendContract(EmbeddingBackendContract):
    @pytest.fixture
    def backend(self):
        return FakeEmbeddingBackend()


class TestMemoryStoreContract(VectorStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        location = StoreLocation(str(tmp_path / "lib.db"), "contract", self.dimensions)
        store = MemoryVectorStore(location)
        yield store
        store.close()
        MemoryVectorStore._spaces.pop((location.db_path, location.namespace), None)


def test_fixtures_give_isolated_fakes(fake_backend, memory_store, huisou_host):
    """The pytest11 fixtures hand out fresh fakes of matching dimensions."""
    assert memory_store.count() == 0
    assert memory_store.location.dimensions == fake_backend.dimensions
    assert "fake" not in huisou_host.embedding_backends()  # built-ins only
