"""What a search tells the user beside its results (issue 15): each hit's relevance
confidence in the list, the grid and the details, the counts in the status line, what the
query was understood as, notices about the query; and "more like this" from the stored
vector, for a photo deleted since it was indexed too."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest
from test_tui_support import make_app, make_config, make_host, make_photos, plain, run, wait_until


def _indexed(tmp_path: Path, per_colour: int):
    from huisou.core.indexer import Indexer

    app = make_app(make_config(tmp_path), make_host())
    library = app.ctx.new_library()
    make_photos(tmp_path / "photos", per_colour=per_colour)
    library.catalog.add_source("folder", str(tmp_path / "photos"), {})
    list(Indexer(library).run())
    library.close()
    return app


async def _search(pilot, text: str) -> list:
    """Put ``text`` in the search box (pasted, not typed: any script) and wait for it."""
    screen = pilot.app.screen
    screen.query_one("#query").value = text
    # generous: a query naming a place loads the gazetteer once (seconds on a busy machine)
    await wait_until(pilot, lambda: str(screen.query_one("#search-status").render())
                     .endswith(f"“{text}”"), timeout=60)
    return screen.last_hits


def _status(screen) -> str:
    return str(screen.query_one("#search-status").render())


def _note(screen) -> str:
    note = screen.query_one("#search-note")
    return str(note.render()) if note.display else ""


def test_confidence_in_list_grid_details_and_status(tmp_path: Path) -> None:
    from huisou.tui.widgets.result_list import CONFIDENCE_MARKS
    from huisou.tui.widgets.thumb_grid import THUMB_ROWS, cell_label

    app = _indexed(tmp_path, per_colour=6)  # 18 photos: enough for the library to judge

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 18)
            hits = await _search(pilot, "blue")
            levels = Counter(hit.confidence for hit in hits)
            assert None not in levels and len(levels) >= 2  # judged, and not all alike
            for level, count in levels.items():
                assert f"{CONFIDENCE_MARKS[level][0]} {count} {level}" in _status(screen)
            results = screen.query_one("#results")
            for n, hit in enumerate(screen.shown):
                prompt = results.get_option(f"hit-{n}").prompt.plain
                assert prompt.split()[1] == CONFIDENCE_MARKS[hit.confidence][0], prompt
                label = cell_label(hit, THUMB_ROWS, scored=True, selected=False,
                                   on_cursor=False).plain
                assert label.split()[1] == CONFIDENCE_MARKS[hit.confidence][0], label
            await pilot.press("g")  # the grid draws the same label as cell_label
            grid = screen.query_one("#grid")
            await wait_until(pilot, lambda: grid.settled)
            screen_text = app.export_screenshot()
            assert CONFIDENCE_MARKS[screen.shown[0].confidence][0] in screen_text
            await pilot.press("enter")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "DetailsScreen")
            text = plain(app.screen.query_one("#details-text").content, 80)
            assert f"{screen.shown[0].confidence} confidence" in text

    run(body())


def test_a_small_library_shows_no_confidence_it_did_not_judge(tmp_path: Path) -> None:
    app = _indexed(tmp_path, per_colour=3)  # 9 photos: below what relevance judges

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            hits = await _search(pilot, "blue")
            assert {hit.confidence for hit in hits} == {None}
            assert _status(screen) == "9 results for “blue”"
            prompt = screen.query_one("#results").get_option("hit-0").prompt.plain
            assert not any(mark in prompt for mark in "●◐○")

    run(body())


def test_understood_dates_and_notices_are_shown_then_cleared(tmp_path: Path, monkeypatch) -> None:
    import huisou.core.search as search
    from huisou.core.query_understanding import understand

    app = _indexed(tmp_path, per_colour=3)
    asked: list[tuple[str, str]] = []

    def language_notice(text: str, backend_id: str, model: str, models_dir: object) -> str | None:
        asked.append((text, backend_id))
        return "note: the query is in Chinese but model fake knows en" if "蓝" in text else None

    monkeypatch.setattr(app.ctx.host, "language_notice", language_notice)

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            hits = await _search(pilot, "blue in May 2024")
            assert len(hits) == 9  # every test photo is from May 2024
            assert ("understood: taken 2024-05-01 – 2024-05-31 (from 'in May 2024'); "
                    "searching for 'blue'") in _note(screen)
            hits = await _search(pilot, "蓝色")
            assert "query is in Chinese but model fake knows en" in _note(screen)
            assert ("蓝色", "fake") in asked  # the host was asked about this query and model
            # the searcher's own notice (a place that could not be looked up)
            def with_notice(query: str) -> object:
                return dataclasses.replace(understand(query),
                                           notice="place names need the places extra")

            monkeypatch.setattr(search, "understand", with_notice)
            await _search(pilot, "blue sky")
            assert "note: place names need the places extra" in _note(screen)
            await pilot.press("escape")
            screen.query_one("#query").value = ""  # browsing: nothing to note
            await wait_until(pilot, lambda: "by month" in _status(screen))
            assert _note(screen) == ""

    run(body())


@pytest.mark.parametrize("view", ["list", "grid"])
def test_more_like_this_uses_the_stored_vector_of_a_deleted_photo(tmp_path: Path,
                                                                  view: str) -> None:
    app = _indexed(tmp_path, per_colour=3)
    gone = tmp_path / "photos" / "blue_1.jpg"
    gone.unlink()  # deleted after indexing: its vector is still in the library

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            await pilot.press("escape", *(["g"] if view == "grid" else []))
            index = [hit.path for hit in screen.shown].index(str(gone))
            screen.move_to(index)
            await pilot.press("enter")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "DetailsScreen")
            assert app.screen.hit.path == str(gone)
            await pilot.press("m")
            await wait_until(pilot, lambda: _status(screen).endswith("“like blue_1.jpg”"))
            names = [Path(hit.path).name for hit in screen.last_hits]
            assert names[0] == "blue_1.jpg"  # most like itself: its own stored vector
            assert set(names[1:3]) <= {"blue_0.jpg", "blue_2.jpg"}  # then the other blues
            assert "error" not in _status(screen).lower()

    run(body())
