"""The contract suites of ``huisou.testing`` run against every built-in plugin.

Classes come from the host (``huisou_host.get_*_class``), as the indexer gets them, so this also
checks that each built-in registers what it should. A missing built-in fails here: it is never
skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from huisou.core.catalog import Catalog
from huisou.core.interfaces import StoreLocation
from huisou.testing import (
    EmbeddingBackendContract,
    MediaSourceContract,
    MetadataExtractorContract,
    VectorStoreContract,
)

TINY_CLIP = Path(__file__).parent / "models" / "tiny_clip"


class TestFolderSourceContract(MediaSourceContract):
    @pytest.fixture
    def source(self, huisou_host, photo_folder):
        cls = huisou_host.get_source_class("folder")
        return cls(str(photo_folder))


class TestAndroidSourceContract(MediaSourceContract):
    @pytest.fixture
    def source(self, huisou_host, tmp_path):
        from huisou.testing.photos import DEFAULT_PHOTOS, make_photo_folder

        storage = tmp_path / "storage-shared"
        make_photo_folder(storage / "DCIM" / "Camera", DEFAULT_PHOTOS[:3])
        make_photo_folder(storage / "Pictures" / "Screenshots", DEFAULT_PHOTOS[3:])
        (storage / "Android" / "data" / "com.app").mkdir(parents=True)
        shutil.copy(storage / "DCIM" / "Camera" / "red.jpg", storage / "Android" / "data"
                    / "com.app" / "cache.jpg")  # app-private: never a candidate
        cls = huisou_host.get_source_class("android")
        return cls(cls.resolve_root(str(storage)))

    def test_app_private_folders_are_not_scanned(self, source, items):
        assert not [i.path for i in items if "/Android/data/" in i.path]
        assert len(items) == 6


class TestExifExtractorContract(MetadataExtractorContract):
    reads_exif = True

    @pytest.fixture
    def extractor(self, huisou_host):
        found = [e for e in huisou_host.metadata_extractors() if type(e).name == "exif"]
        assert found, "the built-in 'exif' extractor is not registered"
        return found[0]


class TestOnnxClipBackendContract(EmbeddingBackendContract):
    @pytest.fixture
    def backend(self, huisou_host):
        assert (TINY_CLIP / "config.json").exists(), "tests/models/tiny_clip is missing"
        cls = huisou_host.get_backend_class("onnx-clip")
        return cls(str(TINY_CLIP), precision="fp32", threads=1)


class _CatalogConnectionStore(VectorStoreContract):
    """A built-in store opened the way ``Library`` opens it: on the catalog's connection."""

    store_id = ""

    @pytest.fixture
    def store(self, huisou_host, tmp_path):
        catalog = Catalog(tmp_path / "library.db")
        location = StoreLocation(
            db_path=str(tmp_path / "library.db"),
            namespace="contract-v1",
            dimensions=self.dimensions,
            connection=catalog.conn,
        )
        store = huisou_host.get_store_class(self.store_id)(location)
        catalog.conn.commit()
        yield store
        store.close()
        catalog.close()


class TestSqliteVecStoreContract(_CatalogConnectionStore):
    store_id = "sqlite-vec"


class TestNumpyStoreContract(_CatalogConnectionStore):
    store_id = "numpy"


class TestFakeStoreThroughHost(VectorStoreContract):
    @pytest.fixture
    def store(self, huisou_host, register_plugin, tmp_path):
        import huisou.testing.fakes as fakes

        register_plugin(fakes, name="fakes")
        cls = huisou_host.get_store_class("memory")
        location = StoreLocation(str(tmp_path / "lib.db"), "contract", self.dimensions)
        yield cls(location)
        fakes.MemoryVectorStore._spaces.pop((location.db_path, location.namespace), None)


def test_every_builtin_loaded(huisou_host):
    assert not huisou_host.problems, [str(p) for p in huisou_host.problems]
    assert {"folder", "android"} <= set(huisou_host.media_sources())
    assert {"sqlite-vec", "numpy"} <= set(huisou_host.vector_stores())
    assert "onnx-clip" in huisou_host.embedding_backends()
