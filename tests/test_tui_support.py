"""Helpers for the TUI tests (no tests here): photo folders, hosts, apps and polling.

Named ``test_tui_*`` so it sits with the TUI tests; pytest imports it and finds no tests.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

#: (name, colour) of the generated test photos; three of each.
COLOURS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("red", (215, 25, 30)),
    ("green", (30, 150, 40)),
    ("blue", (25, 40, 210)),
)

#: Fixed file times (2024-05-01 12:00 UTC and then one day per photo), so dates are stable.
BASE_MTIME = 1714564800


def make_photos(folder: Path, per_colour: int = 3) -> list[Path]:
    """Solid and gradient JPEGs of red, green and blue (``red_0.jpg`` …), fixed mtimes."""
    import os

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    n = 0
    for name, (r, g, b) in COLOURS:
        for i in range(per_colour):
            image = Image.new("RGB", (96, 64), (r, g, b))
            if i % 2:  # every other photo is a gradient of the same colour
                pixels = image.load()
                for x in range(96):
                    for y in range(64):
                        k = 0.65 + 0.35 * x / 95
                        pixels[x, y] = (int(r * k), int(g * k), int(b * k))
            path = folder / f"{name}_{i}.jpg"
            image.save(path, quality=90)
            stamp = BASE_MTIME + 86400 * n
            os.utime(path, (stamp, stamp))
            paths.append(path)
            n += 1
    return paths


def make_host(*extra_plugins: object, builtins: tuple[str, ...] | None = None) -> Any:
    """A host without entry points, with the fake backend/store and any extra plugins."""
    import huisou.testing.fakes as fakes
    from huisou.core.plugins import DEFAULT_PLUGINS, PluginHost

    host = PluginHost(load_entry_points=False, builtins=builtins or DEFAULT_PLUGINS)
    host.register(fakes, name="fakes")
    for plugin in extra_plugins:
        host.register(plugin)
    return host


def make_config(tmp: Path, **overrides: Any) -> Any:
    from huisou.core.config import Config

    values: dict[str, Any] = {
        "db": str(tmp / "lib.db"), "backend": "fake", "store": "memory", "batch_size": 2,
        "threads": 2, "models_dir": str(tmp / "models"),
    }
    values.update(overrides)
    return Config(**values)


def make_app(config: Any, host: Any, **kwargs: Any) -> Any:
    from huisou.tui.app import create_app
    from huisou.tui.environment import Environment
    from huisou.tui.opener import RecordingOpener

    kwargs.setdefault("opener", RecordingOpener())
    kwargs.setdefault("environment", Environment())
    kwargs.setdefault("image_protocol", None)
    return create_app(config, host=host, **kwargs)


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds; fail with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(0.02)


async def goto(pilot: Any, key: str) -> None:
    """Switch area with a digit key, leaving a text box first (Esc) as a user would."""
    from textual.widgets import Input

    if isinstance(pilot.app.focused, Input):
        await pilot.press("escape")
    await pilot.press(key)
    await pilot.pause()


async def add_folder_via_ui(pilot: Any, folder: Path, *, type_path: bool = False) -> None:
    """Library screen → ``a`` → the path → Enter, as a user would.

    Typing a long path key by key costs ~2 s per test, so only ``type_path=True`` types it;
    otherwise the text is pasted into the box (a terminal paste event).
    """
    app = pilot.app
    await goto(pilot, "2")
    await pilot.press("a")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "AddSourceScreen")
    if type_path:  # relative to the working directory, as a user would type it
        import os

        await pilot.press(*os.path.relpath(folder))
    else:
        from textual import events

        app.screen.query_one("#source-root").post_message(events.Paste(str(folder)))
        await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "LibraryScreen")


async def index_via_ui(pilot: Any) -> Any:
    """``3`` (Index) → ``s``; waits for the worker thread to finish; returns the final state."""
    app = pilot.app
    await goto(pilot, "3")
    screen = app.screen
    await pilot.press("s")
    await wait_until(pilot, lambda: screen.idle.is_set() and not screen.state.running)
    await app.workers.wait_for_complete()
    await wait_until(pilot, lambda: screen.state.phase in ("done", "cancelled", "failed"))
    return screen.state


async def search_via_ui(pilot: Any, text: str) -> list[Any]:
    """``1`` → ``/`` → type ``text``; waits for the debounced search; returns the hits."""
    app = pilot.app
    await goto(pilot, "1")
    screen = app.screen
    await pilot.press("slash", *text)
    await wait_until(
        pilot, lambda: screen.query_one("#search-status").render().plain.endswith(f"“{text}”")
    )
    return screen.last_hits


def run(coro: Any) -> Any:
    """Run an async test body (no pytest-asyncio needed)."""
    return asyncio.run(coro)


class GatedBackend:
    """Mixin state for the fake backend that blocks on a gate after ``free_batches``."""

    gate: ClassVar[threading.Event] = threading.Event()
    waiting: ClassVar[threading.Event] = threading.Event()
    free_batches: ClassVar[int] = 10**9
    batches: ClassVar[int] = 0


def gated_plugin() -> Any:
    """A plugin registering backend ``gated-fake``: the fake backend with a gate per batch."""
    from huisou import hookimpl
    from huisou.testing.fakes import FakeEmbeddingBackend

    class GatedFake(FakeEmbeddingBackend):
        backend_id: ClassVar[str] = "gated-fake"

        def embed_images(self, prepared: Any) -> Any:
            GatedBackend.batches += 1
            if GatedBackend.batches > GatedBackend.free_batches:
                GatedBackend.waiting.set()
                assert GatedBackend.gate.wait(20), "test never opened the gate"
            return super().embed_images(prepared)

    class Plugin:
        @hookimpl
        def register_embedding_backends(self, register: Any) -> None:
            register(GatedFake)

    return Plugin()


def reset_gate(free_batches: int) -> None:
    GatedBackend.gate = threading.Event()
    GatedBackend.waiting = threading.Event()
    GatedBackend.free_batches = free_batches
    GatedBackend.batches = 0


def plain(renderable: Any, width: int = 80) -> str:
    """The text a Rich renderable shows at ``width`` columns (no styles)."""
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()
