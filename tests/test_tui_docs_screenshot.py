"""The README screenshot of the search screen (``docs/tui-search.svg``) and its generator.

The test renders the screenshot into a temporary folder and checks what it shows; run with
``HUISOU_WRITE_DOCS=1`` to also rewrite ``docs/tui-search.svg``. The photos are the natural
test photos; the ranking comes from the test colour backend (no model download needed), so
the query is a colour.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

from test_tui_support import make_app, make_config, make_host, wait_until

REPO = Path(__file__).resolve().parents[1]
NATURAL = Path(__file__).parent / "data" / "natural"
#: Fixed folder: its path is shown in the picture.
DEMO = Path("/tmp/huisou-demo")
QUERY = "orange"


def render_search_screenshot(out_dir: Path, filename: str = "tui-search.svg") -> Path:
    from huisou.core.indexer import Indexer

    shutil.rmtree(DEMO, ignore_errors=True)
    pictures = DEMO / "Pictures"
    pictures.mkdir(parents=True)
    for n, photo in enumerate(sorted(NATURAL.glob("*.[pj][np]g"))):
        target = pictures / photo.name
        shutil.copyfile(photo, target)
        stamp = 1714564800 + 86400 * 37 * n
        os.utime(target, (stamp, stamp))
    config = make_config(DEMO)
    host = make_host()
    app = make_app(config, host)
    library = app.ctx.new_library()
    library.catalog.add_source("folder", str(pictures), {})
    list(Indexer(library).run())
    library.close()

    async def body() -> Path:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: getattr(app.focused, "id", None) == "query")
            for box in app.screen.query("Input"):
                box.cursor_blink = False
            await pilot.press(*QUERY)
            screen = app.screen
            await wait_until(pilot, lambda: len(screen.last_hits) >= 5)
            await pilot.press("down")
            await app.workers.wait_for_complete()
            preview = screen.query_one("#preview")
            await wait_until(pilot, lambda: "loading" not in str(preview.render()))
            await pilot.pause(0.2)
            return Path(app.save_screenshot(filename=filename, path=str(out_dir)))

    try:
        return asyncio.run(body())
    finally:
        shutil.rmtree(DEMO, ignore_errors=True)


def test_search_screenshot_shows_results_and_preview(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        svg = render_search_screenshot(tmp_path).read_text(encoding="utf-8")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "results" in svg and "for" in svg and QUERY in svg
    assert "chelsea.png" in svg  # the orange cat ranks among the results
    assert svg.count("▀") > 200  # the half-block preview is drawn
    if os.environ.get("HUISOU_WRITE_DOCS"):
        (REPO / "docs").mkdir(exist_ok=True)
        (REPO / "docs" / "tui-search.svg").write_text(svg, encoding="utf-8")
