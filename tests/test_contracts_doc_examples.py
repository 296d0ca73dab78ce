"""The example plugins in ``docs/writing-plugins.md`` pass the contract suites.

Each ``# file: <package>/__init__.py`` code block of the page is loaded as a module and
registered on an isolated host, so the documentation cannot drift into code that does not
work.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from huisou.core.interfaces import StoreLocation
from huisou.testing import (
    EmbeddingBackendContract,
    MediaSourceContract,
    MetadataExtractorContract,
    VectorStoreContract,
)

PAGE = Path(__file__).resolve().parent.parent / "docs" / "writing-plugins.md"
BLOCK = re.compile(r"```python\n# file: ([\w/.~-]+)\n(.*?)```", re.S)


def load_doc_modules() -> dict[str, types.ModuleType]:
    modules = {}
    for filename, code in BLOCK.findall(PAGE.read_text(encoding="utf-8")):
        name = "huisou_doc_" + Path(filename).parent.name.lstrip("~") if filename.endswith(
            "__init__.py") else "huisou_doc_" + Path(filename).stem
        module = types.ModuleType(name)
        module.__file__ = str(PAGE)
        sys.modules[name] = module  # dataclasses and pickling look modules up here
        exec(compile(code, f"{PAGE.name}:{filename}", "exec"), module.__dict__)
        modules[filename] = module
    return modules


MODULES = load_doc_modules()


def module(filename: str) -> types.ModuleType:
    assert filename in MODULES, f"writing-plugins.md has no '# file: {filename}' block"
    return MODULES[filename]


def test_doc_modules_register_through_the_host(huisou_host, register_plugin):
    for filename in ("huisou_glob/__init__.py", "huisou_colours/__init__.py",
                     "huisou_npz/__init__.py"):
        register_plugin(module(filename), name=filename.split("/")[0])
    assert "glob" in huisou_host.media_sources()
    assert "colour-histogram" in huisou_host.embedding_backends()
    assert "npz" in huisou_host.vector_stores()
    assert not huisou_host.problems


def test_doc_one_file_plugin_loads_from_plugins_dir(tmp_path, monkeypatch):
    from huisou.core.events import Finished
    from huisou.core.interfaces import IndexRun
    from huisou.core.plugins import PluginHost

    code = dict((f, c) for f, c in BLOCK.findall(PAGE.read_text(encoding="utf-8")))
    (tmp_path / "index_log.py").write_text(code["~/huisou-plugins/index_log.py"])
    monkeypatch.setenv("HOME", str(tmp_path))
    host = PluginHost(load_entry_points=False, builtins=(), plugins_dir=tmp_path)
    assert not host.problems
    host.after_index(IndexRun([], "m", "db", 0.0), Finished(indexed=3, failed=1))
    assert "indexed=3 failed=1" in (tmp_path / "huisou-index.log").read_text()


class TestGlobSourceFromDocs(MediaSourceContract):
    @pytest.fixture
    def source(self, photo_folder):
        return module("huisou_glob/__init__.py").GlobSource(str(photo_folder), pattern="**/*.jpg")

    def test_pattern_selects(self, photo_folder):
        source = module("huisou_glob/__init__.py").GlobSource(str(photo_folder), pattern="*.jpg")
        names = sorted(Path(i.path).name for i in source.scan())
        assert names == ["blue.jpg", "green.jpg", "no-exif-black.jpg", "red.jpg"]
        assert source.explain_exclusion(str(photo_folder / "2024/yellow.jpg"))

    def test_missing_root_raises_so_the_run_removes_nothing(self, tmp_path):
        """An unmounted drive must not look like "every photo deleted" (MediaSource.scan)."""
        from huisou.core.errors import MediaError

        source = module("huisou_glob/__init__.py").GlobSource(str(tmp_path / "unmounted"))
        with pytest.raises(MediaError, match="unmounted"):
            list(source.scan())


class TestColourBackendFromDocs(EmbeddingBackendContract):
    @pytest.fixture
    def backend(self):
        return module("huisou_colours/__init__.py").ColourBackend()


class TestNpzStoreFromDocs(VectorStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        npz = module("huisou_npz/__init__.py")
        return npz.NpzStore(StoreLocation(str(tmp_path / "lib.db"), "contract", self.dimensions))


def _with_comment(path, text):
    from PIL import Image

    with Image.open(path) as image:
        image.load()
    image.save(path, "JPEG", comment=text.encode())
    return path


class TestCommentExtractorFromDocs(MetadataExtractorContract):
    @pytest.fixture
    def extractor(self, huisou_host, register_plugin):
        register_plugin(module("huisou_comment/__init__.py"), name="comment")
        return next(e for e in huisou_host.metadata_extractors() if e.name == "jpeg-comment")

    @pytest.fixture
    def samples(self, photo_folder):
        return [_with_comment(p, f"照片 {i}") for i, p in enumerate(photo_folder.paths())]


class TestBrightnessExtractorFromDocs(MetadataExtractorContract):
    """The image extractor of the page: its values from the pixels are checked too."""

    @pytest.fixture
    def extractor(self, huisou_host, register_plugin):
        register_plugin(module("huisou_comment/__init__.py"), name="comment")
        return next(e for e in huisou_host.metadata_extractors() if e.name == "brightness")


def test_doc_extractor_fields_are_stored_by_an_index_run(huisou_host, register_plugin,
                                                         photo_folder, tmp_path):
    """Both extractors of the page through the host: the comment from the bytes, the
    brightness from the decoded image, stored as the fields they declare."""
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.search import Searcher

    _with_comment(photo_folder / "red.jpg", "sunset at the beach")
    register_plugin(fakes, name="fakes")
    register_plugin(module("huisou_comment/__init__.py"), name="comment")
    library = Library(Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory"),
                      huisou_host)
    source_id = library.catalog.add_source("folder", str(photo_folder), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    list(Indexer(library, [(record, library.source_for(record))]).run())
    hits = Searcher(library).search("photo", top=50)
    by_name = {Path(hit.path).name: hit.fields for hit in hits}
    library.close()
    assert by_name["red.jpg"]["comment"] == "sunset at the beach"
    assert "comment" not in by_name["green.jpg"]
    assert by_name["white.jpg"]["brightness"] > 0.9 > 0.1 > by_name["no-exif-black.jpg"]["brightness"]
    assert not huisou_host.problems
