"""Snapshot tests (pytest-textual-snapshot) of the main screens at phone, laptop and wide sizes.

Paths and times shown on screen must not change between runs, so the photos live in a fixed
folder, file times are fixed, the clock zone is UTC and the library's "last indexed" time is
pinned. Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` after looking at
the report.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from test_tui_support import goto, make_app, make_config, make_host, make_photos, wait_until

SIZES = [(40, 20), (80, 24), (120, 40)]
#: Fixed location: the paths appear in the screenshots.
SNAP_ROOT = Path("/tmp/huisou-tui-snap")
#: Built-ins for a stable Plugins screen: only the media plugins the tests use.
MEDIA_BUILTINS = (
    "huisou.plugins.media_sources.decode",
    "huisou.plugins.media_sources.exif",
    "huisou.plugins.media_sources.folder",
)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def library_dir(utc) -> Path:
    """A fresh fixed folder with 9 photos and an empty library."""
    shutil.rmtree(SNAP_ROOT, ignore_errors=True)
    make_photos(SNAP_ROOT / "photos")
    yield SNAP_ROOT
    shutil.rmtree(SNAP_ROOT, ignore_errors=True)


def _indexed_app(root: Path):
    """Index the photos with the core API (fast), then build the app on that library."""
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library

    config = make_config(root)
    host = make_host(builtins=MEDIA_BUILTINS)
    library = Library(config, host)
    library.catalog.add_source("folder", str(root / "photos"), {})
    events = list(Indexer(library).run())
    assert events[-1].indexed == 9
    library.catalog.conn.execute("UPDATE sources SET last_indexed_at = 1714564800")
    library.close()
    return make_app(config, host)


async def _ready(pilot) -> None:
    """Wait until the search box (or, on a first run, the guide) has focus (keys typed before
    that are lost), no blinking."""
    await wait_until(pilot, lambda: getattr(pilot.app.focused, "id", None) in ("query", "guide"))
    _no_blink(pilot)


async def _pictures_drawn(pilot) -> None:
    """Wait until every picture on screen is drawn: the grid's visible thumbnails and, at
    100+ columns, the side preview. Their pixels are the same whichever worker made them
    first (the thumbnail cache always serves the stored thumbnail's pixels), so once drawn
    the screen is the same on every run."""
    screen = pilot.app.screen

    def drawn() -> bool:
        grid = screen.query_one("#grid")
        preview = screen.query_one("#preview")
        return (not grid.display or grid.settled) and (not screen.wide or preview.settled)

    await pilot.app.workers.wait_for_complete()
    await wait_until(pilot, drawn)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    await wait_until(pilot, drawn)  # a last frame asked for nothing new


def _no_blink(pilot) -> None:
    from textual.widgets import Input

    for box in pilot.app.query(Input):
        box.cursor_blink = False
    for screen in pilot.app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_first_run_guide(snap_compare, library_dir: Path, size) -> None:
    app = make_app(make_config(library_dir), make_host(builtins=MEDIA_BUILTINS))

    async def run_before(pilot) -> None:
        await pilot.pause()
        _no_blink(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_search_results(snap_compare, library_dir: Path, size) -> None:
    app = _indexed_app(library_dir)

    async def run_before(pilot) -> None:
        await _ready(pilot)
        await pilot.press(*"red")
        screen = pilot.app.screen
        await wait_until(pilot, lambda: len(screen.last_hits) == 9)
        await pilot.press("down")  # focus the results: no text cursor in the picture
        await _pictures_drawn(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_library_screen(snap_compare, library_dir: Path, size) -> None:
    app = _indexed_app(library_dir)

    async def run_before(pilot) -> None:
        await _ready(pilot)
        await goto(pilot, "2")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_index_screen_mid_run(snap_compare, library_dir: Path, size) -> None:
    """A run half-way through, drawn from a fixed state (rates and ETAs are not repeatable)."""
    from huisou.tui.index_state import INDEXING, Failure, IndexState
    from huisou.tui.widgets.index_progress import IndexProgress

    app = make_app(make_config(library_dir), make_host(builtins=MEDIA_BUILTINS))
    state = IndexState(
        phase=INDEXING, done=1234, total=5000, rate=4.2, eta_seconds=897.0,
        current="/storage/emulated/0/DCIM/Camera/IMG_20240501_120000.jpg", failed=2,
        scanned=5310, unchanged=310,
        failures=(
            Failure("/storage/emulated/0/DCIM/Camera/broken.jpg", "unreadable", "truncated"),
            Failure("/storage/emulated/0/DCIM/Camera/IMG_0001.heic", "unsupported", "no HEIC"),
        ),
        message="5310 photos found, 5000 to index",
    )

    async def run_before(pilot) -> None:
        await _ready(pilot)
        await goto(pilot, "3")
        await pilot.pause()
        pilot.app.screen.query_one(IndexProgress).update_state(state)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_plugins_screen(snap_compare, library_dir: Path, size) -> None:
    app = make_app(make_config(library_dir), make_host(builtins=MEDIA_BUILTINS))

    async def run_before(pilot) -> None:
        await _ready(pilot)
        await goto(pilot, "5")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def _grid_ready(pilot) -> None:
    """Browse the library as a grid and wait until every visible thumbnail is drawn."""
    await _ready(pilot)
    screen = pilot.app.screen
    await wait_until(pilot, lambda: len(screen.shown) == 9)
    await pilot.press("escape", "g")
    await _pictures_drawn(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_grid_of_thumbnails(snap_compare, library_dir: Path, size) -> None:
    app = _indexed_app(library_dir)
    assert snap_compare(app, terminal_size=size, run_before=_grid_ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_timeline_list(snap_compare, library_dir: Path, size) -> None:
    app = _indexed_app(library_dir)

    async def run_before(pilot) -> None:
        await _ready(pilot)
        screen = pilot.app.screen
        await wait_until(pilot, lambda: len(screen.shown) == 9)
        await pilot.press("escape")
        await _pictures_drawn(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
