"""Pilot tests of the TUI: add a folder, index, search, cancel and resume, actions, states."""

from __future__ import annotations

from pathlib import Path

from test_tui_support import (
    add_folder_via_ui,
    gated_plugin,
    goto,
    index_via_ui,
    make_app,
    make_config,
    make_host,
    make_photos,
    plain,
    reset_gate,
    run,
    search_via_ui,
    wait_until,
)
from textual import events


def test_add_folder_index_and_search_red(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    photos = tmp_path / "photos"
    make_photos(photos)
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await add_folder_via_ui(pilot, photos, type_path=True)
            assert [s.root for s in app.ctx.library.catalog.sources()] == [str(photos)]
            state = await index_via_ui(pilot)
            assert state.phase == "done", state.message
            assert state.summary.indexed == 9 and state.done == 9 and state.total == 9
            hits = await search_via_ui(pilot, "red")
            names = [Path(hit.path).name for hit in hits]
            assert sorted(names[:3]) == ["red_0.jpg", "red_1.jpg", "red_2.jpg"]
            assert hits[0].score > hits[3].score
            assert len(hits) == 9
            results = app.screen.query_one("#results")
            assert results.option_count == 9

    run(body())


def _final_counts(app) -> tuple[dict[str, int], int]:
    library = app.ctx.new_library()
    try:
        return library.catalog.status_counts(), library.store.count()
    finally:
        library.close()


def test_cancel_midway_then_resume_reaches_same_counts(tmp_path: Path) -> None:
    make_photos(tmp_path / "photos", per_colour=4)  # 12 photos, batches of 2

    # Reference: one uninterrupted run in its own library, straight through the core.
    reset_gate(free_batches=10**9)
    ref_app = make_app(make_config(tmp_path / "ref", backend="gated-fake"), make_host(gated_plugin()))
    ref = ref_app.ctx.new_library()
    ref.catalog.add_source("folder", str(tmp_path / "photos"), {})
    from huisou.core.indexer import Indexer

    assert list(Indexer(ref).run())[-1].indexed == 12
    ref.close()
    expected = _final_counts(ref_app)

    reset_gate(free_batches=2)  # two batches go through, the third waits on the gate
    app = make_app(make_config(tmp_path / "lib", backend="gated-fake"), make_host(gated_plugin()))

    async def body() -> None:
        from test_tui_support import GatedBackend

        async with app.run_test(size=(80, 24)) as pilot:
            await add_folder_via_ui(pilot, tmp_path / "photos")
            await goto(pilot, "3")
            screen = app.screen
            await pilot.press("s")
            await wait_until(pilot, lambda: GatedBackend.waiting.is_set())
            await wait_until(pilot, lambda: screen.state.done == 4)
            assert screen.running
            hits = await search_via_ui(pilot, "red")  # results appear while indexing runs
            assert len(hits) == 4
            await goto(pilot, "3")
            await pilot.press("escape")  # cancel while the third batch is in flight
            GatedBackend.gate.set()
            await wait_until(pilot, lambda: screen.idle.is_set())
            await wait_until(pilot, lambda: screen.state.phase == "cancelled")
            first = screen.state.summary
            assert first is not None and first.cancelled
            assert 0 < first.indexed < 12
            counts, vectors = _final_counts(app)
            assert counts.get("indexed") == first.indexed == vectors  # committed = kept

            await pilot.press("s")  # resume
            await wait_until(pilot, lambda: screen.idle.is_set() and screen.state.phase == "done")
            second = screen.state.summary
            assert second.indexed == 12 - first.indexed
            assert second.unchanged == first.indexed
            assert _final_counts(app) == expected
            search = app.area("search")  # the open search was refreshed with the new photos
            await wait_until(pilot, lambda: len(search.last_hits) == 12)

    run(body())
    assert expected == ({"indexed": 12}, 12)


def test_result_actions_open_copy_and_more_like_this(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_photos(photos)
    app = make_app(make_config(tmp_path), make_host())
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await add_folder_via_ui(pilot, photos)
            await index_via_ui(pilot)
            hits = await search_via_ui(pilot, "blue")
            top = hits[0].path
            assert Path(top).name.startswith("blue")
            await pilot.press("down")  # from the query box into the results (first one)
            assert app.screen.focused.id == "results"
            await pilot.press("o", "c")
            assert app.ctx.opener.opened == [top]
            assert copied == [top]
            await pilot.press("m")  # more like this: an image query with the photo
            screen = app.screen
            await wait_until(pilot, lambda: "like blue" in str(screen.query_one("#search-status").render()))
            names = [Path(h.path).name for h in screen.last_hits]
            assert names[0] == Path(top).name  # the photo is most like itself
            assert all(n.startswith("blue") for n in names[:3])
            # Enter in the wide layout opens the photo (details are already beside it).
            await pilot.press("enter")
            assert len(app.ctx.opener.opened) == 2

    run(body())


def test_narrow_layout_pushes_details_screen(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_photos(photos)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(44, 20)) as pilot:
            await add_folder_via_ui(pilot, photos)
            state = await index_via_ui(pilot)
            assert state.summary.indexed == 9 and state.summary.failed == 1
            assert [Path(f.path).name for f in state.failures] == ["broken.jpg"]
            await pilot.press("f")  # failures so far, with reasons
            await wait_until(pilot, lambda: type(app.screen).__name__ == "FailuresScreen")
            listed = plain(app.screen.query_one("#failure-list").get_option_at_index(0).prompt)
            assert "broken.jpg" in listed and "unreadable" in listed
            await pilot.press("escape")
            await search_via_ui(pilot, "green")
            assert app.screen.has_class("-narrow")
            assert not app.screen.query_one("#details").display
            await pilot.press("enter")  # query → results
            await pilot.press("enter")  # results → details screen
            await wait_until(pilot, lambda: type(app.screen).__name__ == "DetailsScreen")
            assert Path(app.screen.hit.path).name.startswith("green")
            await pilot.press("o")
            assert app.ctx.opener.opened == [app.screen.hit.path]
            await pilot.press("escape")
            assert type(app.screen).__name__ == "SearchScreen"

    run(body())


def test_filters_restrict_results(tmp_path: Path) -> None:
    photos = tmp_path / "all" / "photos"
    make_photos(photos)
    make_photos(tmp_path / "all" / "other")
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await add_folder_via_ui(pilot, tmp_path / "all")
            await index_via_ui(pilot)
            hits = await search_via_ui(pilot, "red")
            assert len(hits) == 18
            screen = app.screen
            await pilot.press("escape", "f")  # results, then the filter bar
            assert screen.query_one("#filters").display
            app.focused.post_message(events.Paste("2024-05-02"))  # "from": skips the first
            await pilot.press("tab", "tab")  # to the folder filter; paste the folder
            app.focused.post_message(events.Paste(str(photos)))
            await wait_until(pilot, lambda: screen.filters.folder == str(photos))
            await wait_until(pilot, lambda: len(screen.last_hits) == 8)
            assert all(h.path.startswith(str(photos)) for h in screen.last_hits)
            assert "red_0.jpg" not in {Path(h.path).name for h in screen.last_hits}

    run(body())


def test_help_on_question_mark_and_palette_lists_actions(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path), make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            await pilot.press("question_mark")  # even while the query box has focus
            assert type(app.screen).__name__ == "HelpScreen"
            assert app.screen_stack[0].query_one("#query").value == ""
            await pilot.press("escape")
            assert type(app.screen).__name__ == "SearchScreen"
            await pilot.click("#nav", offset=(12, 0))  # tap "2 Lib" on the top bar
            assert app.current_mode == "library"
            await pilot.press("ctrl+p")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
            await pilot.press(*"start i")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.current_mode == "index")
            screen = app.screen
            await wait_until(pilot, lambda: screen.idle.is_set() and screen.state.phase == "failed")
            assert "No photo sources" in screen.state.message

    run(body())


def test_first_run_guide_and_termux_storage_hint(tmp_path: Path) -> None:
    from huisou.tui.environment import Environment

    app = make_app(
        make_config(tmp_path, backend="onnx-clip", model="ViT-B-32__openai"), make_host(),
        environment=Environment(termux=True, storage_ok=False),
    )

    async def body() -> None:
        async with app.run_test(size=(60, 24)) as pilot:
            await pilot.pause()
            guide = app.screen.query_one("#guide")
            assert guide.display
            text = str(guide.query_one("Static").render())
            assert "termux-setup-storage" in text
            assert "ViT-B-32__openai" in text and "MB" in text  # model download size
            await goto(pilot, "2")
            summary = str(app.screen.query_one("#library-summary").render())
            assert "termux-setup-storage" in summary

    run(body())


def test_no_model_yet_is_one_clear_line(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    make_photos(photos, per_colour=1)
    config = make_config(tmp_path, backend="onnx-clip", model="ViT-B-32__openai")
    app = make_app(config, make_host())

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await add_folder_via_ui(pilot, photos)
            await goto(pilot, "1")
            await pilot.press("slash", *"red")
            screen = app.screen
            await wait_until(pilot, lambda: "No model yet" in str(screen.query_one("#search-status").render()))
            assert "\n" not in str(screen.query_one("#search-status").render()).strip()

    run(body())


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


def test_database_locked_by_another_process_waits_then_adds(tmp_path: Path) -> None:
    """A cron job holding the write lock: adding a source waits (UI stays up), then lands."""
    import subprocess
    import sys

    photos = tmp_path / "photos"
    make_photos(photos, per_colour=1)
    config = make_config(tmp_path)
    app = make_app(config, make_host())

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            # The "cron job": another process holding the write lock until told to commit.
            other = subprocess.Popen(
                [sys.executable, "-c", HOLD_LOCK, config.db], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True,
            )
            assert other.stdout.readline().strip() == "locked"
            await goto(pilot, "2")
            await pilot.press("a")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "AddSourceScreen")
            dialog = app.screen
            dialog.query_one("#source-root").post_message(events.Paste(str(photos)))
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause(0.5)
            assert app.screen is dialog  # still waiting for the lock…
            assert "waiting" in str(dialog.query_one("#dialog-error").render())
            assert app.ctx.library.catalog.sources() == []
            other.stdin.write("\n")  # the cron job commits
            other.stdin.flush()
            await wait_until(pilot, lambda: type(app.screen).__name__ == "LibraryScreen")
            assert [s.root for s in app.ctx.library.catalog.sources()] == [str(photos)]
            assert app.ctx.library.catalog.integrity_check() == "ok"
            assert other.wait(10) == 0

    run(body())


def test_model_download_failure_is_one_line_with_retry(tmp_path: Path, monkeypatch) -> None:
    from huisou.core.errors import HuisouError
    from huisou.tui import models_info

    photos = tmp_path / "photos"
    make_photos(photos, per_colour=1)
    config = make_config(tmp_path, backend="onnx-clip", model="ViT-B-32__openai")
    calls: list[tuple[int, int | None]] = []

    def failing(config, name, progress, cancel):
        for done in (0, 1_000_000, 2_000_000):
            progress(done, 605_266_916)
            calls.append((done, 605_266_916))
        raise HuisouError("cannot reach https://example.invalid/model.onnx: timed out\nmore")

    monkeypatch.setattr(models_info, "download_model", failing)
    monkeypatch.setattr(models_info, "downloader", lambda *a: failing)
    app = make_app(config, make_host())

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await add_folder_via_ui(pilot, photos)
            await goto(pilot, "3")
            screen = app.screen
            await pilot.press("s")
            await wait_until(pilot, lambda: screen.idle.is_set() and screen.state.phase == "failed")
            assert calls and calls[-1][0] == 2_000_000
            message = screen.state.message
            assert message.startswith("Model download failed: cannot reach")
            assert "\n" not in message and "press s to retry" in message
            monkeypatch.setattr(models_info, "download_model", lambda *a: None)
            await pilot.press("s")  # retry: the download "works", the model is still absent
            await wait_until(pilot, lambda: screen.idle.is_set()
                             and screen.state.message.startswith("No model yet"))
            assert screen.state.phase == "failed"

    run(body())


def test_plugin_panels_open_from_the_palette(tmp_path: Path) -> None:
    from huisou import hookimpl
    from textual.widgets import Static

    made: list[str] = []

    class Panels:
        @hookimpl
        def register_tui_panels(self, register):
            register("weather", lambda: made.append("weather") or Static("sunny, 21 °C"))
            register("broken", lambda: 1 / 0)

    app = make_app(make_config(tmp_path), make_host(Panels()))

    async def body() -> None:
        async with app.run_test(size=(60, 20)) as pilot:
            await pilot.pause()
            assert made == []  # factories run only when a panel is opened
            await goto(pilot, "5")
            assert "weather" in str(app.screen.query_one("#plugins-text").render())
            await pilot.press("ctrl+p")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
            await pilot.press(*"weather")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "PanelScreen")
            assert made == ["weather"]
            assert "sunny" in str(app.screen.query_one("#panel-body Static").render())
            await pilot.press("escape")
            app.action_open_panel("broken")  # a failing factory: one line, the app goes on
            await pilot.pause()
            assert type(app.screen).__name__ == "PluginsScreen"

    run(body())


def test_graphics_protocol_preview_gets_the_decoded_photo(tmp_path: Path) -> None:
    """Where the terminal speaks Sixel (or Kitty's protocol), textual-image draws the photo."""
    photos = tmp_path / "photos"
    make_photos(photos, per_colour=1)
    app = make_app(make_config(tmp_path), make_host(), image_protocol="sixel")

    async def body() -> None:
        async with app.run_test(size=(120, 30)) as pilot:
            await add_folder_via_ui(pilot, photos)
            await index_via_ui(pilot)
            await search_via_ui(pilot, "red")
            preview = app.screen.query_one("#preview")
            assert type(preview).__name__ == "GraphicPreview"
            graphic = preview.query_one("#graphic")
            # the timeline's newest photo may be drawn first; then the best "red" result
            await wait_until(pilot, lambda: graphic.image is not None
                             and graphic.image.getpixel((0, 0))[0] > 150)  # the red photo
            assert graphic.image.size == (96, 64)

    run(body())


def test_preview_error_of_a_photo_left_behind_does_not_stick_to_the_next() -> None:
    """A slow failing decode of photo A must not show its error on photo B, selected since."""
    import threading

    from huisou.tui.widgets.preview import Preview
    from PIL import Image
    from textual.app import App, ComposeResult

    release_a = threading.Event()

    class Thumbnails:
        def __init__(self) -> None:
            self.cached: dict[str, object] = {}

        def get(self, path, width, height):
            return self.cached.get(path)

        def load(self, path, width, height):
            if path == "a.jpg":
                release_a.wait(10)
                raise OSError("a.jpg is corrupt")
            self.cached[path] = Image.new("RGB", (8, 8), (0, 0, 255))
            return self.cached[path]

    class Ctx:
        thumbnails = Thumbnails()

    class PreviewApp(App):
        ctx = Ctx()

        def compose(self) -> ComposeResult:
            yield Preview(id="preview")

    app = PreviewApp()

    async def body() -> None:
        async with app.run_test(size=(40, 12)) as pilot:
            preview = app.query_one(Preview)
            preview.path = "a.jpg"
            await pilot.pause()
            preview.path = "b.jpg"
            await wait_until(pilot, lambda: "b.jpg" in app.ctx.thumbnails.cached)
            release_a.set()
            await pilot.pause(0.3)
            await pilot.pause()
            assert "no preview" not in str(preview.render())
            preview.path = "a.jpg"  # back on A: its own error is shown
            release_a.set()
            await wait_until(pilot, lambda: "no preview" in str(preview.render()))

    run(body())
