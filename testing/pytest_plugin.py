"""Fixtures for testing huisou plugins, loaded by pytest through the ``pytest11`` entry point.

Installing huisou makes these fixtures available in every test session, as datasette's and
beets' test helpers are: a plugin's own test suite needs no conftest to get an isolated host, a
fake backend, an in-memory store or a folder of photos with EXIF. The module imports only
pytest and the standard library at the top, because pytest loads it for every test session in
the environment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def huisou_host() -> Any:
    """An isolated :class:`~huisou.core.plugins.PluginHost`: built-ins only, no entry points.

    Installed third-party plugins cannot leak into the test, and nothing is shared with the
    process-wide host the CLI uses.
    """
    from huisou.core.plugins import PluginHost

    return PluginHost(load_entry_points=False)


@pytest.fixture
def register_plugin(huisou_host: Any) -> Iterator[Callable[..., str]]:
    """``register_plugin(obj, name=None) -> name``: register on ``huisou_host`` for one test.

    ``obj`` is a module or an object with ``@hookimpl`` methods. Every plugin registered this
    way is unregistered at teardown. A plugin the host rejects fails the test at once, with the
    host's message, instead of silently doing nothing.
    """
    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        name = name or f"test-plugin-{uuid.uuid4().hex[:8]}"
        registered = huisou_host.register(plugin, name=name)
        if registered is None:
            problems = "; ".join(str(p) for p in huisou_host.problems) or "unknown reason"
            pytest.fail(f"plugin {name!r} could not be registered: {problems}")
        names.append(registered)
        return registered

    yield register
    for name in reversed(names):
        if huisou_host.pm.get_plugin(name) is not None:
            huisou_host.unregister(name)


@pytest.fixture
def fake_backend() -> Any:
    """A fresh :class:`~huisou.testing.fakes.FakeEmbeddingBackend` (colour embeddings, 16-d)."""
    from huisou.testing.fakes import FakeEmbeddingBackend

    return FakeEmbeddingBackend()


@pytest.fixture
def memory_store(tmp_path: Path) -> Iterator[Any]:
    """An empty :class:`~huisou.testing.fakes.MemoryVectorStore` of ``FAKE_DIMENSIONS``.

    Its location is unique to the test, so stores of different tests never share vectors.
    """
    from huisou.core.interfaces import StoreLocation
    from huisou.testing.fakes import FAKE_DIMENSIONS, MemoryVectorStore

    location = StoreLocation(
        db_path=str(tmp_path / f"memory-{uuid.uuid4().hex}.db"),
        namespace="fake-colours-v1",
        dimensions=FAKE_DIMENSIONS,
    )
    store = MemoryVectorStore(location)
    yield store
    store.close()
    MemoryVectorStore._spaces.pop((location.db_path, location.namespace), None)


@pytest.fixture
def photo_folder(tmp_path: Path) -> Any:
    """A generated folder of small JPEGs with EXIF (see :mod:`huisou.testing.photos`).

    Returns a :class:`~huisou.testing.photos.PhotoFolder`: ``.root`` is the folder, ``.photos``
    the :class:`PhotoSpec` of each file (colour, DateTimeOriginal, Make/Model, GPS), and it can
    be passed wherever a path is expected.
    """
    from huisou.testing.photos import make_photo_folder

    return make_photo_folder(tmp_path / "photos")


@pytest.fixture
def huisou_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point ``HUISOU_HOME`` at an empty temp dir: config, database and models all go there.

    The process-wide plugin host and the CLI's plugin commands are reset before and after, so
    a ``config.toml`` written by the test (``plugins_dir = ...``) takes effect in
    ``huisou.cli.main.main([...])`` or click's ``CliRunner``.
    """
    from huisou.cli.main import LazyGroup, cli
    from huisou.core.plugins import reset_host

    home = tmp_path / "huisou-home"
    home.mkdir()
    monkeypatch.setenv("HUISOU_HOME", str(home))
    monkeypatch.delenv("HUISOU_CONFIG", raising=False)
    saved_commands = dict(cli.commands)
    reset_host()
    LazyGroup._plugins_loaded = False
    yield home
    reset_host()
    LazyGroup._plugins_loaded = False
    cli.commands.clear()
    cli.commands.update(saved_commands)
