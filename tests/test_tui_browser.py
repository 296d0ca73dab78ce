"""The TUI as a photo browser (issue 15): timeline and folders without a query, grid and
list, sort, details with next/previous, selection, picking, thumbnails kept beside the
library, honest "open" over SSH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_tui_support import (
    make_app,
    make_config,
    make_host,
    make_photos,
    plain,
    run,
    wait_until,
)


def _indexed(tmp_path: Path, folders: tuple[str, ...] = ("photos",), **config: object):
    from huisou.core.indexer import Indexer

    app = make_app(make_config(tmp_path, **config), make_host())
    library = app.ctx.new_library()
    for name in folders:
        make_photos(tmp_path / name)
        library.catalog.add_source("folder", str(tmp_path / name), {})
    list(Indexer(library).run())
    library.close()
    return app


def _spread_over_months(folder: Path) -> None:
    """red_* in 2024-03, green_* in 2024-05, blue_* in 2024-07 (file times; no EXIF)."""
    from datetime import datetime, timezone

    for name, month in (("red", 3), ("green", 5), ("blue", 7)):
        for path in folder.glob(f"{name}_*.jpg"):
            stamp = datetime(2024, month, 10, 12, tzinfo=timezone.utc).timestamp()
            os.utime(path, (stamp, stamp))


def test_timeline_by_month_newest_first_without_a_query(tmp_path: Path) -> None:
    from huisou.core.indexer import Indexer

    photos = tmp_path / "photos"
    make_photos(photos)
    _spread_over_months(photos)
    app = make_app(make_config(tmp_path), make_host())
    library = app.ctx.new_library()
    library.catalog.add_source("folder", str(photos), {})
    list(Indexer(library).run())
    library.close()

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            assert screen.browsing
            months = [h.taken_at[:7] for h in screen.shown]
            assert months == sorted(months, reverse=True)
            assert [Path(h.path).name[:3] for h in screen.shown[:3]] == ["blu"] * 3
            results = screen.query_one("#results")
            headings = [plain(results.get_option_at_index(i).prompt).strip()
                        for i in range(results.option_count)
                        if results.get_option_at_index(i).disabled]
            assert [h.split(" ·")[0] for h in headings] == ["2024-07", "2024-05", "2024-03"]

    run(body())


def test_folder_view_and_filters_apply_to_browsing(tmp_path: Path) -> None:
    from textual import events

    app = _indexed(tmp_path, ("one", "two"))

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 18)
            await pilot.press("escape", "t")  # by folder
            await wait_until(pilot, lambda: screen.grouping == "folder" and len(screen.shown) == 18)
            folders = [Path(h.path).parent.name for h in screen.shown]
            assert folders == ["one"] * 9 + ["two"] * 9
            await pilot.press("f", "tab", "tab")
            app.focused.post_message(events.Paste("two"))
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            assert {Path(h.path).parent.name for h in screen.shown} == {"two"}

    run(body())


def test_sort_by_date_and_back_to_score(tmp_path: Path) -> None:
    app = _indexed(tmp_path)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: getattr(app.focused, "id", None) == "query")
            await pilot.press(*"red")
            await wait_until(pilot, lambda: "for “red”" in str(
                screen.query_one("#search-status").render()))
            by_score = [h.score for h in screen.shown]
            assert by_score == sorted(by_score, reverse=True)
            await pilot.press("down", "s")
            dates = [h.taken_at for h in screen.shown]
            assert dates == sorted(dates, reverse=True) and screen.shown != screen.last_hits
            await pilot.press("s")
            assert [h.score for h in screen.shown] == by_score

    run(body())


def test_grid_toggle_keeps_the_photo_and_arrows_move_in_two_dimensions(tmp_path: Path) -> None:
    from huisou.tui.widgets.thumb_grid import ThumbGrid

    app = _indexed(tmp_path)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            await pilot.press("escape", "down", "down")
            looked_at = screen.current_hit.path
            await pilot.press("g")
            grid = screen.query_one("#grid", ThumbGrid)
            assert grid.display and not screen.query_one("#results").display
            assert app.focused is grid and screen.current_hit.path == looked_at
            columns = grid.columns
            assert columns == 4  # (80 + 1) // 19
            start = grid.cursor
            await pilot.press("down")
            assert grid.cursor == start + columns
            await pilot.press("right")
            assert grid.cursor == start + columns + 1
            await pilot.press("g")
            assert screen.query_one("#results").display
            assert screen.current_hit.path == screen.shown[start + columns + 1].path

    run(body())


def test_details_next_previous_and_metadata(tmp_path: Path) -> None:
    app = _indexed(tmp_path)

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            await pilot.press("escape", "enter")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "DetailsScreen")
            details = app.screen
            assert details.hit.path == screen.shown[0].path
            await pilot.press("right", "right", "left")
            assert details.hit.path == screen.shown[1].path
            text = plain(details.query_one("#details-text").content, 80)
            assert "2 of 9" in text
            assert "(file mtime)" in text  # where the date came from
            assert "KB" in text  # file size from the catalog
            await pilot.press("escape")
            assert screen.current_hit.path == screen.shown[1].path

    run(body())


def test_select_several_copy_and_write_paths(tmp_path: Path, monkeypatch) -> None:
    app = _indexed(tmp_path)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    monkeypatch.chdir(tmp_path)

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            await pilot.press("escape", "space", "down", "space")  # 1st and 3rd
            chosen = [screen.shown[0].path, screen.shown[2].path]
            assert list(screen.selected) == chosen
            await pilot.press("c", "w")
            assert copied == ["\n".join(chosen)]
            written = (tmp_path / "huisou-selection.txt").read_text().splitlines()
            assert written == chosen
            await pilot.press("O")  # open folder
            assert app.ctx.opener.opened == [str(Path(screen.current_hit.path).parent)]

    run(body())


def test_pick_mode_enter_returns_the_selection(tmp_path: Path) -> None:
    from huisou.core.indexer import Indexer

    make_photos(tmp_path / "photos")
    config = make_config(tmp_path)
    app = make_app(config, make_host(), pick=True, query="green")
    library = app.ctx.new_library()
    library.catalog.add_source("folder", str(tmp_path / "photos"), {})
    list(Indexer(library).run())
    library.close()

    async def body() -> list[str] | None:
        async with app.run_test(size=(40, 20)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: not screen.browsing and len(screen.shown) == 9)
            await pilot.press("enter")  # query -> results (pick: no details)
            await pilot.press("space", "space", "enter")
        return app.return_value

    picked = run(body())
    assert picked is not None and len(picked) == 2
    assert all(Path(p).name.startswith("green") for p in picked)


def test_huisou_pick_without_a_terminal_is_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, HUISOU_HOME=str(tmp_path / "home"))
    env.pop("HUISOU_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "huisou", "pick", "beach"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "huisou: error: pick needs a terminal on stdin and stderr (stdout may be a pipe)"]


def test_open_over_ssh_says_why_instead_of_launching_nothing() -> None:
    from huisou.tui.opener import SystemOpener, remote_session

    ssh = {"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22"}
    assert remote_session(ssh)
    assert not remote_session({**ssh, "DISPLAY": "localhost:10.0"})
    assert not remote_session({})
    opener = SystemOpener(candidates=("sh",), env=ssh)
    try:
        opener("/photos/a.jpg")
    except OSError as exc:
        assert "SSH session" in str(exc) and "c copies the path" in str(exc)
    else:
        raise AssertionError("opened a viewer over SSH")


def test_thumbnails_are_stored_beside_the_library_and_follow_the_photo(tmp_path: Path) -> None:
    from huisou.core.thumbstore import ThumbStore, thumbs_path
    from huisou.tui.thumbnails import ThumbnailCache
    from PIL import Image

    photo = tmp_path / "p.jpg"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(photo)
    store = ThumbStore(tmp_path / "library.db")
    assert store.path == thumbs_path(tmp_path / "library.db") == tmp_path / "library.thumbs.db"
    cache = ThumbnailCache(None, store=store)
    first = cache.load(str(photo), 18, 12)
    assert cache.decodes == 1 and store.stats()[0] == 1
    assert 0 < store.stats()[1] < 10_000
    cache.clear()
    again = cache.load(str(photo), 18, 12)  # from the store: no decode of the photo
    assert cache.decodes == 1 and again.size == first.size
    Image.new("RGB", (640, 480), (20, 30, 200)).save(photo)  # the photo changes
    os.utime(photo, (1, 1))
    cache.clear()
    changed = cache.load(str(photo), 18, 12)
    assert cache.decodes == 2 and changed.getpixel((5, 5))[2] > 150  # blue now, not red
    store.close()


def test_a_thumbnail_looks_the_same_before_and_after_it_is_stored(tmp_path: Path) -> None:
    """The first drawing of a photo (decoded now) and every later one (from the stored JPEG)
    have the same pixels, so a screen does not depend on which worker got there first."""
    import random

    from huisou.core.thumbstore import ThumbStore
    from huisou.tui.thumbnails import ThumbnailCache
    from PIL import Image

    noise = random.Random(7)
    photo = tmp_path / "noisy.png"  # detail JPEG rounds visibly
    Image.frombytes("RGB", (400, 300), bytes(noise.randrange(256) for _ in range(400 * 300 * 3))
                    ).save(photo)
    store = ThumbStore(tmp_path / "library.db")
    fresh = ThumbnailCache(None, store=store).load(str(photo), 45, 40)  # decodes, stores
    later = ThumbnailCache(None, store=store)
    stored = later.load(str(photo), 45, 40)
    assert later.decodes == 0  # really from the store
    assert fresh.tobytes() == stored.tobytes()
    store.close()


def test_thumbnails_rebuild_command(tmp_path: Path) -> None:
    from huisou.core.thumbstore import ThumbStore

    app = _indexed(tmp_path)
    db = app.ctx.config.db_path
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fakes.py").write_text(
        "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n")
    env = dict(os.environ, HUISOU_HOME=str(tmp_path / "home"))
    env.pop("HUISOU_CONFIG", None)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text(f'plugins_dir = "{plugins}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "huisou", "thumbnails", "rebuild", "--db", str(db), "--json"],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    import json

    result = json.loads(done.stdout)
    assert result["thumbnails"] == 9 and result["failed"] == 0
    count, size = ThumbStore(db).stats()
    assert count == 9 and size == result["bytes"]


def test_fake_kitty_terminal_grid_then_details_in_real_pixels(tmp_path: Path) -> None:
    """A graphics-capable terminal (Kitty's protocol, forced): the grid's cells are
    textual-image widgets holding each photo's pixels, paged as the cursor moves, and the
    details of the chosen photo are handed to textual-image as pixels too."""
    from huisou.core.indexer import Indexer
    from huisou.tui.widgets.graphic_grid import GraphicCell, GraphicGrid
    from huisou.tui.widgets.thumb_grid import THUMB_ROWS
    from PIL import Image
    from textual_image.widget import TGPImage

    make_photos(tmp_path / "photos")
    app = make_app(make_config(tmp_path), make_host(), image_protocol="tgp")
    library = app.ctx.new_library()
    library.catalog.add_source("folder", str(tmp_path / "photos"), {})
    list(Indexer(library).run())
    library.close()

    def colour(image: Image.Image) -> tuple[int, int, int]:
        return image.resize((1, 1)).getpixel((0, 0))

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            await pilot.press("escape", "g")
            grid = screen.query_one("#grid")
            assert isinstance(grid, GraphicGrid)
            await wait_until(pilot, lambda: grid.settled)
            cells = [c for c in grid.query(GraphicCell) if c.display]
            assert grid.columns == 2 and len(cells) == 2  # 40x20: one row of two on screen
            for cell, hit in zip(cells, screen.shown, strict=False):
                assert isinstance(cell.picture, TGPImage) and cell.shown == hit.path
                expected = Image.open(hit.path).convert("RGB")
                got = colour(cell.picture.image)
                assert max(abs(a - b) for a, b in zip(got, colour(expected), strict=True)) < 12
            # drawn with Kitty's Unicode placeholders (one per cell of each image), not blocks
            placeholders = app.export_screenshot().count(chr(0x10EEEE))
            assert placeholders >= len(cells) * THUMB_ROWS
            await pilot.press("down", "down")  # off the screenful: the pool pages
            await wait_until(pilot, lambda: grid.settled)
            assert grid.cursor == 4 and cells[0].shown == screen.shown[4].path
            await pilot.press("up", "up", "right", "enter")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "DetailsScreen")
            assert app.screen.hit.path == screen.shown[1].path
            preview = app.screen.query_one("#preview")
            assert type(preview).__name__ == "GraphicPreview" and preview.protocol == "tgp"
            graphic = preview.query_one("#graphic")
            await wait_until(pilot, lambda: graphic.image is not None)
            assert graphic.image.size == (96, 64)

    run(body())


def test_sixel_terminal_grid_cells_are_sixel_images(tmp_path: Path) -> None:
    """``--images sixel`` (the protocol iTerm2, WezTerm, foot and xterm speak): the same
    grid, drawn with textual-image's Sixel widget."""
    from huisou.core.indexer import Indexer
    from huisou.tui.widgets.graphic_grid import GraphicCell
    from textual_image.widget import SixelImage

    make_photos(tmp_path / "photos")
    app = make_app(make_config(tmp_path), make_host(), image_protocol="sixel")
    library = app.ctx.new_library()
    library.catalog.add_source("folder", str(tmp_path / "photos"), {})
    list(Indexer(library).run())
    library.close()

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            await pilot.press("escape", "g")
            grid = screen.query_one("#grid")
            await wait_until(pilot, lambda: grid.settled)
            cells = [c for c in grid.query(GraphicCell) if c.display]
            assert len(cells) == 8  # 4 columns, 2 rows at 80x24
            assert all(isinstance(c.picture, SixelImage) for c in cells)
            assert [c.shown for c in cells] == [hit.path for hit in screen.shown[:8]]

    run(body())
