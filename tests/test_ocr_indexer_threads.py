"""Image extractors (OCR) of one batch run side by side on the decode pool's threads, for new
photos and for photos read again for their fields; one that raises costs only its fields."""

from __future__ import annotations

import threading
from typing import ClassVar

import huisou.testing.fakes as fakes
from huisou import hookimpl
from huisou.core.config import Config
from huisou.core.indexer import Indexer
from huisou.core.interfaces import MetadataExtractor
from huisou.core.library import Library


class Together(MetadataExtractor):
    """Waits until a second photo is being read at the same time (or times out)."""

    name: ClassVar[str] = "test-together"
    image_size: ClassVar[int] = 32

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=5)
        self.threads: set[str] = set()
        self.met = 0

    def extract_image(self, item, decoded, vector):
        self.threads.add(threading.current_thread().name)
        try:
            self.barrier.wait()
            self.met += 1
        except threading.BrokenBarrierError:
            self.barrier.reset()
        if item.path.endswith("red.jpg"):
            raise RuntimeError("cannot read this one")
        return {"seen_together": True}


class Plugin:
    def __init__(self, extractor):
        self.extractor = extractor

    @hookimpl
    def register_fields(self, register):
        register("seen_together", "bool", "test")

    @hookimpl
    def register_metadata_extractors(self, register):
        register(self.extractor)


def test_image_extractors_of_a_batch_run_on_several_threads(huisou_host, register_plugin,
                                                            photo_folder, tmp_path):
    extractor = Together()
    register_plugin(fakes, name="fakes")
    register_plugin(Plugin(extractor), name="together")
    config = Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory",
                    batch_size=8, threads=2, ocr="off")
    with Library(config, huisou_host) as library:
        library.catalog.add_source("folder", str(photo_folder.root))
        summary = list(Indexer(library).run())[-1]
        assert summary.indexed == len(photo_folder.photos) and summary.failed == 0
        assert extractor.met >= 2 and all(t.startswith("huisou-") for t in extractor.threads)
        problems = [str(p) for p in huisou_host.problems if p.plugin == "test-together"]
        assert problems == ["plugin 'test-together' in extract_image: raised RuntimeError: "
                            "cannot read this one"]
        extractor.version = "2"  # read again for its fields: the refresh path, also parallel
        extractor.met, extractor.threads = 0, set()
        summary = list(Indexer(library).run())[-1]
        assert summary.indexed == 0
        assert extractor.met >= 2 and all(t.startswith("huisou-") for t in extractor.threads)
