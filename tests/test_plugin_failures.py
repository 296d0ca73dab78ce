"""Broken plugins never take huisou down, and every problem names the plugin.

The ``plugins_dir`` tests run the real CLI (``HUISOU_HOME`` + ``config.toml``), with the fake
backend and memory store loaded as a one-file plugin, so index and search need no model. The
others register misbehaving plugins on an isolated host and check that indexing and search go
on with the plugins that behave.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import huisou.testing.fakes as fakes
import pytest
from click.testing import CliRunner
from huisou import hookimpl
from huisou.cli.main import cli
from huisou.core.config import Config
from huisou.core.indexer import Indexer
from huisou.core.interfaces import MediaSource
from huisou.core.library import Library
from huisou.core.search import Searcher

FAKES_PLUGIN = "from huisou.testing.fakes import register_embedding_backends, register_vector_stores\n"


@pytest.fixture
def plugins_dir(huisou_home, tmp_path):
    """A plugins_dir holding the fakes, named in HUISOU_HOME/config.toml."""
    directory = tmp_path / "local-plugins"
    directory.mkdir()
    (directory / "fakes_plugin.py").write_text(FAKES_PLUGIN)
    (huisou_home / "config.toml").write_text(
        f'plugins_dir = {str(directory)!r}\nbackend = "fake"\nstore = "memory"\n'
    )
    yield directory
    for key in list(fakes.MemoryVectorStore._spaces):
        if key[0].startswith(str(huisou_home)):
            del fakes.MemoryVectorStore._spaces[key]


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def plugin_rows() -> dict[str, dict[str, Any]]:
    result = invoke("plugins", "--all", "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}


def index_and_search(photo_folder: Any, query: str = "red") -> tuple[Any, list[dict[str, Any]]]:
    indexed = invoke("index", str(photo_folder), "--json")
    assert indexed.exit_code == 0, indexed.output
    events = [json.loads(line) for line in indexed.stdout.splitlines()]
    found = invoke("search", query, "--json", "--top", "3")
    assert found.exit_code == 0, found.output
    return events[-1], json.loads(found.stdout)


def test_plugins_dir_one_file_plugin_end_to_end(plugins_dir, photo_folder):
    """A file in plugins_dir provides the backend and store that index and search use."""
    summary, hits = index_and_search(photo_folder, "blue")
    assert summary["event"] == "finished" and summary["indexed"] == len(photo_folder.photos)
    assert Path(hits[0]["path"]).name == "blue.jpg"
    row = plugin_rows()["plugins_dir:fakes_plugin"]
    assert row["hooks"] == ["register_embedding_backends", "register_vector_stores"]
    assert row["errors"] == [] and row["builtin"] is False


def test_plugins_all_json_lists_hooks_versions_and_builtins(plugins_dir):
    from huisou import __version__

    rows = plugin_rows()
    folder = rows["huisou.plugins.media_sources.folder"]
    assert folder["builtin"] is True and folder["version"] == __version__
    assert "register_media_sources" in folder["hooks"]
    assert "load_image" in rows["huisou.plugins.media_sources.decode"]["hooks"]
    without_all = json.loads(invoke("plugins", "--json").stdout)
    assert all(not row["builtin"] for row in without_all)
    assert "plugins_dir:fakes_plugin" in {row["name"] for row in without_all}


def test_syntax_error_plugin_is_listed_and_huisou_keeps_working(plugins_dir, photo_folder):
    (plugins_dir / "broken.py").write_text("from huisou import hookimpl\ndef oops(:\n")
    row = plugin_rows()["plugins_dir:broken"]
    assert row["hooks"] == []
    assert len(row["errors"]) == 1
    assert "plugins_dir:broken" in row["errors"][0] and "SyntaxError" in row["errors"][0]
    assert str(plugins_dir / "broken.py") in row["errors"][0]
    summary, hits = index_and_search(photo_folder)
    assert summary["indexed"] == len(photo_folder.photos)
    assert Path(hits[0]["path"]).name == "red.jpg"
    text = invoke("plugins", "--all")
    assert "error: plugin 'plugins_dir:broken'" in text.output


def test_plugin_raising_at_import_is_listed(plugins_dir, photo_folder):
    (plugins_dir / "explodes.py").write_text("raise RuntimeError('no network here')\n")
    row = plugin_rows()["plugins_dir:explodes"]
    assert "RuntimeError: no network here" in row["errors"][0]
    assert "plugins_dir:explodes" in row["errors"][0]
    summary, hits = index_and_search(photo_folder)
    assert summary["indexed"] == len(photo_folder.photos) and hits


def test_plugin_raising_in_a_hook_is_named_and_indexing_goes_on(
    plugins_dir, huisou_home, photo_folder
):
    """In a real process: the warning reaches the user's terminal, naming plugin and hook."""
    (plugins_dir / "flaky.py").write_text(textwrap.dedent("""
        from huisou import hookimpl

        @hookimpl
        def items_indexed(run, paths):
            raise ValueError("webhook unreachable")

        @hookimpl
        def register_media_sources(register):
            raise ImportError("optional SDK missing")
    """))
    config = huisou_home / "config.toml"
    config.write_text(config.read_text().replace('store = "memory"', 'store = "sqlite-vec"'))
    env = {**os.environ, "HUISOU_HOME": str(huisou_home)}
    indexed = subprocess.run([sys.executable, "-m", "huisou", "index", str(photo_folder), "--json"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert indexed.returncode == 0, indexed.stderr
    summary = json.loads(indexed.stdout.splitlines()[-1])
    assert summary["indexed"] == len(photo_folder.photos)
    assert ("plugin 'plugins_dir:flaky' in items_indexed: raised ValueError: webhook unreachable"
            in indexed.stderr)
    assert ("plugin 'plugins_dir:flaky' in register_media_sources: raised ImportError: optional "
            "SDK missing" in indexed.stderr)
    found = subprocess.run([sys.executable, "-m", "huisou", "search", "red", "--json"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert found.returncode == 0, found.stderr
    assert Path(json.loads(found.stdout)[0]["path"]).name == "red.jpg"


# -- misbehaving plugins on an isolated host ------------------------------------------------


@pytest.fixture
def library(huisou_host, register_plugin, tmp_path):
    register_plugin(fakes, name="fakes")
    library = Library(Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory",
                             threads=2), huisou_host)
    yield library
    library.close()
    fakes.MemoryVectorStore._spaces.pop((str(tmp_path / "lib.db"), "fake-colours-v1"), None)


def run_index(library: Library, root: Any) -> Any:
    source_id = library.catalog.add_source("folder", str(root), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    return list(Indexer(library, [(record, library.source_for(record))]).run())[-1]


def problems(host: Any, plugin: str) -> list[str]:
    return [str(p) for p in host.problems if p.plugin == plugin]


def test_load_image_returning_garbage_falls_back_to_the_next_decoder(
    huisou_host, register_plugin, library, photo_folder
):
    class StringDecoder:
        @hookimpl(tryfirst=True)
        def load_image(self, item, fp, size_hint):
            return "definitely an image"

    register_plugin(StringDecoder(), name="string-decoder")
    summary = run_index(library, photo_folder)
    assert (summary.indexed, summary.failed) == (len(photo_folder.photos), 0)
    messages = problems(huisou_host, "string-decoder")
    assert messages and all(
        m == "plugin 'string-decoder' in load_image: returned str, not DecodedImage" for m in messages
    )
    assert Path(Searcher(library).search("green", top=1)[0].path).name == "green.jpg"


def test_load_image_raising_a_bug_falls_back_to_the_next_decoder(
    huisou_host, register_plugin, library, photo_folder
):
    class BuggyDecoder:
        @hookimpl(tryfirst=True)
        def load_image(self, item, fp, size_hint):
            raise ZeroDivisionError("division by zero")

    register_plugin(BuggyDecoder(), name="buggy-decoder")
    summary = run_index(library, photo_folder)
    assert (summary.indexed, summary.failed) == (len(photo_folder.photos), 0)
    assert "plugin 'buggy-decoder' in load_image: raised ZeroDivisionError: division by zero" in (
        problems(huisou_host, "buggy-decoder")
    )


def test_registering_non_classes_is_refused_by_name(huisou_host, register_plugin):
    class NotASource:
        type_id = "fake-source"

    class Good(MediaSource):
        type_id: ClassVar[str] = "good"

        def scan(self, cancel=None):
            return iter(())

    class Sloppy:
        @hookimpl
        def register_media_sources(self, register):
            register("folder")  # a string, not a class
            register(NotASource)  # a class, but not a MediaSource
            register(Good("/photos"))  # an instance, not a class
            register(Good)

        @hookimpl
        def register_vector_stores(self, register):
            register(fakes.FakeEmbeddingBackend)  # wrong kind

        @hookimpl
        def register_metadata_extractors(self, register):
            register(dict)

    register_plugin(Sloppy(), name="sloppy")
    sources = huisou_host.media_sources()
    assert {"folder", "android", "good"} <= set(sources)
    assert "memory" not in huisou_host.vector_stores()
    huisou_host.metadata_extractors()
    messages = problems(huisou_host, "sloppy")
    assert len(messages) == 5, messages
    assert all(m.startswith("plugin 'sloppy' in register_") for m in messages)
    assert any("'folder', which is not a MediaSource subclass" in m for m in messages)
    assert any("not a VectorStore subclass" in m for m in messages)
    assert any("not a MetadataExtractor instance" in m for m in messages)


def test_lifecycle_hook_raising_never_stops_the_run(
    huisou_host, register_plugin, library, photo_folder
):
    calls: list[str] = []

    class Noisy:
        @hookimpl
        def before_index(self, run):
            raise RuntimeError("before")

        @hookimpl
        def after_index(self, run, summary):
            raise RuntimeError("after")

    class Quiet:
        @hookimpl
        def after_index(self, run, summary):
            calls.append("quiet after_index")

    register_plugin(Quiet(), name="quiet")
    register_plugin(Noisy(), name="noisy")
    summary = run_index(library, photo_folder)
    assert summary.indexed == len(photo_folder.photos)
    assert calls == ["quiet after_index"]  # the other plugin's hook still ran
    assert problems(huisou_host, "noisy") == [
        "plugin 'noisy' in before_index: raised RuntimeError: before",
        "plugin 'noisy' in after_index: raised RuntimeError: after",
    ]
    infos = {info.name: info for info in huisou_host.plugin_infos()}
    assert infos["noisy"].errors == problems(huisou_host, "noisy")


def test_two_plugins_claiming_one_store_id_is_reported():
    """A third-party plugin may replace a built-in id; the clash is visible, not silent."""
    from huisou import hookimpl
    from huisou.core.plugins import PluginHost
    from huisou.testing.fakes import MemoryVectorStore

    class OtherMemory(MemoryVectorStore):
        pass

    class Clash:
        @hookimpl
        def register_vector_stores(self, register):
            register(OtherMemory)

    import huisou.testing.fakes as fakes

    host = PluginHost(load_entry_points=False)
    host.register(fakes, name="fakes")
    host.register(Clash(), name="clash")
    assert host.vector_stores()["memory"] is OtherMemory  # registered later, called first
    assert any(
        p.plugin == "fakes" and "'memory'" in p.message and "'clash'" in p.message
        for p in host.problems
    )
