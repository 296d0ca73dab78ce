"""Key-press latency of the TUI while a worker thread indexes (median and max, in ms).

Runs the real app headless (Textual's ``run_test``) on a generated library of coloured
photos with a CPU-bound fake embedding backend (numpy plus a pure-Python loop that holds the
GIL, the worst case for the UI thread). Keys are sent through the same driver path a
terminal uses; a key counts as handled when its effect (the highlighted result moved) is
visible to the app. Prints a baseline without indexing for comparison.

    python benchmarks/tui_latency.py [--photos 400] [--keys 40] [--smoke]

Writes ``benchmarks/out/tui_latency[-smoke].json`` (``HUISOU_BENCH_OUT`` overrides the folder).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar


def busy_plugin(ms_per_batch: float) -> Any:
    """Registers backend ``busy-fake``: the fake colour backend plus CPU work per batch."""
    from huisou import hookimpl
    from huisou.testing.fakes import FakeEmbeddingBackend

    class BusyFake(FakeEmbeddingBackend):
        backend_id: ClassVar[str] = "busy-fake"

        def embed_images(self, prepared: Any) -> Any:
            import numpy as np

            deadline = time.perf_counter() + ms_per_batch / 1000
            matrix = np.random.default_rng(0).random((192, 192), dtype=np.float32)
            spins = 0
            while time.perf_counter() < deadline:
                matrix = (matrix @ matrix) / 192.0  # releases the GIL
                spins += sum(i * i for i in range(2000))  # holds it
            return super().embed_images(prepared)

    class Plugin:
        @hookimpl
        def register_embedding_backends(self, register: Any) -> None:
            register(BusyFake)

    return Plugin()


def make_photos(folder: Path, count: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    colours = [(215, 25, 30), (30, 150, 40), (25, 40, 210)]
    for i in range(count):
        Image.new("RGB", (160, 120), colours[i % 3]).save(folder / f"p{i:04d}.jpg")


async def send_and_wait(app: Any, key: str, changed: Any, timeout: float = 5.0) -> float:
    """Send ``key`` through the driver; return seconds until ``changed()`` is true."""
    from textual import events

    event = events.Key(key, None)
    event.set_sender(app)
    started = time.perf_counter()
    app._driver.send_message(event)
    while not changed():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"key {key!r} not handled within {timeout}s")
        await asyncio.sleep(0.0005)
    return time.perf_counter() - started


async def measure(app: Any, pilot: Any, keys: int, *, while_indexing: bool) -> list[float]:
    """Alternate down/up on the results list, ``keys`` times; latencies in seconds."""
    screen = app.screen
    results = screen.query_one("#results")
    index_screen = app.area("index")
    latencies: list[float] = []
    for n in range(keys):
        if while_indexing and index_screen.idle.is_set():
            break
        before = results.highlighted
        key = "down" if n % 2 == 0 else "up"
        latencies.append(
            await send_and_wait(app, key, lambda b=before: results.highlighted != b)
        )
        await asyncio.sleep(0.02)
    return latencies


async def run(photos: int, keys: int, ms_per_batch: float) -> dict[str, list[float]]:
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.plugins import PluginHost
    from huisou.tui.app import create_app
    from huisou.tui.environment import Environment
    from huisou.tui.opener import RecordingOpener

    tmp = Path(tempfile.mkdtemp(prefix="huisou-latency-"))
    make_photos(tmp / "seed", 9)
    make_photos(tmp / "bulk", photos)
    host = PluginHost(load_entry_points=False)
    host.register(fakes, name="fakes")
    host.register(busy_plugin(ms_per_batch), name="busy")
    config = Config(db=str(tmp / "lib.db"), backend="busy-fake", store="memory", batch_size=4,
                    threads=2)
    app = create_app(config, host=host, opener=RecordingOpener(), environment=Environment(),
                     image_protocol=None)
    out: dict[str, list[float]] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        catalog = app.ctx.library.catalog
        catalog.add_source("folder", str(tmp / "seed"), {})
        index = await app._area("index")
        index.action_start()
        while not index.idle.is_set():
            await pilot.pause(0.05)
        await app.switch_mode("search")
        search = app.screen
        search.query_one("#query").value = "red"
        while len(search.last_hits) < 9:
            await pilot.pause(0.05)
        search.query_one("#results").focus()
        await pilot.pause(0.1)
        out["idle"] = await measure(app, pilot, keys, while_indexing=False)
        catalog.add_source("folder", str(tmp / "bulk"), {})
        index.action_start()
        while index.state.phase != "indexing":
            await asyncio.sleep(0.005)
        out["indexing"] = await measure(app, pilot, keys, while_indexing=True)
        out["ticks"] = [float(index.ticks)]
        index.action_cancel()
        while not index.idle.is_set():
            await pilot.pause(0.05)
    return out


def stats(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2),
            "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 2), "max_ms": round(ms[-1], 2)}


def summary(values: list[float]) -> str:
    s = stats(values)
    return (f"n={s['n']} median={s['median_ms']:.1f} ms p90={s['p90_ms']:.1f} ms "
            f"max={s['max_ms']:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--ms-per-batch", type=float, default=40.0)
    parser.add_argument("--smoke", action="store_true", help="CI size: 120 photos, 12 keys")
    args = parser.parse_args(argv)
    if args.smoke:
        args.photos, args.keys = 120, 12
    result = asyncio.run(run(args.photos, args.keys, args.ms_per_batch))
    print(f"idle:            {summary(result['idle'])}")
    print(f"while indexing:  {summary(result['indexing'])}")
    print(f"progress redraws during the run: {int(result['ticks'][0])}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import write_json

    path = write_json("tui_latency-smoke" if args.smoke else "tui_latency", {
        "photos": args.photos, "keys": args.keys, "ms_per_batch": args.ms_per_batch,
        "idle": stats(result["idle"]), "while_indexing": stats(result["indexing"]),
        "progress_redraws": int(result["ticks"][0]),
        "target": "key presses handled within 100 ms while indexing",
    })
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
