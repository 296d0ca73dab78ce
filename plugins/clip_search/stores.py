"""Registers the CLIP plugin's vector stores: ``sqlite-vec`` (preferred) and ``numpy``.

Both keep vectors in the library database and search through the same memory-mapped
bit-quantized index (:mod:`.vector_index`); they differ in the table format. ``store = "auto"``
tries sqlite-vec first; its constructor raises a one-line :class:`HuisouError` when the
extension cannot be loaded, and the library then falls back to numpy with a notice.

Importing this module is cheap (no numpy, no sqlite_vec): ``huisou --help`` loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huisou import hookimpl
from huisou.plugins.clip_search.store_numpy import NumpyVectorStore
from huisou.plugins.clip_search.store_sqlitevec import SqliteVecStore

__all__ = ["NumpyVectorStore", "SqliteVecStore"]


@hookimpl
def register_vector_stores(register: Callable[..., Any]) -> None:
    register(SqliteVecStore)
    register(NumpyVectorStore)


@hookimpl
def after_index(run: Any, summary: Any) -> None:
    """Rebuild the search index sidecar now, so the next search starts at full speed."""
    from huisou.plugins.clip_search.store_base import refresh_after_index

    classes = {cls.store_id: cls for cls in (SqliteVecStore, NumpyVectorStore)}
    refresh_after_index(run.db_path, run.model_fingerprint, classes)
