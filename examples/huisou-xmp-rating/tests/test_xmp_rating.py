"""huisou-xmp-rating against huisou's MetadataExtractorContract, both XMP forms, hostile packets,
and ratings stored as the ``rating`` field by a real index run (huisou's fake backend).

Runs against the *installed* distribution (``pip install .``): the test checks the module was
not imported from the source tree and that its ``huisou`` entry point is installed.
"""

from __future__ import annotations

import io
from importlib import metadata
from pathlib import Path

import huisou_xmp_rating
import pytest
from huisou.core.interfaces import MediaItem
from huisou.testing import (
    DEFAULT_PHOTOS,
    MetadataExtractorContract,
    insert_xmp,
    make_jpeg,
    make_photo_folder,
    xmp_packet,
)
from huisou_xmp_rating import XmpRatingExtractor


def rating(data: bytes) -> int | None:
    item = MediaItem("/photos/x.jpg", len(data), 0)
    return XmpRatingExtractor().extract(item, io.BytesIO(data)).get("rating")


@pytest.fixture
def jpeg(tmp_path) -> bytes:
    return make_jpeg(tmp_path / "plain.jpg", DEFAULT_PHOTOS[0]).read_bytes()


class TestXmpRatingContract(MetadataExtractorContract):
    @pytest.fixture
    def extractor(self, huisou_host, register_plugin):
        register_plugin(huisou_xmp_rating, name="xmp-rating")
        [extractor] = [e for e in huisou_host.metadata_extractors() if e.name == "xmp-rating"]
        return extractor

    @pytest.fixture
    def samples(self, photo_folder):
        """Photos with ratings in both forms, so the field clauses see real values."""
        paths = photo_folder.paths()
        for stars, path in enumerate(paths):
            packet = xmp_packet(element=stars % 2 == 1, Rating=stars if stars < 5 else -1)
            path.write_bytes(insert_xmp(path.read_bytes(), packet))
        return paths


def test_installed_with_its_entry_point_not_imported_from_the_source_tree():
    names = {ep.name: ep.value for ep in metadata.entry_points(group="huisou")}
    assert names.get("xmp-rating") == "huisou_xmp_rating"
    source_tree = Path(__file__).resolve().parents[1]
    assert not Path(huisou_xmp_rating.__file__).resolve().is_relative_to(source_tree)


@pytest.mark.parametrize("stars", [0, 1, 3, 5])
@pytest.mark.parametrize("element", [False, True], ids=["attribute", "element"])
def test_reads_both_forms(jpeg, stars, element):
    assert rating(insert_xmp(jpeg, xmp_packet(element=element, Rating=stars))) == stars


def test_any_prefix_of_the_namespace_and_padding(jpeg):
    packet = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
              b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:xap="http://ns.adobe.com/xap/1.0/" '
              b'xap:Rating="2"/></rdf:RDF></x:xmpmeta>' + b" " * 2048)
    assert rating(insert_xmp(jpeg, packet)) == 2


def test_writers_quirks_single_quotes_nul_padding_and_other_properties(jpeg):
    packet = ("<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n<x:xmpmeta "
              "xmlns:x='adobe:ns:meta/' x:xmptk='Image::ExifTool 12.40'>\n<rdf:RDF xmlns:rdf="
              "'http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n <rdf:Description rdf:about='' "
              "xmlns:MicrosoftPhoto='http://ns.microsoft.com/photo/1.0/'>\n  <MicrosoftPhoto:"
              "Rating>75</MicrosoftPhoto:Rating>\n </rdf:Description>\n <rdf:Description "
              "rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/'>\n  <xmp:Rating>4"
              "</xmp:Rating>\n </rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n"
              "<?xpacket end='w'?>").encode() + b"\x00" * 16
    assert rating(insert_xmp(jpeg, packet)) == 4


@pytest.mark.parametrize("value", ["-1", "6", "2.5", "four", "", "nan", "1e400"])
def test_values_that_are_not_whole_stars_give_no_rating(jpeg, value):
    assert rating(insert_xmp(jpeg, xmp_packet(Rating=value))) is None


def test_a_rating_in_another_namespace_is_not_ours(jpeg):
    packet = xmp_packet(Rating=4).replace(b"http://ns.adobe.com/xap/1.0/", b"urn:other")
    assert rating(insert_xmp(jpeg, packet)) is None


@pytest.mark.parametrize("packet", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    b'<x xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4">&b;</x>',
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF',  # truncated
    b"\xff\xfe\x00garbage",
    b"",
], ids=["entity-expansion", "truncated", "garbage", "empty"])
def test_hostile_packets_give_no_rating(jpeg, packet):
    assert rating(insert_xmp(jpeg, packet)) is None


def test_first_packet_with_a_rating_wins_and_image_data_is_not_read(jpeg):
    two = insert_xmp(insert_xmp(jpeg, xmp_packet(Rating=1)), xmp_packet(Label="x"))
    assert rating(two) == 1
    after_scan = jpeg + insert_xmp(b"\xff\xd8", xmp_packet(Rating=5))[2:]  # past SOS: pixels
    assert rating(after_scan) is None


def test_lying_segment_lengths_end_quietly(jpeg):
    assert rating(b"\xff\xd8\xff\xe1\x00\x01") is None  # length below its own 2 bytes
    assert rating(b"\xff\xd8" + b"\xff" * 10_000) is None  # fill bytes to the end
    assert rating(b"\xff\xd8" + b"\xff\xd0" * 100 + b"\xff\xe1\x00\x10abc") is None


def test_ratings_are_stored_as_a_field_by_an_index_run(huisou_host, register_plugin, tmp_path):
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.search import Searcher

    folder = make_photo_folder(tmp_path / "photos")
    stars = {"red.jpg": 4, "green.jpg": 2, "blue.jpg": 0}
    for path in folder.paths():
        if path.name in stars:
            path.write_bytes(insert_xmp(path.read_bytes(), xmp_packet(Rating=stars[path.name])))
    register_plugin(fakes, name="fakes")
    register_plugin(huisou_xmp_rating, name="xmp-rating")
    library = Library(Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory"),
                      huisou_host)
    source_id = library.catalog.add_source("folder", str(folder), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    summary = list(Indexer(library, [(record, library.source_for(record))]).run())[-1]
    assert summary.indexed == len(folder.photos)
    hits = Searcher(library).search("photo", top=50)  # each hit carries its fields
    found = {Path(hit.path).name: hit.fields.get("rating") for hit in hits}
    assert found == {**{Path(p).name: None for p in folder.paths()}, **stars}
    assert not huisou_host.problems
    library.close()
