"""huisou-listfile against huisou's MediaSourceContract, plus its own rules.

Runs against the *installed* distribution (``pip install .``): the source class is looked up
through huisou's plugin host, which finds it by the ``huisou`` entry point.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from huisou.core.plugins import PluginHost
from huisou.testing import MediaSourceContract


@pytest.fixture(scope="module")
def installed_host():
    return PluginHost(load_entry_points=True)


@pytest.fixture
def source_cls(installed_host):
    return installed_host.get_source_class("listfile")


@pytest.fixture
def list_file(photo_folder, tmp_path):
    paths = photo_folder.paths()
    lines = [
        "# my best photos",
        str(paths[0]),
        "",
        os.path.relpath(paths[1], tmp_path),  # relative to the list's folder
        f"  {paths[2]}  ",
        str(paths[0]),  # duplicate: one item
        *(str(p) for p in paths[3:]),
        "# " + str(tmp_path / "commented-out.jpg"),
    ]
    target = tmp_path / "best.txt"
    target.write_text("\n".join(lines) + "\n")
    return target


class TestListFileContract(MediaSourceContract):
    @pytest.fixture
    def source(self, source_cls, list_file):
        return source_cls(str(list_file))


class TestExportFolderContract(MediaSourceContract):
    """An Immich asset export: a CSV with an ``originalPath`` column, in a folder."""

    @pytest.fixture
    def source(self, source_cls, photo_folder, tmp_path):
        export = tmp_path / "immich-export"
        export.mkdir()
        rows = ["id,originalPath,isFavorite"]
        rows += [f"{i},{p},false" for i, p in enumerate(photo_folder.paths())]
        (export / "assets.csv").write_text("\n".join(rows) + "\n")
        return source_cls(str(export))


class TestDownloadedAlbumContract(MediaSourceContract):
    """A folder without any list: its photos are the list (an unpacked album download)."""

    @pytest.fixture
    def source(self, source_cls, photo_folder):
        (photo_folder / "notes.md.bak").write_text("not a photo")
        return source_cls(str(photo_folder))


def test_plugin_is_installed_not_imported_from_the_source_tree(source_cls):
    import huisou_listfile

    assert source_cls is huisou_listfile.ListFileSource
    source_tree = Path(__file__).resolve().parents[1]  # not this folder: the installed copy
    assert not Path(huisou_listfile.__file__).resolve().is_relative_to(source_tree)


def test_comments_blanks_duplicates_and_missing(source_cls, list_file, photo_folder, tmp_path):
    with list_file.open("a") as fh:
        fh.write(str(tmp_path / "gone.jpg") + "\n")
    source = source_cls(str(list_file))
    items = list(source.scan())
    assert sorted(i.path for i in items) == sorted(str(p) for p in photo_folder.paths())
    assert source.warnings == [f"listed file missing: {tmp_path / 'gone.jpg'} (No such file or directory)"]
    assert source.explain_exclusion(str(tmp_path / "commented-out.jpg")) == f"not listed in {list_file}"
    assert source.explain_exclusion(str(photo_folder.paths()[0])) is None


def test_csv_without_path_column_is_a_warning(source_cls, tmp_path):
    (tmp_path / "bad.csv").write_text("id,name\n1,x.jpg\n")
    source = source_cls(str(tmp_path / "bad.csv"))
    assert list(source.scan()) == []
    assert "no path column" in source.warnings[0]


def test_base_option_resolves_relative_paths(source_cls, photo_folder, tmp_path):
    (tmp_path / "rel.txt").write_text("red.jpg\n2024/yellow.jpg\n")
    source = source_cls(str(tmp_path / "rel.txt"), base=str(photo_folder))
    assert [Path(i.path).name for i in source.scan()] == ["red.jpg", "yellow.jpg"]


def test_indexes_and_searches_through_huisou(installed_host, list_file, photo_folder, tmp_path):
    """End to end with huisou's fake backend: index the list, find the red photo."""
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.search import Searcher

    host = PluginHost(load_entry_points=True)
    host.register(fakes, name="fakes")
    library = Library(Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory"), host)
    source_id = library.catalog.add_source("listfile", str(list_file), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    summary = list(Indexer(library, [(record, library.source_for(record))]).run())[-1]
    assert summary.indexed == len(photo_folder.photos)
    assert Path(Searcher(library).search("red", top=1)[0].path).name == "red.jpg"
    library.close()


def test_an_unreadable_list_removes_nothing(list_file, photo_folder, tmp_path, monkeypatch):
    """A list that cannot be read says nothing about its photos: the library keeps them."""
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library

    host = PluginHost(load_entry_points=True)
    host.register(fakes, name="fakes")
    library = Library(Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory"), host)
    source_id = library.catalog.add_source("listfile", str(list_file), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)

    def run():
        return list(Indexer(library, [(record, library.source_for(record))]).run())

    assert run()[-1].indexed == len(photo_folder.photos)

    def unreadable(self, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(host.get_source_class("listfile"), "_text_entries", unreadable)
    events = run()
    assert events[-1].removed == 0
    assert library.catalog.status_counts() == {"indexed": len(photo_folder.photos)}
    warnings = [e.message for e in events if type(e).__name__ == "SourceWarning"]
    assert any(f"cannot read list {list_file}" in w for w in warnings), warnings
    library.close()
