"""A sidecar snapshot plus the changes made since it: search without rebuilding the sidecar.

Why: rebuilding the sidecar costs time proportional to the whole collection (7.2 s at 1M
vectors), which made every indexing run of ten photos pay for a million. Instead the store logs
which ids changed after each write (``seq``), and a search uses the last sidecar as a *base*
with the ids changed since its ``seq`` masked out (*tombstones*), plus those ids' current
vectors (the *delta*, read from the database, at most a few thousand) searched exactly beside
it. The store compacts (rebuilds the sidecar) only when the delta grows past
:func:`delta_limit`, so maintenance stays proportional to the change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from huisou.plugins.clip_search.bitcode import dot

#: The delta never exceeds this many rows before the store compacts (see delta_limit).
DELTA_MIN = 4_096
#: ... nor a 1/DELTA_FRACTION share of the base (15,625 rows at 1M: ~30 MB, ~5 ms a query).
DELTA_FRACTION = 64


def delta_limit(base_rows: int) -> int:
    """How many changed ids a base may carry before a full rebuild is cheaper overall."""
    return max(DELTA_MIN, base_rows // DELTA_FRACTION)


class LayeredIndex:
    """The searchable state of a store at ``token``: ``base`` minus ``changed`` plus ``delta``."""

    def __init__(
        self,
        base: Any,
        token: int,
        changed: Any = None,
        delta_ids: Any = None,
        delta_vectors: Any = None,
    ) -> None:
        self.base = base
        self.token = token
        self.changed = np.unique(np.asarray(changed if changed is not None else [], np.int64))
        self.delta_ids = np.asarray(delta_ids if delta_ids is not None else [], np.int64)
        self.delta_vectors = (
            np.zeros((0, base.dims), np.float32) if delta_vectors is None
            else np.ascontiguousarray(delta_vectors, dtype=np.float32)
        )
        self._tomb_rows = base.rows_of(self.changed) if len(self.changed) else None
        self._live_rows: Any = None

    def __len__(self) -> int:
        dead = 0 if self._tomb_rows is None else len(self._tomb_rows)
        return len(self.base) - dead + len(self.delta_ids)

    @property
    def delta_size(self) -> int:
        """Ids changed since the base (what a compaction would fold in)."""
        return int(len(self.changed))

    def search(
        self, query: Any, k: int, candidates: Any = None, rerank: int | None = None
    ) -> tuple[Any, Any]:
        """Top ``k`` as ``(ids, scores)``, best first; ``candidates`` restricts to those ids."""
        if candidates is None:
            base_found = self.base.search(query, k, self._live_base_rows(), rerank=rerank)
            delta_mask = None
        else:
            wanted = np.unique(np.asarray(candidates, dtype=np.int64))
            unchanged = wanted[~np.isin(wanted, self.changed, assume_unique=True)]
            rows = self.base.rows_of(unchanged)
            base_found = (self.base.search(query, k, rows, rerank=rerank) if len(rows)
                          else (np.zeros(0, np.int64), np.zeros(0, np.float32)))
            delta_mask = np.isin(self.delta_ids, wanted)
        return _merge(base_found, self._search_delta(query, k, delta_mask), k)

    def _live_base_rows(self) -> Any:
        """None (every row) when nothing is masked, else the base rows still current."""
        if self._tomb_rows is None or len(self._tomb_rows) == 0:
            return None
        if self._live_rows is None:
            keep = np.ones(len(self.base), dtype=bool)
            keep[self._tomb_rows] = False
            self._live_rows = np.flatnonzero(keep)
        return self._live_rows

    def _search_delta(self, query: Any, k: int, mask: Any) -> tuple[Any, Any]:
        ids, vectors = self.delta_ids, self.delta_vectors
        if mask is not None:
            ids, vectors = ids[mask], vectors[mask]
        if len(ids) == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = dot(vectors, np.ascontiguousarray(query, dtype=np.float32).reshape(-1))
        if len(scores) > k:
            top = np.argpartition(-scores, k)[:k]
            ids, scores = ids[top], scores[top]
        return ids, scores


def _merge(first: tuple[Any, Any], second: tuple[Any, Any], k: int) -> tuple[Any, Any]:
    """The best ``k`` of two result lists, ties broken by id as a single index would."""
    ids = np.concatenate((np.asarray(first[0], np.int64), np.asarray(second[0], np.int64)))
    scores = np.concatenate((np.asarray(first[1], np.float32),
                             np.asarray(second[1], np.float32)))
    order = np.lexsort((ids, -scores))[:k]
    return ids[order], scores[order]
