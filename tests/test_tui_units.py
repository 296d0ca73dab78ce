"""Unit tests of the TUI's Textual-free parts: state folding, coalescing, filters, previews."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from huisou.core.events import BatchDone, Finished, ItemFailed, ScanFinished, ScanStarted
from huisou.tui.index_state import (
    CANCELLED,
    DONE,
    INDEXING,
    SCANNING,
    IndexState,
    LatestBox,
    format_eta,
)


def test_index_state_folds_a_run() -> None:
    state = IndexState().apply(ScanStarted(["/photos"]))
    assert state.phase == SCANNING and state.running
    state = state.apply(ScanFinished(seen=10, new=8, changed=0, unchanged=2, gone=0, to_embed=8))
    assert (state.phase, state.total, state.unchanged) == (INDEXING, 8, 2)
    state = state.apply(ItemFailed("/photos/bad.jpg", "unreadable", "truncated file"))
    state = state.apply(ItemFailed("/photos/doc.pdf", "skipped", "not an image"))
    assert [f.reason for f in state.failures] == ["truncated file"]  # skipped is not a failure
    state = state.apply(BatchDone(done=4, total=8, path="/photos/d.jpg", rate=2.0,
                                  eta_seconds=2.0, failed=1))
    assert (state.done, state.fraction, state.current) == (4, 0.5, "/photos/d.jpg")
    done = state.apply(Finished(indexed=7, failed=1, seconds=3.0))
    assert done.phase == DONE and not done.running and "7 indexed" in done.message
    cancelled = state.apply(Finished(indexed=3, cancelled=True))
    assert cancelled.phase == CANCELLED and "resume" in cancelled.message


def test_latest_box_keeps_only_the_newest_state() -> None:
    box = LatestBox()
    states = [IndexState(done=n) for n in range(1000)]
    wakeups = sum(box.put(s) for s in states)  # a fast worker, a UI that has not read yet
    assert wakeups == 1  # one message queued, not a backlog of 1000
    assert box.take().done == 999
    assert box.put(IndexState(done=1000)) is True  # read → the next put wakes the UI again


def test_latest_box_is_thread_safe() -> None:
    box = LatestBox()

    def worker(base: int) -> None:
        for n in range(500):
            box.put(IndexState(done=base + n))

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box.take().done % 1000 == 499


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "–"), (5, "5s"), (185, "3m 05s"), (3720, "1h 02m")]
)
def test_format_eta(seconds, text) -> None:
    assert format_eta(seconds) == text


def test_parse_filters_dates_and_inclusive_end() -> None:
    from huisou.tui.widgets.filter_bar import parse_filters

    f = parse_filters("2023", "2023-12", " /photos ", "pixel")
    assert (f.after, f.before, f.folder, f.camera) == ("2023", "2024-01", "/photos", "pixel")
    assert parse_filters("", "2024", "", "").before == "2025"
    assert parse_filters("", "2024-05-01", "", "").before > "2024-05-01T23:59:59"
    assert parse_filters("", "", "", "").is_empty()
    with pytest.raises(ValueError, match="from date '2023/05'"):
        parse_filters("2023/05", "", "", "")


def test_halfblock_two_pixels_per_cell() -> None:
    from huisou.tui.thumbnails import halfblock
    from PIL import Image

    image = Image.new("RGB", (4, 4), (255, 0, 0))
    image.paste((0, 0, 255), (0, 2, 4, 4))  # bottom half blue
    text = halfblock(image, 4, 1)
    assert text.plain == " ▀▀ "  # scaled to 2x2 px: 2 cells, one row, centred in 4
    style = text.spans[0].style
    assert style.color.triplet == (255, 0, 0) and style.bgcolor.triplet == (0, 0, 255)


def test_thumbnail_cache_decodes_once_and_evicts(tmp_path: Path) -> None:
    from huisou.tui.thumbnails import ThumbnailCache
    from PIL import Image

    paths = []
    for n in range(3):
        path = tmp_path / f"{n}.jpg"
        Image.new("RGB", (300, 200), (n * 80, 0, 0)).save(path)
        paths.append(str(path))
    cache = ThumbnailCache(host=None, capacity=2)
    assert cache.get(paths[0], 20, 20) is None
    thumb = cache.load(paths[0], 20, 20)
    assert max(thumb.size) <= 20 and thumb.mode == "RGB"
    cache.load(paths[0], 20, 20)
    assert cache.decodes == 1
    cache.load(paths[1], 20, 20)
    cache.load(paths[2], 20, 20)
    assert cache.get(paths[0], 20, 20) is None  # least recently used went first
    with pytest.raises(OSError):
        cache.load(str(tmp_path / "missing.jpg"), 20, 20)


def test_system_opener_prefers_termux_open(monkeypatch) -> None:
    from huisou.tui import opener

    available = {"xdg-open", "termux-open"}
    monkeypatch.setattr(opener.shutil, "which", lambda c: c if c in available else None)
    assert opener.SystemOpener().command == "termux-open"
    available = set()
    with pytest.raises(OSError, match="no system viewer"):
        opener.SystemOpener()("/x.jpg")


def test_termux_storage_detection(tmp_path: Path) -> None:
    from huisou.tui.environment import detect

    env = {"TERMUX_VERSION": "0.118"}
    missing = detect(env, home=tmp_path)
    assert missing.termux and not missing.storage_ok
    assert "termux-setup-storage" in missing.storage_hint
    (tmp_path / "storage" / "shared").mkdir(parents=True)
    assert detect(env, home=tmp_path).storage_hint is None
    desktop = detect({"PREFIX": "/usr"}, home=tmp_path)
    assert not desktop.termux and desktop.storage_hint is None


def test_models_list_marks_the_model_in_use(tmp_path: Path) -> None:
    from huisou.core.config import Config
    from huisou.tui.models_info import list_models

    config = Config(models_dir=str(tmp_path))
    entries = list_models(config, ("onnx-clip", "ViT-B-32__openai"))
    in_use = [e for e in entries if e.configured]
    assert [e.name for e in in_use] == ["ViT-B-32__openai"]
    assert in_use[0].size_bytes and not in_use[0].installed
    other = list_models(config, ("my-backend", "my-model"))
    assert other[0].name == "my-model" and other[0].configured


def test_palette_lists_every_action_and_android_when_registered() -> None:
    from huisou.tui.app import HuisouApp
    from huisou.tui.commands import palette_actions

    titles = [t for t, _h, _a in palette_actions(["folder"])]
    assert "Start indexing" in titles and "More like this" in titles
    assert "Add the Android camera roll" not in titles
    assert "Add the Android camera roll" in [t for t, _h, _a in palette_actions(["android"])]
    assert ("Panel: weather", "A screen added by a plugin", "app.open_panel('weather')") in list(
        palette_actions([], ["weather"])
    )
    for _title, _help, action in palette_actions(["android"], ["x"]):  # each action exists
        name = action.split(".", 1)[1].split("(")[0]
        assert hasattr(HuisouApp, f"action_{name}"), action


def test_result_prompt_shows_score_name_date_folder() -> None:
    from huisou.core.search import Hit
    from huisou.tui.widgets.result_list import hit_prompt

    hit = Hit(1, "/sdcard/DCIM/Camera/IMG_1.jpg", 0.4321, "2024-05-01T10:00:00", 10, 10,
              None, None)
    assert hit_prompt(0, hit).plain == " 0.43 IMG_1.jpg\n  2024-05-01 · Camera"


def test_termux_detection_closes_its_storage_listing(tmp_path: Path) -> None:
    import gc
    import warnings

    from huisou.tui.environment import detect

    (tmp_path / "storage" / "shared" / "DCIM").mkdir(parents=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = detect({"TERMUX_VERSION": "0.118"}, tmp_path)
        gc.collect()
    assert env.termux and env.storage_ok
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], caught


def test_add_source_reports_any_unreadable_folder_in_one_line(tmp_path: Path, monkeypatch) -> None:
    """A NAS folder failing with EIO is a message in the dialog, not a crashed TUI."""
    from huisou.core.errors import HuisouError
    from huisou.plugins.media_sources.folder import FolderSource
    from huisou.tui.screens import add_source

    def failing_scandir(path):
        raise OSError(5, "Input/output error", str(path))

    monkeypatch.setattr(add_source.os, "scandir", failing_scandir)
    with pytest.raises(HuisouError, match=f"cannot read {tmp_path}: Input/output error$"):
        add_source.resolve_root("folder", str(tmp_path), FolderSource, termux=False)
