"""One ``test_hook_<name>`` per hook in ``huisou.core.hookspecs``, each driven through the host.

``tests/test_docs.py`` fails when a hook has no test here (as datasette does), so a new hook
cannot ship untested. Each test registers a small plugin with the ``register_plugin`` fixture
(the one plugin authors get from ``huisou.testing``) and checks the hook's effect on indexing,
search, the CLI or the host's registry.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any, ClassVar

import huisou.testing.fakes as fakes
import pytest
from huisou import hookimpl
from huisou.core.config import Config
from huisou.core.errors import UnreadableMedia
from huisou.core.events import Finished
from huisou.core.indexer import Indexer
from huisou.core.interfaces import (
    DecodedImage,
    MediaItem,
    MediaSource,
    MetadataExtractor,
    StoreLocation,
)
from huisou.core.library import Library
from huisou.core.search import Searcher


class WalkSource(MediaSource):
    """A minimal source, as a plugin author would write one: every file under ``root``."""

    type_id: ClassVar[str] = "test-walk"

    def scan(self, cancel: threading.Event | None = None):
        for dirpath, _dirs, files in os.walk(self.root):
            for name in sorted(files):
                if cancel is not None and cancel.is_set():
                    return
                path = os.path.join(dirpath, name)
                st = os.stat(path)
                yield MediaItem(path, st.st_size, st.st_mtime_ns)


class WalkSourcePlugin:
    @hookimpl
    def register_media_sources(self, register):
        register(WalkSource)


def make_library(host: Any, tmp_path: Path) -> Library:
    config = Config(db=str(tmp_path / "lib.db"), backend="fake", store="memory",
                    batch_size=2, threads=2)
    return Library(config, host)


def index(library: Library, root: Any) -> list[Any]:
    source_id = library.catalog.add_source(WalkSource.type_id, str(root), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    return list(Indexer(library, [(record, library.source_for(record))]).run())


@pytest.fixture
def library(huisou_host, register_plugin, tmp_path):
    register_plugin(fakes, name="fakes")
    register_plugin(WalkSourcePlugin(), name="walk-source")
    library = make_library(huisou_host, tmp_path)
    yield library
    library.close()


def test_hook_register_media_sources(huisou_host, register_plugin, photo_folder, tmp_path):
    register_plugin(fakes, name="fakes")
    assert "test-walk" not in huisou_host.media_sources()
    register_plugin(WalkSourcePlugin(), name="walk-source")
    assert huisou_host.get_source_class("test-walk") is WalkSource
    library = make_library(huisou_host, tmp_path)
    summary = index(library, photo_folder)[-1]
    assert summary.indexed == len(photo_folder.photos)
    library.close()


def test_hook_register_embedding_backends(huisou_host, register_plugin, library, photo_folder):
    class Plugin:
        @hookimpl
        def register_embedding_backends(self, register):
            register(fakes.FakeEmbeddingBackend)

    # the fakes module is registered by the fixture; a second plugin may register more
    register_plugin(Plugin(), name="more-backends")
    assert huisou_host.get_backend_class("fake") is fakes.FakeEmbeddingBackend
    index(library, photo_folder)
    hits = Searcher(library).search("red", top=1)
    assert Path(hits[0].path).name == "red.jpg"
    assert library.backend.image_batches >= 1


def test_hook_register_vector_stores(huisou_host, register_plugin, photo_folder, tmp_path):
    written: list[int] = []

    class CountingStore(fakes.MemoryVectorStore):
        store_id: ClassVar[str] = "counting"

        def upsert(self, ids, vectors):
            written.extend(ids)
            super().upsert(ids, vectors)

    class Plugin:
        @hookimpl
        def register_vector_stores(self, register):
            register(CountingStore)

    register_plugin(fakes, name="fakes")
    register_plugin(WalkSourcePlugin(), name="walk-source")
    register_plugin(Plugin(), name="counting-store")
    config = Config(db=str(tmp_path / "lib.db"), backend="fake", store="counting", threads=2)
    library = Library(config, huisou_host)
    index(library, photo_folder)
    assert isinstance(library.store, CountingStore)
    assert len(written) == len(photo_folder.photos)
    hits = Searcher(library).search("blue", top=1)
    assert Path(hits[0].path).name == "blue.jpg"
    library.close()


def test_hook_register_metadata_extractors(huisou_host, register_plugin, library, photo_folder):
    seen: list[str] = []

    class SidecarExtractor(MetadataExtractor):
        name: ClassVar[str] = "sidecar"

        def extract(self, item, fp):
            seen.append(threading.current_thread().name)
            return {"camera_model": "From Sidecar"} if item.path.endswith("black.jpg") else {}

    class Plugin:
        @hookimpl
        def register_metadata_extractors(self, register):
            register(SidecarExtractor())

    register_plugin(Plugin(), name="sidecar")
    assert any(isinstance(e, SidecarExtractor) for e in huisou_host.metadata_extractors())
    index(library, photo_folder)
    row = library.catalog.item_by_path(str(photo_folder / "no-exif-black.jpg"))
    assert row["camera_model"] == "From Sidecar"
    assert len(seen) == len(photo_folder.photos)
    assert all(name.startswith("huisou-decode") for name in seen)  # decode-pool threads


def _colour_file(path: Path, colour: str) -> Path:
    path.write_text(f"COLOUR {colour}\n")
    return path


class ColourFileDecoder:
    """Decodes text files ``COLOUR <name>`` into a solid image: a new "format" via load_image."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def load_image(self, item, fp, size_hint):
        self.calls += 1
        head = fp.read(7)
        if head != b"COLOUR ":
            return None  # not ours: let the next decoder try
        name = fp.read().decode().strip()
        if name not in fakes.COLOURS:
            raise UnreadableMedia(f"unknown colour {name!r}")
        from PIL import Image

        rgb = tuple(int(c * 255) for c in fakes.COLOURS[name])
        image = Image.new("RGB", (size_hint, size_hint), rgb)
        return DecodedImage(image=image, width=size_hint, height=size_hint, format="COLOUR")


def test_hook_load_image(huisou_host, register_plugin, library, tmp_path):
    folder = tmp_path / "colours"
    folder.mkdir()
    _colour_file(folder / "a.col", "red")
    _colour_file(folder / "b.col", "blue")
    _colour_file(folder / "c.col", "mauve")  # the decoder's verdict: unreadable
    decoder = ColourFileDecoder()
    register_plugin(decoder, name="colour-decoder")
    summary = index(library, folder)[-1]
    assert (summary.indexed, summary.failed) == (2, 1)
    assert "unknown colour" in summary.failures[0]["reason"]
    hits = Searcher(library).search("red", top=1)
    assert Path(hits[0].path).name == "a.col"
    # firstresult: a JPEG falls through our decoder (None) to the built-in Pillow decoder
    item = MediaItem("/x.jpg", 0, 0)
    jpeg = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (40, 30), (1, 2, 3)).save(jpeg, "JPEG")
    decoded = huisou_host.load_image(item, jpeg, 32)
    assert decoded is not None and (decoded.width, decoded.height) == (40, 30)
    assert decoder.calls >= 4


def test_hook_register_commands(huisou_home, tmp_path):
    from click.testing import CliRunner
    from huisou.cli.main import cli

    plugins = tmp_path / "my-plugins"
    plugins.mkdir()
    (plugins / "hello.py").write_text(
        "import click\n"
        "from huisou import hookimpl\n\n"
        "@hookimpl\n"
        "def register_commands(cli):\n"
        "    @cli.command()\n"
        "    @click.argument('name')\n"
        "    def hello(name):\n"
        "        '''Say hello.'''\n"
        "        click.echo(f'hello {name}')\n"
    )
    (huisou_home / "config.toml").write_text(f"plugins_dir = {str(plugins)!r}\n")
    result = CliRunner().invoke(cli, ["hello", "world"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello world\n"
    assert "Say hello." in CliRunner().invoke(cli, ["--help"]).output


def test_hook_register_tui_panels(huisou_host, register_plugin):
    made: list[str] = []

    class Plugin:
        @hookimpl
        def register_tui_panels(self, register):
            register("weather", lambda: made.append("weather") or "panel")

    assert "weather" not in dict(huisou_host.tui_panels())
    register_plugin(Plugin(), name="weather-panel")
    panels = dict(huisou_host.tui_panels())
    assert made == []  # factories are called only when the TUI opens the panel
    assert panels["weather"]() == "panel" and made == ["weather"]


class Recorder:
    """Records every lifecycle hook call with the thread it ran on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str]] = []

    def _add(self, name: str, value: Any) -> None:
        self.calls.append((name, value, threading.current_thread().name))

    @hookimpl
    def before_index(self, run):
        self._add("before_index", run)

    @hookimpl
    def items_indexed(self, run, paths):
        self._add("items_indexed", list(paths))

    @hookimpl
    def items_failed(self, run, failures):
        self._add("items_failed", list(failures))

    @hookimpl
    def after_index(self, run, summary):
        self._add("after_index", summary)

    @hookimpl
    def on_index_error(self, run, error):
        self._add("on_index_error", error)

    @hookimpl
    def items_moved(self, run, moves):
        self._add("items_moved", list(moves))

    @hookimpl
    def items_removed(self, run, paths):
        self._add("items_removed", list(paths))

    def named(self, name: str) -> list[Any]:
        return [value for hook, value, _ in self.calls if hook == name]


@pytest.fixture
def recorder(register_plugin):
    rec = Recorder()
    register_plugin(rec, name="recorder")
    return rec


def test_hook_before_index(library, recorder, photo_folder):
    index(library, photo_folder)
    (run,) = recorder.named("before_index")
    assert run.sources == [str(photo_folder)]
    assert run.model_fingerprint == "fake-colours-v1"
    assert recorder.calls[0][0] == "before_index"
    assert recorder.calls[0][2] == threading.current_thread().name  # the indexing thread


def test_hook_items_indexed(library, recorder, photo_folder):
    index(library, photo_folder)
    batches = recorder.named("items_indexed")
    paths = [p for batch in batches for p in batch]
    assert sorted(paths) == sorted(str(p) for p in photo_folder.paths())
    assert len(batches) == 3 and all(len(b) == 2 for b in batches)  # batch_size=2, not per photo
    index(library, photo_folder)  # nothing changed: no new batch
    assert len(recorder.named("items_indexed")) == 3


def test_hook_items_failed(library, recorder, photo_folder):
    (photo_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    summary = index(library, photo_folder)[-1]
    failures = [f for batch in recorder.named("items_failed") for f in batch]
    assert [Path(path).name for path, _status, _reason in failures] == ["broken.jpg"]
    assert failures[0][1] == "unreadable" and failures[0][2]
    assert summary.failed == 1 and summary.indexed == len(photo_folder.photos)


def test_hook_after_index(library, recorder, photo_folder):
    index(library, photo_folder)
    (summary,) = recorder.named("after_index")
    assert isinstance(summary, Finished)
    assert summary.indexed == len(photo_folder.photos) and not summary.cancelled
    assert [c[0] for c in recorder.calls][-1] == "after_index"


def test_hook_on_index_error(huisou_host, register_plugin, recorder, photo_folder, tmp_path):
    class BrokenStore(fakes.MemoryVectorStore):
        store_id: ClassVar[str] = "broken"

        def upsert(self, ids, vectors):
            raise RuntimeError("disk on fire")

    class Plugin:
        @hookimpl
        def register_vector_stores(self, register):
            register(BrokenStore)

    register_plugin(fakes, name="fakes")
    register_plugin(WalkSourcePlugin(), name="walk-source")
    register_plugin(Plugin(), name="broken-store")
    config = Config(db=str(tmp_path / "lib.db"), backend="fake", store="broken", threads=2)
    library = Library(config, huisou_host)
    with pytest.raises(RuntimeError, match="disk on fire"):
        index(library, photo_folder)
    (error,) = recorder.named("on_index_error")
    assert isinstance(error, RuntimeError) and "disk on fire" in str(error)
    assert recorder.named("items_indexed") == []
    library.close()


def test_memory_store_location_is_per_library(tmp_path):
    """Guard for the tests above: two libraries never share the fake store's vectors."""
    a = fakes.MemoryVectorStore(StoreLocation(str(tmp_path / "a.db"), "ns", 4))
    b = fakes.MemoryVectorStore(StoreLocation(str(tmp_path / "b.db"), "ns", 4))
    a.upsert([1], [[1.0, 0, 0, 0]])
    assert b.count() == 0



def test_hook_items_moved(library, recorder, photo_folder):
    index(library, photo_folder)
    old = photo_folder / "red.jpg"
    new = photo_folder / "renamed-red.jpg"
    old.rename(new)
    summary = index(library, photo_folder)[-1]
    assert summary.moved == 1
    assert recorder.named("items_moved") == [[(str(old), str(new))]]
    assert recorder.named("items_removed") == []  # a move is not a removal


def test_hook_items_removed(library, recorder, photo_folder):
    index(library, photo_folder)
    gone = photo_folder / "red.jpg"
    gone.unlink()
    summary = index(library, photo_folder)[-1]
    assert summary.removed == 1
    assert recorder.named("items_removed") == [[str(gone)]]
    assert library.catalog.item_by_path(str(gone)) is None


def test_hook_register_fields(huisou_host, register_plugin):
    class Plugin:
        @hookimpl
        def register_fields(self, register):
            register("rating", "int", "Stars from 0 to 5")
            register("caption", "text", "What the photo shows", fulltext=True)
            register("Bad Name", "int")
            register("size", "int", "clashes with a built-in")
            register("mood", "colour")

    register_plugin(Plugin(), name="fields-plugin")
    fields = huisou_host.fields()
    assert fields["rating"].type == "int" and fields["rating"].owner == "fields-plugin"
    assert fields["caption"].fulltext and not fields["caption"].builtin
    assert fields["taken_at"].builtin and fields["taken_at"].type == "datetime"
    assert "Bad Name" not in fields and "mood" not in fields
    assert fields["size"].owner == "huisou"
    problems = [str(p) for p in huisou_host.problems if p.plugin == "fields-plugin"]
    assert len(problems) == 3
    assert any("'Bad Name'" in p for p in problems)
    assert any("'size'" in p and "already declared" in p for p in problems)
    assert any("'colour'" in p for p in problems)


def test_hook_register_search_signals(huisou_host, register_plugin):
    from huisou.core.interfaces import SearchSignal, SignalMatch

    class Everything(SearchSignal):
        name = "everything"

        def match(self, query):
            return [SignalMatch(1, 1.0, query.text)]

    class Plugin:
        @hookimpl
        def register_search_signals(self, register):
            register(Everything())
            register(Everything())  # the same name twice: reported, kept once
            register("not a signal")

    register_plugin(Plugin(), name="signals-plugin")
    signals = huisou_host.search_signals()
    assert [type(s) for s in signals if s.name == "everything"] == [Everything]  # built-ins too
    problems = [str(p) for p in huisou_host.problems if p.plugin == "signals-plugin"]
    assert len(problems) == 2


def test_hook_register_executors(huisou_host, register_plugin, library, photo_folder):
    import pickle

    from huisou.core.interfaces import Executor
    from huisou.core.local_executor import LocalExecutor

    seen: list[Any] = []

    class Recording(LocalExecutor):
        """The local pipeline, remembering every work item it was handed."""

        executor_id = "recording"

        def run(self, work, context):
            def items():
                for item in work:
                    seen.append(item)
                    yield item
            return super().run(items(), context)

    class Plugin:
        @hookimpl
        def register_executors(self, register):
            register(Recording)
            register("not an executor")

    register_plugin(Plugin(), name="executor-plugin")
    executors = huisou_host.executors()
    assert executors["recording"] is Recording and executors["local"] is LocalExecutor
    assert issubclass(huisou_host.get_executor_class("recording"), Executor)
    problems = [str(p) for p in huisou_host.problems if p.plugin == "executor-plugin"]
    assert len(problems) == 1 and "Executor subclass" in problems[0]

    source_id = library.catalog.add_source(WalkSource.type_id, str(photo_folder), {})
    record = next(r for r in library.catalog.sources() if r.id == source_id)
    executor = huisou_host.get_executor_class("recording")()
    summary = list(Indexer(library, [(record, library.source_for(record))],
                           executor=executor).run())[-1]
    assert summary.indexed == len(seen) > 0
    # Work items are pure data: each one survives a trip to another process.
    assert [pickle.loads(pickle.dumps(item)).item.path for item in seen] == [
        item.item.path for item in seen]
    assert library.store.count() == summary.indexed
