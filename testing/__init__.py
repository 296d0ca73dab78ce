"""Test helpers for huisou plugin authors: fixtures, fakes and contract suites.

The fixtures (``huisou_host``, ``register_plugin``, ``fake_backend``, ``memory_store``,
``photo_folder``, ``huisou_home``) are a pytest plugin that installing huisou registers, so a
plugin's tests just use them. The contract suites are imported from here and subclassed::

    from huisou.testing import VectorStoreContract

Names load lazily, so ``import huisou.testing`` costs nothing until a suite is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MediaSourceContract": "huisou.testing.contract_source",
    "EmbeddingBackendContract": "huisou.testing.contract_backend",
    "VectorStoreContract": "huisou.testing.contract_store",
    "MetadataExtractorContract": "huisou.testing.contract_extractor",
    "FakeEmbeddingBackend": "huisou.testing.fakes",
    "MemoryVectorStore": "huisou.testing.fakes",
    "FAKE_DIMENSIONS": "huisou.testing.fakes",
    "PhotoSpec": "huisou.testing.photos",
    "PhotoFolder": "huisou.testing.photos",
    "make_jpeg": "huisou.testing.photos",
    "make_photo_folder": "huisou.testing.photos",
    "exif_bytes": "huisou.testing.photos",
    "DEFAULT_PHOTOS": "huisou.testing.photos",
    "insert_xmp": "huisou.testing.photos",
    "xmp_packet": "huisou.testing.photos",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'huisou.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
