"""The first run in the TUI (issue 11): each test reproduces one reported failure.

Guide keys typed into the search box, a model download with nothing to index, place-keeping
on a new query, misleading progress bars, Library arrows, a locked database, long names,
off-centre previews, hidden filters, relative folders and ``huisou`` without a terminal.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_tui_support import (
    add_folder_via_ui,
    goto,
    index_via_ui,
    make_app,
    make_config,
    make_host,
    make_photos,
    plain,
    run,
    wait_until,
)

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "models" / "toy_shapes"
DEMO = REPO / "docs" / "demo-photos"


def test_guide_keys_act_instead_of_being_typed(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            await pilot.pause()
            search = app.screen
            assert search.query_one("#guide").display
            await pilot.press("a")  # "press a to add a folder"
            await wait_until(pilot, lambda: type(app.screen).__name__ == "AddSourceScreen")
            await pilot.press("escape")
            await pilot.press("4")  # "press 4 to choose another" model
            assert app.current_mode == "models"
            await pilot.press("1")
            assert app.current_mode == "search"
            await pilot.press("i")  # "index them: press i"
            await wait_until(pilot, lambda: app.current_mode == "index")
            assert search.query_one("#query").value == ""

    run(body())


def test_index_with_no_sources_downloads_no_model(tmp_path: Path, monkeypatch) -> None:
    from huisou.tui import models_info

    calls: list[str] = []
    monkeypatch.setattr(models_info, "download_model", lambda *a, **k: calls.append(a[1]))
    config = make_config(tmp_path, backend="onnx-clip", model="ViT-B-32__openai")
    app = make_app(config, make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            await goto(pilot, "3")
            screen = app.screen
            await pilot.press("s")
            await wait_until(pilot, lambda: screen.idle.is_set() and screen.state.phase == "failed")
            assert "No photo sources" in screen.state.message

    run(body())
    assert calls == []


def _index_demo(tmp_path: Path):
    """A library of the demo photos indexed with the toy shapes model (core API: fast)."""
    from huisou.core.indexer import Indexer

    config = make_config(tmp_path, backend="onnx-clip", model=str(TOY), store="numpy",
                         batch_size=8)
    app = make_app(config, make_host())
    library = app.ctx.new_library()
    library.catalog.add_source("folder", str(DEMO), {})
    assert list(Indexer(library).run())[-1].indexed == 18
    library.close()
    return app


def test_a_longer_query_and_enter_open_its_own_best_photo(tmp_path: Path) -> None:
    app = _index_demo(tmp_path)

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: getattr(app.focused, "id", None) == "query")
            await pilot.press(*"red")
            await wait_until(pilot, lambda: "for “red”" in str(
                screen.query_one("#search-status").render()))
            await pilot.press(*" circle", "enter")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "DetailsScreen")
            assert Path(app.screen.hit.path).name == "red-circle.jpg"
            assert screen.last_hits[0].path == app.screen.hit.path

    run(body())


def test_refresh_of_the_same_query_keeps_the_highlighted_photo(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_photos(photos)
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await add_folder_via_ui(pilot, photos)
            await index_via_ui(pilot)
            await goto(pilot, "1")
            screen = app.screen
            await pilot.press("slash", *"red")
            await wait_until(pilot, lambda: len(screen.last_hits) == 9)
            await pilot.press("down", "down", "down")  # results, then two photos down
            looked_at = screen.current_hit.path
            screen.refresh_results()  # an indexing run finished
            await wait_until(pilot, lambda: screen.generation >= 2 and len(screen.last_hits) == 9)
            await pilot.pause(0.2)
            assert screen.current_hit.path == looked_at

    run(body())


def test_failed_run_shows_no_full_bar_and_idle_shows_no_busy_bar(tmp_path: Path) -> None:
    from textual.widgets import ProgressBar

    photos = tmp_path / "photos"
    make_photos(photos, per_colour=1)
    config = make_config(tmp_path, backend="onnx-clip", model=str(tmp_path / "no-such-model"))
    app = make_app(config, make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            await goto(pilot, "3")
            bar = app.screen.query_one("#progress-bar", ProgressBar)
            assert not bar.display or bar.total is not None  # idle: nothing animates
            await add_folder_via_ui(pilot, photos)
            state = await index_via_ui(pilot)
            assert state.phase == "failed"
            bar = app.screen.query_one("#progress-bar", ProgressBar)
            assert bar.percentage is not None and bar.percentage < 1
            assert bar.has_class("-failed")

    run(body())


def test_library_arrows_choose_the_source_that_x_forgets(tmp_path: Path) -> None:
    for name in ("first", "second", "third"):
        make_photos(tmp_path / name, per_colour=1)
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            for name in ("first", "second", "third"):
                await add_folder_via_ui(pilot, tmp_path / name)
            await goto(pilot, "1")
            await goto(pilot, "2")
            await pilot.press("down")
            await pilot.press("x")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
            await pilot.press("y")
            library = app.area("library")
            await wait_until(pilot, lambda: len(library.sources) == 2)
            assert [Path(s.root).name for s in library.sources] == ["first", "third"]

    run(body())


def _hit(path: str):
    from huisou.core.search import Hit

    return Hit(1, path, 0.5, "2024-05-01T12:00:00", 96, 64, None, None)


def test_long_names_take_one_line_each() -> None:
    from huisou.tui.widgets.photo_details import describe

    folder = "/photos/" + "/".join(["a-rather-long-folder-name"] * 8)
    text = plain(describe(_hit(f"{folder}/{'x' * 250}.jpg")), width=38)
    lines = text.splitlines()
    assert lines[0].startswith("xxxx") and lines[0].endswith("…")
    assert lines[1].startswith("/photos/") and lines[2].strip().startswith("score")
    assert len(lines) <= 10


def test_halfblock_preview_is_centred_both_ways(tmp_path: Path) -> None:
    from PIL import Image

    photo = tmp_path / "square.jpg"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(photo)
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            from huisou.tui.widgets.preview import Preview

            preview = Preview()
            await app.screen.mount(preview)
            preview.styles.width = 40
            preview.styles.height = 10
            preview.path = str(photo)
            await wait_until(pilot, lambda: "loading" not in str(preview.render()))
            await pilot.pause()
            rows = [
                "".join(seg.text for seg in preview.render_line(y)) for y in range(10)
            ]
            filled = [y for y, row in enumerate(rows) if "▀" in row]
            assert filled and filled[0] == 9 - filled[-1]  # as many empty rows above as below
            row = rows[filled[0]]
            left = len(row) - len(row.lstrip(" "))
            right = len(row) - len(row.rstrip(" "))
            assert abs(left - right) <= 1, (left, right)

    run(body())


def test_hidden_filters_leave_a_visible_sign(tmp_path: Path) -> None:
    from textual import events

    photos = tmp_path / "photos"
    make_photos(photos)
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            await add_folder_via_ui(pilot, photos)
            await index_via_ui(pilot)
            await goto(pilot, "1")
            screen = app.screen
            sign = screen.query_one("#filter-sign")
            await pilot.press("escape", "f")
            app.focused.post_message(events.Paste("2024-05-02"))
            await wait_until(pilot, lambda: screen.filters.after == "2024-05-02")
            assert not sign.display  # the bar itself shows them
            await pilot.press("escape", "f")  # hide the bar: the filter stays on
            assert not screen.query_one("#filters").display
            assert sign.display and sign.region.height == 1
            assert "from 2024-05-02" in str(sign.render())

    run(body())


def test_folder_filter_takes_a_source_name_or_a_relative_path(tmp_path: Path,
                                                             monkeypatch) -> None:
    from huisou.tui.widgets.filter_bar import parse_filters, resolve_folder

    root = tmp_path / "Pictures"
    (root / "2024" / "trip").mkdir(parents=True)
    roots = [str(root)]
    assert resolve_folder("Pictures", roots) == str(root)
    assert resolve_folder("2024/trip", roots) == str(root / "2024" / "trip")
    monkeypatch.chdir(tmp_path)
    assert resolve_folder("elsewhere", roots) == str(tmp_path / "elsewhere")
    assert resolve_folder("~", roots) == os.path.expanduser("~")
    assert parse_filters("", "", "Pictures", "", roots).folder == str(root)


def test_folder_filter_offers_the_source_folders(tmp_path: Path) -> None:
    photos = tmp_path / "Holiday"
    make_photos(photos, per_colour=1)
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await add_folder_via_ui(pilot, photos)
            await index_via_ui(pilot)
            await goto(pilot, "1")
            screen = app.screen
            await pilot.press("escape", "f", "tab", "tab")
            assert app.focused.id == "filter-folder"
            await pilot.press(*"Hol")
            await wait_until(pilot, lambda: app.focused._suggestion == "Holiday")
            await pilot.press("right")  # accept the suggestion
            await wait_until(pilot, lambda: screen.filters.folder == str(photos))

    run(body())


def test_without_a_terminal_huisou_prints_help_and_exits(tmp_path: Path) -> None:
    env = dict(os.environ, HUISOU_HOME=str(tmp_path / "home"))
    env.pop("HUISOU_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "huisou"], stdin=subprocess.DEVNULL, capture_output=True,
        text=True, env=env, timeout=60,
    )
    assert done.returncode == 2
    assert "Usage:" in done.stdout and "search" in done.stdout
    assert done.stderr.strip().splitlines() == [
        "huisou: error: the terminal UI needs a terminal; give a command "
        "(e.g. huisou search TEXT)"
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_locked_library_is_one_line_and_exit_1(tmp_path: Path) -> None:
    import pty

    db = tmp_path / "lib.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO other VALUES (1)")
    env = dict(os.environ, HUISOU_HOME=str(tmp_path / "home"), TERM="xterm-256color")
    env.pop("HUISOU_CONFIG", None)
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, "-m", "huisou", "tui", "--db", str(db)], env)
    out = b""
    try:
        while time.monotonic() - started < 30:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        holder.close()
    text = out.decode("utf-8", "replace").strip()
    assert os.waitstatus_to_exitcode(status) == 1, text
    assert text.splitlines() == [
        f"huisou: error: library {db} is locked by another program; close it or try again later"
    ]
    assert time.monotonic() - started < 20
