"""The indexer stores what sources and extractors know, by the documented priority rule, and
keeps it current without re-embedding: sidecar edits, new and upgraded extractors, extractors
on the decoded image. Driven through the host with the fake backend on generated photos."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, ClassVar

import huisou.testing.fakes as fakes
import pytest
from huisou import hookimpl
from huisou.core import field_store
from huisou.core.config import Config
from huisou.core.indexer import Indexer
from huisou.core.interfaces import MediaItem, MediaSource, MetadataExtractor
from huisou.core.library import Library


class SidecarSource(MediaSource):
    """Like a Takeout source: ``photo.jpg`` + ``photo.jpg.json`` holding a date and a caption;
    it ignores ``exclude`` on purpose (the host must apply it)."""

    type_id: ClassVar[str] = "test-sidecar"

    def scan(self, cancel: threading.Event | None = None):
        for name in sorted(os.listdir(self.root)):
            path = os.path.join(self.root, name)
            if name.endswith(".json") or os.path.isdir(path):
                continue
            sidecar = path + ".json"
            fields: dict[str, Any] = {}
            if os.path.exists(sidecar):
                fields = json.loads(Path(sidecar).read_text())
            st = os.stat(path)
            yield MediaItem(path, st.st_size, st.st_mtime_ns, fields=fields,
                            depends_on=(sidecar,) if fields else ())


class Rating(MetadataExtractor):
    """Reads a rating from the file name (``...-r4.jpg``); version settable by the test."""

    name: ClassVar[str] = "test-rating"
    calls = 0

    def extract(self, item, fp):
        type(self).calls += 1
        stem = Path(item.path).stem
        return {"rating": int(stem[-1])} if "-r" in stem else {}


class Brightness(MetadataExtractor):
    """An image extractor: the decoded image's mean brightness, and whether it had a vector."""

    name: ClassVar[str] = "test-brightness"
    image_size: ClassVar[int] = 32
    seen: ClassVar[list[tuple[int, bool]]] = []
    threads: ClassVar[set[str]] = set()

    def extract_image(self, item, decoded, vector):
        type(self).seen.append((min(decoded.image.size), vector is not None))
        type(self).threads.add(threading.current_thread().name)
        from PIL import ImageStat

        return {"brightness": ImageStat.Stat(decoded.image.convert("L")).mean[0]}


class Plugin:
    def __init__(self, extractors):
        self.extractors = extractors

    @hookimpl
    def register_media_sources(self, register):
        register(SidecarSource)

    @hookimpl
    def register_fields(self, register):
        register("rating", "int", "stars")
        register("caption", "text", "from the sidecar", fulltext=True)
        register("brightness", "float", "mean grey level")

    @hookimpl
    def register_metadata_extractors(self, register):
        for extractor in self.extractors:
            register(extractor)


@pytest.fixture
def folder(photo_folder):
    return Path(photo_folder.root)


def _library(host, tmp_path) -> Library:
    config = Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory",
                    batch_size=2, threads=2)
    return Library(config, host)


def _index(library: Library, root: Path, options: dict | None = None) -> Any:
    source_id = library.catalog.add_source(SidecarSource.type_id, str(root), options or {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    return list(Indexer(library, [(record, library.source_for(record))]).run())[-1]


def _values(library: Library, path: Path) -> dict[str, Any]:
    item = library.catalog.item_by_path(str(path))
    values = field_store.values_of(library.catalog.conn, [item["id"]], library.host.fields())
    return {**values.get(item["id"], {}), "taken_at": item["taken_at"],
            "taken_at_source": item["taken_at_source"]}


def test_sidecar_fields_win_and_an_edited_sidecar_is_read_again_without_embedding(
    huisou_host, register_plugin, folder, tmp_path
):
    register_plugin(fakes, name="fakes")
    register_plugin(Plugin([]), name="sidecars")
    photo = folder / "red.jpg"
    sidecar = Path(str(photo) + ".json")
    sidecar.write_text(json.dumps({"taken_at": "2019-07-01T09:00:00+02:00", "caption": "海边"}))
    library = _library(huisou_host, tmp_path)
    summary = _index(library, folder)
    assert summary.indexed == len(list(folder.glob("*.jpg")))
    values = _values(library, photo)
    # the sidecar's date beats EXIF's DateTimeOriginal (source priority 100 > exif 10)
    assert values["taken_at"] == "2019-07-01T09:00:00+02:00"
    assert values["taken_at_source"] == "source:test-sidecar"
    assert values["caption"] == "海边"
    # a photo without sidecar keeps its EXIF date
    other = _values(library, folder / "green.jpg")
    assert other["taken_at_source"] == "DateTimeOriginal"
    batches = library.backend.image_batches
    sidecar.write_text(json.dumps({"caption": "沙滩上的狗"}))
    os.utime(sidecar, ns=(1, 1))  # a different mtime, whatever the clock's resolution
    summary = _index(library, folder)
    assert summary.indexed == 0 and library.backend.image_batches == batches  # no re-embedding
    values = _values(library, photo)
    assert values["caption"] == "沙滩上的狗"
    assert values["taken_at_source"] == "DateTimeOriginal"  # the sidecar's date is gone
    library.close()


def test_file_time_never_overrides_a_plugin_date(huisou_host, register_plugin, folder,
                                                 tmp_path):
    register_plugin(fakes, name="fakes")
    register_plugin(Plugin([]), name="sidecars")
    black = folder / "no-exif-black.jpg"
    library = _library(huisou_host, tmp_path)
    _index(library, folder)
    assert _values(library, black)["taken_at_source"] == "file mtime"
    Path(str(black) + ".json").write_text(json.dumps({"taken_at": "2001-02-03T04:05:06"}))
    _index(library, folder)
    assert _values(library, black)["taken_at"] == "2001-02-03T04:05:06"
    library.close()


def test_undeclared_keys_and_wrong_types_are_reported_once_per_plugin(
    huisou_host, register_plugin, folder, tmp_path
):
    class Sloppy(MetadataExtractor):
        name: ClassVar[str] = "sloppy"

        def extract(self, item, fp):
            return {"ratng": 3, "rating": "five", "gps_lat": 123.0}

    register_plugin(fakes, name="fakes")
    register_plugin(Plugin([Sloppy()]), name="sidecars")
    library = _library(huisou_host, tmp_path)
    summary = _index(library, folder)
    assert summary.indexed == len(list(folder.glob("*.jpg")))  # the photos are indexed anyway
    problems = [str(p) for p in huisou_host.problems if p.plugin == "sloppy"]
    assert len(problems) == 3, problems
    assert any("'ratng'" in p and "declared" in p for p in problems)
    assert any("'rating'" in p and "integer" in p for p in problems)
    assert any("'gps_lat'" in p for p in problems)
    assert "rating" not in _values(library, folder / "red.jpg")
    library.close()


def test_a_new_or_upgraded_extractor_runs_on_old_photos_without_embedding(
    huisou_host, register_plugin, folder, tmp_path
):
    register_plugin(fakes, name="fakes")
    register_plugin(Plugin([]), name="sidecars")
    (folder / "red.jpg").rename(folder / "red-r4.jpg")
    library = _library(huisou_host, tmp_path)
    _index(library, folder)
    batches = library.backend.image_batches
    library.close()

    class Ratings:
        @hookimpl
        def register_metadata_extractors(self, register):
            register(Rating())

    register_plugin(Ratings(), name="ratings")  # installed after the first run
    library = _library(huisou_host, tmp_path)
    summary = _index(library, folder)
    assert summary.indexed == 0 and library.backend.image_batches == 0
    assert _values(library, folder / "red-r4.jpg")["rating"] == 4
    calls = Rating.calls
    _index(library, folder)  # nothing new: not even read
    assert Rating.calls == calls
    Rating.version = "2"
    try:
        _index(library, folder)
        assert Rating.calls == calls + len(list(folder.glob("*.jpg")))
    finally:
        Rating.version = "1"
    assert batches >= 1
    library.close()


def test_image_extractors_get_the_decoded_image_and_the_vector(
    huisou_host, register_plugin, folder, tmp_path
):
    register_plugin(fakes, name="fakes")
    register_plugin(Plugin([Brightness()]), name="brightness")
    Brightness.seen.clear()
    library = _library(huisou_host, tmp_path)
    _index(library, folder)
    photos = list(folder.glob("*.jpg"))
    assert len(Brightness.seen) == len(photos)
    assert all(side >= 32 and had_vector for side, had_vector in Brightness.seen)
    # on the extract pool, not the indexing thread (OCR would leave the other cores idle)
    assert all(name.startswith("huisou-extract") for name in Brightness.threads)
    assert _values(library, folder / "no-exif-black.jpg")["brightness"] < 20
    assert _values(library, folder / "red.jpg")["brightness"] > 60
    library.close()


def test_the_host_applies_exclude_for_a_source_that_ignores_it(
    huisou_host, register_plugin, folder, tmp_path
):
    register_plugin(fakes, name="fakes")
    register_plugin(Plugin([]), name="sidecars")
    library = _library(huisou_host, tmp_path)
    _index(library, folder, {"exclude": ["red*"]})
    assert library.catalog.item_by_path(str(folder / "red.jpg")) is None
    assert library.catalog.item_by_path(str(folder / "green.jpg")) is not None
    library.close()
