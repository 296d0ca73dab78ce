"""The TUI's filter bar takes a --where expression on any field (issue 13 item 4): it filters
browsing and search, a bad one is one line in the status, field names are suggested."""

from __future__ import annotations

from pathlib import Path

from test_tui_support import make_app, make_config, make_host, make_photos, run, wait_until


def _indexed(tmp_path: Path):
    from huisou.core.indexer import Indexer

    app = make_app(make_config(tmp_path), make_host())
    library = app.ctx.new_library()
    make_photos(tmp_path / "photos")
    library.catalog.add_source("folder", str(tmp_path / "photos"), {})
    list(Indexer(library).run())
    library.close()
    return app


def test_a_where_expression_filters_browsing_and_a_bad_one_says_why(tmp_path: Path) -> None:
    from textual import events
    from textual.widgets import Input

    app = _indexed(tmp_path)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.shown) == 9)
            await pilot.press("escape", "f")
            where = screen.query_one("#filter-where", Input)
            where.focus()
            where.post_message(events.Paste("name ~ red"))
            await wait_until(pilot, lambda: 0 < len(screen.shown) < 9)
            assert all("red" in Path(hit.path).name for hit in screen.shown)
            from huisou.tui.screens.search import filter_summary

            assert filter_summary(screen.filters) == "name ~ red"  # shown when the bar hides
            where.value = "ratng >= 3"
            await wait_until(pilot, lambda: "ratng" in str(
                screen.query_one("#search-status").render()))
            status = str(screen.query_one("#search-status").render())
            assert "unknown field" in status and "\n" not in status.strip()

    run(body())


def test_field_names_are_suggested_as_the_user_types() -> None:
    import asyncio

    from huisou.tui.widgets.filter_bar import FieldNameSuggester

    suggester = FieldNameSuggester(lambda: ["rating", "taken_at", "tags"])
    suggest = suggester.get_suggestion
    assert asyncio.run(suggest("rat")) == "rating"
    assert asyncio.run(suggest("rating >= 3 and ta")) == "rating >= 3 and tags"
    assert asyncio.run(suggest("rating >= 3 and ")) is None
    assert asyncio.run(suggest("rating")) is None


def test_details_list_the_fields_plugins_gave() -> None:
    from huisou.core.search import Hit
    from huisou.tui.widgets.photo_details import describe
    from rich.console import Console

    hit = Hit(1, "/p/red.jpg", 0.5, "2024-03-01T10:00:00", 64, 48, None, None)
    item = {"id": 1, "size": 2048, "taken_at_source": "DateTimeOriginal", "depends_sig": "1:2"}
    fields = {"rating": 4, "tags": ["family", "beach"], "spot": {"lat": 31.2, "lon": 121.5},
              "ocr_text": "增值税发票 Invoice"}
    console = Console(width=60, record=True)
    console.print(describe(hit, item, None, fields))
    text = console.export_text()
    assert "rating 4" in text and "tags family, beach" in text
    assert "spot 31.20000, 121.50000" in text and "增值税发票 Invoice" in text
    assert "1:2" not in text  # internal columns stay hidden
