"""The Models screen: install a model folder, choose the model in use (written to
config.toml), honest states for local models, download progress and errors at 40x20."""

from __future__ import annotations

from pathlib import Path

import tomllib
from test_tui_support import goto, make_app, make_config, make_host, run, wait_until
from textual import events

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "models" / "toy_shapes"


def _status(app) -> str:
    return str(app.screen.query_one("#model-status").render())


def _visible(app, widget) -> bool:
    """The widget is drawn inside the terminal (not below the fold)."""
    region = widget.region
    return region.height > 0 and region.y + region.height <= app.size.height


def test_install_a_folder_then_use_it(tmp_path: Path, monkeypatch) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('# my settings\nbatch_size = 2\n')
    monkeypatch.setenv("HUISOU_CONFIG", str(config_file))
    config = make_config(tmp_path, backend="onnx-clip", model="ViT-B-32__openai")
    app = make_app(config, make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            await goto(pilot, "4")
            await pilot.press("n")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "ModelDirScreen")
            app.screen.query_one("#model-dir").post_message(events.Paste(str(TOY)))
            await pilot.pause()
            await pilot.press("enter")
            await wait_until(pilot, lambda: "Installed toy_shapes" in _status(app))
            screen = app.screen
            assert _visible(app, screen.query_one("#model-status"))
            assert screen.entry.name == "toy_shapes" and screen.entry.installed
            assert (Path(config.models_path) / "toy_shapes" / "visual" / "model.onnx").is_file()
            await pilot.press("u")
            await wait_until(pilot, lambda: "Now using toy_shapes" in _status(app))
            assert app.ctx.model_choice() == ("onnx-clip", "toy_shapes")
            listed = str(screen.query_one("#model-list").get_option_at_index(
                screen.query_one("#model-list").highlighted).prompt)
            assert "● toy_shapes" in listed and "in use" in listed and "(local)" in listed

    run(body())
    saved = tomllib.loads(config_file.read_text())
    assert saved == {"batch_size": 2, "backend": "onnx-clip", "model": "toy_shapes"}
    assert config_file.read_text().startswith("# my settings\n")


def test_a_local_model_in_use_is_not_offered_for_download(tmp_path: Path) -> None:
    config = make_config(tmp_path, backend="onnx-clip", model=str(TOY))
    app = make_app(config, make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            await goto(pilot, "4")
            screen = app.screen
            configured = next(e for e in screen.entries if e.configured)
            assert configured.installed and not configured.catalog
            options = screen.query_one("#model-list")
            options.highlighted = screen.entries.index(configured)
            prompt = str(options.get_option_at_index(options.highlighted).prompt)
            assert "not downloaded" not in prompt and "installed (local)" in prompt
            await pilot.press("d")
            assert "already installed" in _status(app)

    run(body())


def test_download_progress_and_failure_stay_visible_at_40x20(tmp_path: Path,
                                                             monkeypatch) -> None:
    from huisou.core.errors import HuisouError
    from huisou.tui import models_info

    def failing(config, name, progress, cancel):
        progress(3_000_000, 605_266_916)
        raise HuisouError("cannot reach https://example.invalid/model.onnx: timed out")

    monkeypatch.setattr(models_info, "download_model", failing)
    monkeypatch.setattr(models_info, "downloader", lambda *a: failing)
    config = make_config(tmp_path, backend="onnx-clip", model="ViT-B-32__openai")
    app = make_app(config, make_host())

    async def body() -> None:
        async with app.run_test(size=(40, 20)) as pilot:
            await goto(pilot, "4")
            screen = app.screen
            options = screen.query_one("#model-list")
            last = len(screen.entries) - 1  # the bottom of a long list
            options.highlighted = last
            await pilot.pause()
            await pilot.press("d")
            await wait_until(pilot, lambda: "Download failed" in _status(app))
            assert "press r to retry" in _status(app)
            assert _visible(app, screen.query_one("#model-status"))

    run(body())
