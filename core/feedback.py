"""Relevance feedback: "more like these, fewer like that" from stored vectors (Rocchio).

No photo is decoded or re-encoded: the liked and unliked photos' vectors come from the vector
store by catalog path, so a photo deleted from disk since indexing still counts as long as the
library has its vector. The new query is the classic Rocchio combination
``ALPHA * query + BETA * mean(liked) - GAMMA * mean(unliked)``, re-normalised.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from huisou.core.errors import HuisouError

ALPHA, BETA, GAMMA = 1.0, 0.75, 0.25


def stored_vectors(library: Any, paths: Sequence[str]) -> Any:
    """The current model's stored vectors of ``paths`` (as the catalog names them)."""
    import numpy as np

    model = library.backend.model_fingerprint
    ids: list[int] = []
    for path in paths:
        row = library.catalog.item_by_path(os.path.abspath(path)) or library.catalog.item_by_path(
            path
        )
        if row is None:
            raise HuisouError(f"{path} is not in the library: index it first, or pick a hit")
        ids.append(int(row["id"]))
    try:
        found, matrix = library.store.fetch(ids)
    except NotImplementedError:
        raise HuisouError(
            f"vector store {library.store.store_id!r} cannot return stored vectors, "
            "so --like/--unlike are not available with it"
        ) from None
    missing = [p for p, i in zip(paths, ids, strict=True) if i not in {int(f) for f in found}]
    if missing or not library.catalog.items_by_ids(ids, model):
        raise HuisouError(f"{missing[0] if missing else paths[0]} has no vector of model "
                          f"{model!r}: run huisou index")
    return np.asarray(matrix, dtype=np.float32)


def rocchio(query: Any | None, liked: Any | None, unliked: Any | None) -> Any:
    """The feedback query vector (unit length); ``query`` may be None (liked photos only)."""
    import numpy as np

    parts = []
    if query is not None:
        parts.append(ALPHA * np.asarray(query, dtype=np.float32))
    if liked is not None and len(liked):
        parts.append(BETA * np.asarray(liked, dtype=np.float32).mean(axis=0))
    if unliked is not None and len(unliked):
        parts.append(-GAMMA * np.asarray(unliked, dtype=np.float32).mean(axis=0))
    if not parts:
        raise HuisouError("nothing to search for: give a query, --image or --like PATH")
    vector = np.sum(parts, axis=0)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        raise HuisouError("the liked and unliked photos cancel each other out")
    return (vector / norm).astype(np.float32)
