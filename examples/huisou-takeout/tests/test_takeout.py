"""huisou-takeout against huisou's MediaSourceContract, Takeout's sidecar naming quirks, hostile
sidecars, and an index run through the host (huisou's fake backend): sidecar fields stored,
trash skipped, an edited sidecar read again without re-embedding.

Runs against the *installed* distribution (``pip install .``).
"""

from __future__ import annotations

import json
import logging
import os
from importlib import metadata
from pathlib import Path

import huisou_takeout
import pytest
from huisou.testing import MediaSourceContract, PhotoSpec, make_jpeg
from huisou_takeout import SidecarFields, TakeoutSource, find_sidecar, sidecar_index

LONG = "PXL_20230512_134501123.NIGHT.a-very-long-descriptive-name.jpg"  # 60 characters


def photo(folder: Path, name: str, shade: int) -> Path:
    """A distinct small JPEG (``shade`` varies the bytes, so no two photos are duplicates)."""
    return make_jpeg(folder / name, PhotoSpec(name, (200, shade, 30), "red"))


def sidecar(path: Path, **data) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def takeout(tmp_path) -> Path:
    """An unpacked Takeout: a year folder, an album, trash and archive folders."""
    root = tmp_path / "Takeout" / "Google Photos"
    year, album = root / "Photos from 2019", root / "Holiday"
    photo(year, "red.jpg", 10)
    sidecar(year / "red.jpg.json", title="red.jpg", description="海边的红色风筝",
            photoTakenTime={"timestamp": "1551123684", "formatted": "Feb 25, 2019"},
            geoData={"latitude": 0.0, "longitude": 0.0},
            geoDataExif={"latitude": 23.1308, "longitude": -82.41})
    photo(year, "IMG_1234.jpg", 20)
    sidecar(year / "IMG_1234.jpg.supplemental-metadata.json",
            photoTakenTime={"timestamp": 1262304000}, geoData={"latitude": 52.5, "longitude": 13.4})
    photo(year, "IMG_1234(1).jpg", 30)
    sidecar(year / "IMG_1234.jpg(1).json", description="the duplicate")
    photo(year, "no-sidecar.jpg", 40)
    photo(album, LONG, 50)
    sidecar(album / (LONG[:46] + ".json"), description="long name, clipped sidecar")
    sidecar(album / "metadata.json", title="Holiday")  # the album's, not a photo's
    for i, skipped in enumerate(("Trash", "Archive", "Papierkorb", "Bin")):
        photo(root / skipped, f"gone{i}.jpg", 60 + i)
        sidecar(root / skipped / f"gone{i}.jpg.json", description="deleted")
    return root


class TestTakeoutContract(MediaSourceContract):
    @pytest.fixture
    def source(self, takeout, register_plugin):
        register_plugin(huisou_takeout, name="takeout")  # so the suite sees "description"
        return TakeoutSource(str(takeout))


def test_installed_with_its_entry_point_not_imported_from_the_source_tree():
    names = {ep.name: ep.value for ep in metadata.entry_points(group="huisou")}
    assert names.get("takeout") == "huisou_takeout"
    source_tree = Path(__file__).resolve().parents[1]
    assert not Path(huisou_takeout.__file__).resolve().is_relative_to(source_tree)


@pytest.mark.parametrize(("photo_name", "sidecar_name"), [
    ("IMG_1234.JPG", "IMG_1234.JPG.json"),
    ("IMG_1234.JPG", "IMG_1234.JPG.supplemental-metadata.json"),
    ("IMG_20240501_101010123.jpg", "IMG_20240501_101010123.jpg.supplemental-me.json"),
    ("IMG_1234(1).JPG", "IMG_1234.JPG(1).json"),
    ("IMG_1234(1).JPG", "IMG_1234.JPG.supplemental-metadata(1).json"),
    ("IMG_1234(2).JPG", "IMG_1234(2).JPG.json"),  # some exports keep (n) in place
    ("IMG_1234-edited.JPG", "IMG_1234.JPG.json"),  # edited copies share the original's
    ("IMG_1234-bearbeitet.JPG", "IMG_1234.JPG.supplemental-metadata.json"),
    ("IMG_1234.JPG", "IMG_1234.json"),  # the extension dropped
    (LONG, LONG[:46] + ".json"),
    (LONG, (LONG + ".supplemental-metadata")[:46] + ".json"),
    (LONG.replace(".jpg", "(3).jpg"), LONG[:46] + "(3).json"),
    ("2024-09-02-14-26-50-947.jpg", "2024-09-02-14-26-50-947.jpg.supplemental-metad.json"),
    ("微信图片_20240101.jpg", "微信图片_20240101.jpg.supplemental-metadata.json"),
])
def test_finds_the_sidecar_of_each_naming_quirk(photo_name, sidecar_name):
    index = sidecar_index([sidecar_name, "metadata.json", "other.jpg.json", "print-subscriptions.json"])
    assert find_sidecar(photo_name, index) == sidecar_name
    assert len(sidecar_name) - len(".json") <= 49  # Takeout's 46 characters, plus "(n)"


@pytest.mark.parametrize(("photo_name", "others"), [
    ("IMG_1234(1).JPG", ["IMG_1234.JPG.json"]),  # the original's, not the duplicate's
    ("IMG_12.JPG", ["IMG_1.JPG.json", "IMG_1.json", "IMG_123.JPG.json"]),
    ("IMG_1234.JPG", ["IMG_1234.JPG(1).json", "IMG_1234.PNG.json"]),
])
def test_never_takes_another_photos_sidecar(photo_name, others):
    assert find_sidecar(photo_name, sidecar_index(others)) is None


def test_scan_pairs_photos_and_sidecars_and_skips_trash_and_archive(takeout):
    items = {Path(i.path).relative_to(takeout).as_posix(): i for i in TakeoutSource(str(takeout)).scan()}
    assert sorted(items) == sorted([
        "Photos from 2019/red.jpg", "Photos from 2019/IMG_1234.jpg",
        "Photos from 2019/IMG_1234(1).jpg", "Photos from 2019/no-sidecar.jpg", f"Holiday/{LONG}",
    ])
    sides = {k: [Path(d).name for d in i.depends_on] for k, i in items.items()}
    assert sides["Photos from 2019/IMG_1234(1).jpg"] == ["IMG_1234.jpg(1).json"]
    assert sides["Photos from 2019/no-sidecar.jpg"] == [] and items[
        "Photos from 2019/no-sidecar.jpg"].fields is None
    source = TakeoutSource(str(takeout))
    assert "Trash" in source.explain_exclusion(str(takeout / "Trash" / "gone0.jpg"))
    assert "sidecar" in source.explain_exclusion(str(takeout / "Photos from 2019" / "red.jpg.json"))
    assert source.explain_exclusion(str(takeout / "Photos from 2019" / "red.jpg")) is None


def test_sidecar_fields(tmp_path):
    path = sidecar(tmp_path / "a.jpg.json", photoTakenTime={"timestamp": "1551123684"},
                   geoData={"latitude": 0.0, "longitude": 0.0},
                   geoDataExif={"latitude": 23.1308, "longitude": -82.41},
                   description="  海边的红色风筝 ")
    assert dict(SidecarFields(str(path))) == {
        "taken_at": "2019-02-25T19:41:24+00:00", "taken_at_source": "Takeout photoTakenTime",
        "gps_lat": 23.1308, "gps_lon": -82.41, "description": "海边的红色风筝"}


@pytest.mark.parametrize("data", [
    {"photoTakenTime": {"timestamp": "0"}}, {"photoTakenTime": {"timestamp": "abc"}},
    {"photoTakenTime": {"timestamp": 10**15}}, {"photoTakenTime": "1551123684"},
    {"geoData": {"latitude": 0, "longitude": 0}, "geoDataExif": {"latitude": 0.0, "longitude": 0}},
    {"geoData": {"latitude": 200.0, "longitude": 1.0}}, {"geoData": {"latitude": "1", "longitude": "2"}},
    {"geoData": {"latitude": True, "longitude": 1.0}}, {"geoData": [1, 2]},
    {"description": "   "}, {"description": ["not", "text"]},
])
def test_placeholders_and_wrong_types_give_nothing(tmp_path, data):
    assert dict(SidecarFields(str(sidecar(tmp_path / "x.json", **data)))) == {}


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b"[" * 100_000,
                                     b'{"description": "' + b"x" * (2 << 20) + b'"}'],
                         ids=["broken", "a-list", "binary", "deep", "over-1MB"])
def test_a_bad_sidecar_gives_no_fields_and_at_most_one_line(tmp_path, caplog, content):
    path = tmp_path / "bad.jpg.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert dict(SidecarFields(str(path))) == {}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) <= 1 and all(str(path) in m and "\n" not in m for m in lines), lines


def test_fields_are_read_when_used_not_when_scanned(takeout):
    items = list(TakeoutSource(str(takeout)).scan())
    red = next(i for i in items if i.path.endswith("red.jpg"))
    os.remove(red.depends_on[0])  # read lazily: the scan never opened it
    assert dict(red.fields) == {}


def test_indexes_through_huisou_and_rereads_an_edited_sidecar_without_embedding(
    huisou_host, register_plugin, takeout, tmp_path
):
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.search import Searcher

    register_plugin(fakes, name="fakes")
    register_plugin(huisou_takeout, name="takeout")
    library = Library(Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory"),
                      huisou_host)
    source_id = library.catalog.add_source("takeout", str(takeout), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)

    def index():
        return list(Indexer(library, [(record, library.source_for(record))]).run())[-1]

    def hits():  # what a search shows of every photo, fields included
        return {Path(hit.path).name: hit for hit in Searcher(library).search("photo", top=50)}

    assert index().indexed == 5
    red = hits()["red.jpg"]
    assert red.taken_at == "2019-02-25T19:41:24+00:00"
    assert red.gps == {"lat": 23.1308, "lon": -82.41}
    assert red.fields["description"] == "海边的红色风筝"  # other plugins may add fields
    assert hits()[LONG].fields["description"] == "long name, clipped sidecar"
    assert "description" not in hits()["no-sidecar.jpg"].fields
    assert not {"gone0.jpg", "gone1.jpg", "gone2.jpg", "gone3.jpg"} & set(hits())
    batches = library.backend.image_batches
    side = takeout / "Photos from 2019" / "red.jpg.json"
    sidecar(side, description="a red kite on the beach", photoTakenTime={"timestamp": "1262304000"})
    os.utime(side, ns=(1, 1))  # another mtime, whatever the clock's resolution
    assert index().indexed == 0 and library.backend.image_batches == batches
    red = hits()["red.jpg"]
    assert red.fields["description"] == "a red kite on the beach"
    assert red.taken_at == "2010-01-01T00:00:00+00:00" and red.gps is None
    assert not huisou_host.problems
    library.close()
