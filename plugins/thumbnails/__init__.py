"""Thumbnails made while indexing, from the image already decoded for the encoder.

An image extractor (``image_size`` > 0) that gives no field: it stores a small JPEG of each
newly indexed photo in the thumbnail cache beside the library
(:class:`~huisou.core.thumbstore.ThumbStore`), so the TUI's grid shows real thumbnails from
the first search without decoding a single photo again. ``backfill`` is off: photos indexed
before this plugin existed are not decoded again just for a thumbnail (the TUI makes those
on first view, ``huisou thumbnails rebuild`` makes them all).
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from huisou import hookimpl
from huisou.core.interfaces import DecodedImage, IndexRun, MediaItem, MetadataExtractor
from huisou.core.thumbstore import QUALITY, THUMB_SIDE, ThumbStore


class ThumbnailMaker(MetadataExtractor):
    """Writes the thumbnail of each photo it sees into the run's thumbnail cache."""

    name: ClassVar[str] = "thumbnails"
    version: ClassVar[str] = f"{THUMB_SIDE}px-q{QUALITY}"
    image_size: ClassVar[int] = THUMB_SIDE
    backfill: ClassVar[bool] = False

    def __init__(self) -> None:
        self.store: ThumbStore | None = None

    def extract_image(
        self, item: MediaItem, decoded: DecodedImage, vector: Any
    ) -> dict[str, Any]:
        store = self.store
        if store is not None:
            # a non-UTF-8 file name cannot be a key there: the TUI decodes that photo on view
            with contextlib.suppress(UnicodeEncodeError):
                store.put(item.path, item.size, item.mtime_ns, decoded.image)
        return {}


MAKER = ThumbnailMaker()


@hookimpl
def register_metadata_extractors(register: Any) -> None:
    register(MAKER)


@hookimpl
def before_index(run: IndexRun) -> None:
    MAKER.store = ThumbStore(run.db_path) if run.db_path not in ("", ":memory:") else None


@hookimpl
def items_removed(run: IndexRun, paths: list[str]) -> None:
    if MAKER.store is not None:
        MAKER.store.forget(paths)


@hookimpl
def after_index(run: IndexRun, summary: Any) -> None:
    if MAKER.store is not None:
        MAKER.store.close()
        MAKER.store = None
