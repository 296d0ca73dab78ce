"""Indexing stores each new photo's thumbnail from the image decoded for the encoder: one
decode per photo, thumbnails of the documented size, gone with their photo."""

from __future__ import annotations

import huisou.testing.fakes as fakes
from huisou import hookimpl
from huisou.core.config import Config
from huisou.core.indexer import Indexer
from huisou.core.library import Library
from huisou.core.thumbstore import THUMB_SIDE, ThumbStore


class CountingDecoder:
    """Counts decodes and lets the built-in decoder do them."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl(tryfirst=True)
    def load_image(self, item, fp, size_hint):
        self.calls += 1
        return None


def test_index_makes_thumbnails_without_a_second_decode(huisou_host, register_plugin,
                                                        photo_folder, tmp_path):
    register_plugin(fakes, name="fakes")
    counter = CountingDecoder()
    register_plugin(counter, name="counter")
    config = Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory", threads=2)
    library = Library(config, huisou_host)
    library.catalog.add_source("folder", str(photo_folder.root), {})
    summary = list(Indexer(library).run())[-1]
    n = len(photo_folder.photos)
    assert summary.indexed == n
    assert counter.calls == n  # the thumbnail came from the encoder's decode
    store = ThumbStore(config.db_path)
    count, total = store.stats()
    assert count == n and total > 0
    assert store.path.stat().st_mode & 0o777 == 0o600  # private, like the library
    red = photo_folder.root / "red.jpg"
    thumb = store.get(str(red), red.stat().st_size, red.stat().st_mtime_ns)
    assert thumb is not None and max(thumb.size) <= THUMB_SIDE
    r, g, b = thumb.getpixel((thumb.width // 2, thumb.height // 2))
    assert r > 150 and g < 80 and b < 80
    red.unlink()
    list(Indexer(library).run())
    assert store.get(str(red), 0, 0) is None and store.stats()[0] == n - 1
    store.close()
    library.close()
