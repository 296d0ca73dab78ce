"""Browsing without a query: the library's photos by date, grouped by month; sorting.

Kept free of Textual so it can be tested alone. Browsing uses the catalog only (no model is
loaded): the photos that have a vector of the model in use, restricted by the same filters
as search, newest first. A photo without a capture date sorts by its file time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from huisou.core.search import Hit, SearchFilters

#: Sort orders the results can be shown in.
SORTS = ("score", "date")


def hit_from_row(row: dict[str, Any], score: float = 0.0) -> Hit:
    """A catalog item as a :class:`Hit` (browsing has no score: 0.0, never shown)."""
    make, model = row.get("camera_make"), row.get("camera_model")
    camera = {"make": make, "model": model} if make or model else None
    lat, lon = row.get("gps_lat"), row.get("gps_lon")
    gps = {"lat": lat, "lon": lon} if lat is not None and lon is not None else None
    return Hit(row["id"], row["path"], score, row.get("taken_at") or file_date(row),
               row.get("width"), row.get("height"), camera, gps)


def file_date(row: dict[str, Any]) -> str | None:
    """The file's modification time as ISO 8601 (UTC), for photos without a capture date."""
    mtime_ns = row.get("mtime_ns")
    if not mtime_ns:
        return None
    return datetime.fromtimestamp(mtime_ns / 1e9, tz=timezone.utc).isoformat(timespec="seconds")


def browse(library: Any, filters: SearchFilters | None = None, limit: int = 2000) -> list[Hit]:
    """The newest ``limit`` photos with a vector of the model in use, filtered like search."""
    catalog = library.catalog
    model = library.backend.model_fingerprint
    ids = None
    if filters is not None and not filters.is_empty():
        ids = catalog.filter_ids(model, **asdict(filters))
    if ids is None:
        ids = catalog.embedded_ids(model)
    rows = catalog.items_by_ids(list(ids), model)
    hits = [hit_from_row(row) for row in rows.values()]
    return sort_hits(hits, "date")[:limit]


def sort_hits(hits: Iterable[Hit], order: str) -> list[Hit]:
    """``score``: best first; ``date``: newest first, undated last, then by path."""
    hits = list(hits)
    if order == "date":
        return sorted(hits, key=lambda h: (h.taken_at is not None, h.taken_at or "", h.path),
                      reverse=True)
    return sorted(hits, key=lambda h: -h.score)


def month_of(hit: Hit) -> str:
    """``2024-05`` or ``no date``."""
    return hit.taken_at[:7] if hit.taken_at and len(hit.taken_at) >= 7 else "no date"


def by_month(hits: Iterable[Hit]) -> list[tuple[str, list[Hit]]]:
    """Consecutive runs of the same month, in the order given (date order: newest first)."""
    groups: list[tuple[str, list[Hit]]] = []
    for hit in hits:
        month = month_of(hit)
        if groups and groups[-1][0] == month:
            groups[-1][1].append(hit)
        else:
            groups.append((month, [hit]))
    return groups


def by_folder(hits: Iterable[Hit]) -> list[tuple[str, list[Hit]]]:
    """Photos grouped by folder, folders in path order, photos newest first within each."""
    from pathlib import PurePath

    folders: dict[str, list[Hit]] = {}
    for hit in hits:
        folders.setdefault(str(PurePath(hit.path).parent), []).append(hit)
    return [(folder, sort_hits(folders[folder], "date")) for folder in sorted(folders)]
