"""Thumbnails for the grid and the preview pane: off the UI thread, kept in an LRU cache.

Decoding goes through the plugin host's ``load_image`` (so HEIC and other plugin formats and
EXIF orientation work as in indexing), with plain Pillow as the fallback. The half-block
renderer draws two pixels per terminal cell (``▀`` with foreground = upper pixel and
background = lower pixel), which works in every true-colour terminal, Termux included.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from typing import Any

from rich.color import Color
from rich.style import Style
from rich.text import Text


class ThumbnailCache:
    """Thread-safe LRU of small RGB ``PIL.Image`` thumbnails keyed by path and box size.

    Boxes up to the stored thumbnail size (grid cells, half-block previews) are served from
    the :class:`~huisou.core.thumbstore.ThumbStore` beside the library when it has a current
    thumbnail; otherwise the photo is decoded once and the store is filled. Memory is bounded
    by a pixel budget as well as a count (graphics previews are large).
    """

    def __init__(self, host: Any = None, capacity: int = 1024, store: Any = None,
                 pixel_budget: int = 16_000_000) -> None:
        self.host = host
        self.store = store
        self.capacity = capacity
        self.pixel_budget = pixel_budget
        self._items: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
        self._pixels = 0
        self._lock = threading.Lock()
        self.decodes = 0

    def get(self, path: str, width: int, height: int) -> Any | None:
        """A cached thumbnail, or None (never decodes: safe on the UI thread)."""
        key = (path, width, height)
        with self._lock:
            image = self._items.get(key)
            if image is not None:
                self._items.move_to_end(key)
            return image

    def load(self, path: str, width: int, height: int) -> Any:
        """Read (from the store) or decode (slow: call from a worker thread) and cache a
        thumbnail fitting the box."""
        cached = self.get(path, width, height)
        if cached is not None:
            return cached
        image = self._stored(path, width, height)
        if image is None:
            image = self._fresh(path, width, height)
        image = image.copy()
        image.thumbnail((max(1, width), max(1, height)))
        with self._lock:
            self._items[(path, width, height)] = image
            self._pixels += image.width * image.height
            while self._items and (len(self._items) > self.capacity
                                   or self._pixels > self.pixel_budget):
                _key, old = self._items.popitem(last=False)
                self._pixels -= old.width * old.height
        return image

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._pixels = 0

    def _stored(self, path: str, width: int, height: int) -> Any | None:
        from huisou.core.thumbstore import THUMB_SIDE

        if self.store is None or max(width, height) > THUMB_SIDE:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return self.store.get(path, stat.st_size, stat.st_mtime_ns)

    def _fresh(self, path: str, width: int, height: int) -> Any:
        """Decode the photo and fill the store; for boxes the store serves, return the stored
        thumbnail's pixels rather than the decode's.

        A photo must look the same whether it is drawn before or after its thumbnail was
        stored: otherwise the first drawing (from the decode) and every later one (from the
        JPEG) differ by JPEG rounding, and which one a screen shows depends on which worker
        finished first.
        """
        from huisou.core.thumbstore import THUMB_SIDE

        image, stat = self._decode(path, max(width, height) * 2)
        if self.store is None:
            return image
        self.store.put(path, stat.st_size, stat.st_mtime_ns, image)
        if max(width, height) > THUMB_SIDE:
            return image
        stored = self.store.get(path, stat.st_size, stat.st_mtime_ns)
        return image if stored is None else stored  # None: an unwritable store, decode each time

    def _decode(self, path: str, size_hint: int) -> tuple[Any, os.stat_result]:
        """The decoded photo (at least the stored thumbnail's size) and its ``fstat``."""
        from huisou.core.index_jobs import read_photo
        from huisou.core.regular_files import open_regular
        from huisou.core.thumbstore import THUMB_SIDE
        from PIL import Image, ImageOps

        size_hint = max(size_hint, THUMB_SIDE)  # big enough to fill the store as well
        with open_regular(path) as fh:  # a photo replaced by a FIFO must not hang the TUI
            stat = os.fstat(fh.fileno())
            data = read_photo(fh, stat.st_size)
        image = None
        if self.host is not None:
            from huisou.core.interfaces import MediaItem

            item = MediaItem(path, stat.st_size, stat.st_mtime_ns)
            decoded = self.host.load_image(item, io.BytesIO(data), size_hint)
            if decoded is not None:
                image = decoded.image.convert("RGB")
        if image is None:
            image = Image.open(io.BytesIO(data))
            image.draft("RGB", (size_hint, size_hint))
            image = ImageOps.exif_transpose(image).convert("RGB")
        with self._lock:
            self.decodes += 1
        return image, stat


def halfblock(image: Any, cells_wide: int, cells_high: int) -> Text:
    """Render an RGB image as coloured half blocks fitting ``cells_wide`` x ``cells_high``.

    The image is scaled to fit (aspect kept; a cell is about twice as tall as wide, so one
    cell holds two square pixels stacked) and centred horizontally: each line is
    padded on both sides to the full width.
    """
    from PIL import Image

    if cells_wide < 1 or cells_high < 1:
        return Text()
    w, h = image.size
    scale = min(cells_wide / w, (cells_high * 2) / h)
    tw, th = max(1, round(w * scale)), max(2, round(h * scale))
    th += th % 2
    small = image.convert("RGB").resize((tw, th), Image.Resampling.BOX)
    pixels = small.load()
    pad = " " * ((cells_wide - tw) // 2)
    right = " " * (cells_wide - tw - len(pad))  # every line spans the box: centred as is
    text = Text(no_wrap=True, overflow="crop")
    for y in range(0, th, 2):
        text.append(pad)
        for x in range(tw):
            top = pixels[x, y]
            bottom = pixels[x, y + 1] if y + 1 < th else top
            # Colours built from triplets: parsing "rgb(…)" strings cost most of the time.
            text.append("▀", Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom)))
        text.append(right)
        if y + 2 < th:
            text.append("\n")
    return text


def graphics_protocol() -> str | None:
    """``"tgp"`` or ``"sixel"`` when textual-image finds a graphics-capable terminal, else None.

    Must run *before* the Textual app starts: textual-image queries the terminal on import,
    which is impossible once Textual owns stdin. Never raises; no TTY means None.
    """
    import sys

    if not (sys.__stdout__ and sys.__stdout__.isatty()):
        return None
    if os.environ.get("HUISOU_NO_IMAGES"):
        return None
    import logging

    quiet = logging.getLogger("textual_image")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # a terminal that does not answer is not an error
    try:
        # Both modules query the terminal when first imported; do it now, before Textual.
        from textual_image import renderable, widget  # noqa: F401
    except Exception:  # optional extra not installed, or the terminal query failed
        return None
    finally:
        quiet.setLevel(level)
    name = getattr(renderable.Image, "__module__", "")
    if name.endswith(".tgp"):
        return "tgp"
    if name.endswith(".sixel"):
        return "sixel"
    return None
