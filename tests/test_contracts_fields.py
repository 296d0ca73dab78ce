"""The contract clauses about fields, sidecars and ``exclude`` fail on plugins that break them
(and pass on plugins that keep them): an extractor returning an undeclared key or a value of
the wrong type, a source attaching such fields, a source yielding its sidecars as photos, a
source that chokes on ``exclude`` or drops more than it matches. A source that ignores
``exclude`` passes: the host applies it. In-process pytest sessions (pytester), as an author
runs the suites.
"""

from __future__ import annotations

import numpy  # noqa: F401 - loaded before pytester snapshots sys.modules (numpy cannot reload)
import PIL.Image  # noqa: F401

pytest_plugins = ["pytester"]

PLUGINS = '''
import os
from huisou import hookimpl
from huisou.core.interfaces import MediaItem, MediaSource, MetadataExtractor


class Fields:
    @hookimpl
    def register_fields(self, register):
        register("rating", "int", "stars")
        register("caption", "text", "words", fulltext=True)


class Rating(MetadataExtractor):
    name = "good-rating"

    def extract(self, item, fp):
        return {"rating": 3, "caption": "a photo"} if item.path.endswith(".jpg") else {}


class Misspelt(MetadataExtractor):
    name = "misspelt"

    def extract(self, item, fp):
        return {"ratng": 3}


class Wordy(MetadataExtractor):
    name = "wordy"

    def extract(self, item, fp):
        return {"rating": "five"}


class Pixels(MetadataExtractor):
    name = "pixels"
    image_size = 16

    def extract_image(self, item, decoded, vector):
        return {"rating": 2, "brightnes": 0.5}


class Walk(MediaSource):
    """The .jpg files of a tree, with ``name.jpg.json`` as a sidecar when there is one."""
    type_id = "walk"
    fields_for = staticmethod(lambda path: None)

    def files(self):
        if not os.path.isdir(self.root):
            raise __import__("huisou.core.errors").core.errors.MediaError("no root")
        for folder, dirs, names in os.walk(self.root):
            dirs.sort()
            for name in sorted(names):
                yield os.path.join(folder, name)

    def scan(self, cancel=None):
        for path in self.files():
            if cancel is not None and cancel.is_set():
                return
            if self.wanted(path):
                st = os.stat(path)
                side = (path + ".json",) if os.path.exists(path + ".json") else ()
                yield MediaItem(path, st.st_size, st.st_mtime_ns, depends_on=side,
                                fields=self.fields_for(path))

    def wanted(self, path):
        return path.endswith(".jpg")


class SidecarsAsPhotos(Walk):
    type_id = "sidecars-as-photos"

    def wanted(self, path):
        return path.endswith((".jpg", ".json"))


class UndeclaredFields(Walk):
    type_id = "undeclared-fields"
    fields_for = staticmethod(lambda path: {"caption": "ok", "mood": "happy"})


class WrongTypeFields(Walk):
    type_id = "wrong-type-fields"
    fields_for = staticmethod(lambda path: {"rating": 4.5, "taken_at": "yesterday"})


class GoodFields(Walk):
    type_id = "good-fields"
    fields_for = staticmethod(lambda path: {"rating": 4, "caption": "a photo",
                                            "taken_at": "2020-01-02T03:04:05+08:00"})


class NoOptions(Walk):
    type_id = "no-options"

    def __init__(self, root):
        super().__init__(root)


class DropsAllWhenExcluding(Walk):
    type_id = "drops-all"

    def wanted(self, path):
        return path.endswith(".jpg") and not self.config.get("exclude")
'''

SUITES = '''
import pytest
from huisou.testing import MediaSourceContract, MetadataExtractorContract
import contract_plugins as p


@pytest.fixture
def sidecars(photo_folder):
    for path in photo_folder.paths():
        open(str(path) + ".json", "w").write("{}")
    return photo_folder


class Extractor(MetadataExtractorContract):
    plugin_extractor = None

    @pytest.fixture
    def extractor(self, register_plugin):
        register_plugin(p.Fields(), name="fields")
        return self.plugin_extractor


class TestGoodExtractor(Extractor):
    plugin_extractor = p.Rating()


class TestMisspelt(Extractor):
    plugin_extractor = p.Misspelt()


class TestWordy(Extractor):
    plugin_extractor = p.Wordy()


class TestPixels(Extractor):
    plugin_extractor = p.Pixels()


class TestUnregistered(MetadataExtractorContract):
    @pytest.fixture
    def extractor(self):
        return p.Rating()  # its plugin's declarations never reach the suite


class Source(MediaSourceContract):
    cls = None

    @pytest.fixture
    def source(self, sidecars, register_plugin):
        register_plugin(p.Fields(), name="fields")
        return self.cls(str(sidecars))


class TestWalk(Source):
    cls = p.Walk


class TestGoodFields(Source):
    cls = p.GoodFields


class TestSidecarsAsPhotos(Source):
    cls = p.SidecarsAsPhotos


class TestUndeclaredFields(Source):
    cls = p.UndeclaredFields


class TestWrongTypeFields(Source):
    cls = p.WrongTypeFields


class TestNoOptions(Source):
    cls = p.NoOptions


class TestDropsAllWhenExcluding(Source):
    cls = p.DropsAllWhenExcluding
'''

EXTRACTOR_CLAUSE = "test_returns_only_declared_fields_of_their_type"
FIELDS_CLAUSE = "test_item_fields_are_declared_and_of_their_type"
SIDECAR_CLAUSE = "test_no_item_is_another_items_sidecar"
EXCLUDE_CLAUSE = "test_exclude_leaves_out_exactly_the_matching_items"
IMAGE_CLAUSE = "test_image_values_are_declared_fields_of_their_type"


def run_suites(pytester):
    pytester.makepyfile(contract_plugins=PLUGINS, test_contract_fields=SUITES)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:textual-snapshot", "-rA",
                                "-q")
    return result, result.stdout.str()


def test_field_sidecar_and_exclude_clauses_fail_on_plugins_that_break_them(pytester):
    result, out = run_suites(pytester)
    failed = {line.split("::")[1] + "::" + line.split("::")[2].split(" ")[0]
              for line in out.splitlines() if line.startswith("FAILED")}
    assert failed == {
        f"TestMisspelt::{EXTRACTOR_CLAUSE}",
        f"TestWordy::{EXTRACTOR_CLAUSE}",
        f"TestUnregistered::{EXTRACTOR_CLAUSE}",
        f"TestPixels::{IMAGE_CLAUSE}",
        f"TestSidecarsAsPhotos::{SIDECAR_CLAUSE}",
        f"TestUndeclaredFields::{FIELDS_CLAUSE}",
        f"TestWrongTypeFields::{FIELDS_CLAUSE}",
        f"TestNoOptions::{EXCLUDE_CLAUSE}",
        f"TestDropsAllWhenExcluding::{EXCLUDE_CLAUSE}",
    }, out
    for passed in (f"TestGoodExtractor::{EXTRACTOR_CLAUSE}", f"TestPixels::{EXTRACTOR_CLAUSE}", f"TestWalk::{EXCLUDE_CLAUSE}",
                   f"TestWalk::{SIDECAR_CLAUSE}", f"TestGoodFields::{FIELDS_CLAUSE}"):
        assert f"PASSED test_contract_fields.py::{passed}" in out, out
    for message in ("'ratng', which no plugin declared", "field 'rating' (int): expected an "
                    "integer, got 'five'", "'mood', which no plugin declared",
                    "field 'rating' (int): expected an integer, got 4.5",
                    "field 'taken_at' (datetime)", "listed as sidecars (depends_on)",
                    "accept **options", "with exclude=", "pixels on the pixels of",
                    "'brightnes', which no plugin declared"):
        assert message in out, message
