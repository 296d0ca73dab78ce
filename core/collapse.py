"""Collapse near-duplicates and burst frames in results: one representative, "+4 similar".

Two hits are the same moment when the Android source put them in one burst ``group`` or when
their stored vectors are nearly identical (cosine at least :data:`NEAR_DUPLICATE`: resized,
recompressed or slightly cropped copies). The best-ranked hit of each set represents it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Cosine between stored vectors above which two photos count as copies of one picture.
NEAR_DUPLICATE = 0.95


def collapse(
    ids: Sequence[int], vectors: dict[int, Any], groups: dict[int, str | None]
) -> list[tuple[int, list[int]]]:
    """Best-first ``ids`` -> ``[(representative, [collapsed ids...])]`` in the same order.

    ``vectors`` maps ids to unit vectors (ids without one only collapse by group)."""
    import numpy as np

    kept: list[tuple[int, list[int]]] = []
    for item_id in ids:
        vector = vectors.get(item_id)
        group = groups.get(item_id)
        for representative, members in kept:
            same_group = group is not None and group == groups.get(representative)
            other = vectors.get(representative)
            close = vector is not None and other is not None and float(
                np.dot(vector, other)) >= NEAR_DUPLICATE
            if same_group or close:
                members.append(item_id)
                break
        else:
            kept.append((item_id, []))
    return kept
