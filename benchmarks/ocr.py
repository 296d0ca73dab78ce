#!/usr/bin/env python3
"""Text in photos: what OCR adds to ``huisou index``, the gate's recall, memory, and the
``ocr`` signal's latency at 100k photos.

Library: about 20 % text photos (the shared text photos at phone size, two of them also at
12 MP) and 80 % without text (the natural test photos, generated phone-size and 12 MP photos:
``photos.py``). Each variant indexes a fresh library in its own process (peak RSS is that
process's), variants alternate, medians are reported:

* ``off``: ``--ocr off``, the baseline;
* ``auto``: ``--ocr auto`` with the model given, the real gate from an empty calibration;
* ``gated``: a *simulated* gate that already calibrated and tells text photos apart perfectly
  (scores from the file names, the real threshold and 5 % audit code): the cost OCR would add
  with a model that reads, which the toy and random-weight models cannot show, on a run after
  the model's first (its anchors already encoded by another process);
* ``all``: ``--ocr all``.

Signal: a catalog of 100k photos, 20 % with OCR text (Chinese and English lines), queried warm.

    python benchmarks/ocr.py [--model DIR] [--repeats 2] [--natural 40]
    python benchmarks/ocr.py --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _bench_util import (  # noqa: E402
    REPO,
    TEST_MODELS,
    cache_dir,
    median,
    print_table,
    run_child,
    write_json,
)

TEXT = REPO / "tests" / "data" / "text"
NATURAL = REPO / "tests" / "data" / "natural"
VARIANTS = ("off", "auto", "gated", "all")
#: Text photos also made at 12 MP (a phone camera's photo of a receipt, not a screenshot).
BIG_TEXT = ("receipt_coffee.jpg", "train_ticket.jpg")
SIGNAL_QUERIES = ("星巴克", "发票", "北京南站", "sunflower2024", "sunflower2O24",
                  "old man and the sea", "the", "不存在的词语", "G1234")


# -- the library ------------------------------------------------------------------------------

def build_photos(root: Path, natural: int, smoke: bool) -> dict[str, bool]:
    """``file name -> carries text`` of the mixed library made in ``root``."""
    from photos import photo_set
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    kinds: dict[str, bool] = {}
    texts = sorted(p for p in TEXT.iterdir() if p.suffix in (".jpg", ".png"))
    for path in texts[:2] if smoke else texts:
        shutil.copy(path, root / path.name)
        kinds[path.name] = True
    for name in () if smoke else BIG_TEXT:
        with Image.open(TEXT / name) as im:
            big = im.convert("RGB").resize((3000, 4000) if im.height > im.width else (4000, 3000))
        big.save(root / f"big_{name}", quality=90)
        kinds[f"big_{name}"] = True
    real = sorted(p for p in NATURAL.iterdir() if p.suffix in (".jpg", ".png"))
    plan = [("smoke", 2)] if smoke else [("phone", (natural - len(real)) // 2),
                                         ("12mp", natural - len(real) - (natural - len(real)) // 2)]
    for path in real[: 0 if smoke else natural]:
        shutil.copy(path, root / f"nat_{path.name}")
        kinds[f"nat_{path.name}"] = False
    for set_name, count in plan:
        for path in sorted(photo_set(set_name, count).glob("*.jpg"))[:count]:
            shutil.copy(path, root / f"{set_name}_{path.name}")
            kinds[f"{set_name}_{path.name}"] = False
    return kinds


def child_index(args: argparse.Namespace) -> None:
    """One variant in this process: index ``args.photos`` into a new library, print JSON."""
    os.environ["HUISOU_HOME"] = args.home
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.plugins import PluginHost

    kinds = json.loads(Path(args.kinds).read_text())
    mode = "auto" if args.child == "gated" else args.child
    config = Config(db=str(Path(args.home) / "lib.db"), backend="onnx-clip", model=args.model,
                    precision=args.precision, ocr=mode, models_dir=str(Path(args.home) / "m"))
    library = Library(config, PluginHost(load_entry_points=False))
    if args.prepare_gate:
        _calibrated_state(library)
        print(json.dumps({"prepared": True}))
        return
    library.catalog.add_source("folder", args.photos)
    if args.child == "gated":
        _simulate_gate(library, kinds)
    started = time.perf_counter()
    summary = list(Indexer(library).run())[-1]
    seconds = time.perf_counter() - started
    read = _read(library)
    text = [name for name, has_text in kinds.items() if has_text]
    print(json.dumps({
        "seconds": seconds, "indexed": summary.indexed, "failed": summary.failed,
        "read": len(read), "text_read": sum(n in read for n in text),
        "text_photos": len(text), "photos": len(kinds),
    }))


def _simulate_gate(library: Any, kinds: dict[str, bool]) -> None:
    """A gate already calibrated on this library (samples from a perfect model), scoring each
    photo from its file name: what OCR costs when the image model can tell text photos."""
    import threading

    from huisou.plugins.ocr.calibration import GateState
    from huisou.plugins.ocr.extractor import OcrExtractor

    original = OcrExtractor.extract_image
    photo = threading.local()  # extract_image runs on several threads at once

    def oracle(self: Any, item: Any, decoded: Any, vector: Any) -> Any:
        photo.score = 1.0 if kinds.get(Path(item.path).name) else -1.0
        return original(self, item, decoded, vector)

    OcrExtractor.extract_image = oracle  # type: ignore[method-assign]
    GateState.score = lambda self, vector: photo.score  # type: ignore[method-assign]


def _calibrated_state(library: Any) -> None:
    """The gate's file as a library that already calibrated leaves it (anchors encoded, photos
    read): made by another process, so the measured one never loads the text encoder, as on
    every run after a model's first."""
    from huisou.plugins.ocr import calibration

    state = calibration.GateState.load(str(library.config.db_path), library.backend)
    for i in range(40):
        state.add(1.0 - i * 0.001, True)
        state.add(-1.0 + i * 0.001, False)
    state.save()


def _read(library: Any) -> set[str]:
    """Names of the photos OCR read (status ``read: ...``)."""
    rows = library.catalog.conn.execute(
        "SELECT i.name FROM field_values v JOIN items i ON i.id = v.item_id "
        "WHERE v.field = 'ocr_status' AND v.value LIKE 'read:%'")
    return {r[0] for r in rows}


def indexing(model: str, precision: str, repeats: int, natural: int, smoke: bool,
             variants: tuple[str, ...]) -> dict[str, Any]:
    work = cache_dir("ocr")
    photos = work / ("photos-smoke" if smoke else f"photos-{natural}")
    kinds_path = photos.with_suffix(".json")
    if not kinds_path.exists():
        shutil.rmtree(photos, ignore_errors=True)
        kinds_path.write_text(json.dumps(build_photos(photos, natural, smoke)))
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for repeat in range(repeats):
        for variant in variants:
            home = work / f"home-{variant}"
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant,
                   "--photos", str(photos), "--kinds", str(kinds_path), "--home", str(home),
                   "--model", model, "--precision", precision]
            if variant == "gated":
                run_child([*cmd, "--prepare-gate"], timeout=600).json()
            child = run_child(cmd, timeout=3600)
            result = child.json()
            result.update(peak_rss_mb=child.peak_rss_mb, cpu_s=child.cpu)
            runs[variant].append(result)
            print(f"[{repeat + 1}/{repeats}] {variant}: {result['seconds']:.1f}s, "
                  f"read {result['read']}/{result['photos']}, "
                  f"{child.peak_rss_mb:.0f} MB", file=sys.stderr)
    base = median([r["seconds"] for r in runs["off"]]) if "off" in runs else float("nan")
    base_cpu = median([r["cpu_s"] for r in runs["off"]]) if "off" in runs else float("nan")
    rows, summary = [], {}
    for variant, results in runs.items():
        seconds = median([r["seconds"] for r in results])
        first = results[0]
        summary[variant] = {
            "seconds_median": seconds, "vs_off": seconds / base - 1,
            "cpu_vs_off": median([r["cpu_s"] for r in results]) / base_cpu - 1,
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in results),
            "cpu_s_median": median([r["cpu_s"] for r in results]),
            "read": first["read"], "photos": first["photos"],
            "gate_recall": first["text_read"] / max(first["text_photos"], 1),
            "runs": results,
        }
        cpu = summary[variant]["cpu_s_median"]
        rows.append([variant, seconds, f"{seconds / base - 1:+.0%}", cpu,
                     f"{cpu / base_cpu - 1:+.0%}", first["read"],
                     f"{first['text_read']}/{first['text_photos']}",
                     summary[variant]["peak_rss_mb_max"]])
    print_table(["variant", "index s (median)", "vs off", "CPU s (median)", "CPU vs off",
                 "photos OCR'd", "text photos OCR'd",
                 "peak RSS MB"], rows, f"huisou index with OCR, model {Path(model).name}")
    return {"photos": first["photos"], "text_photos": first["text_photos"], "model": model,
            "precision": precision, "repeats": repeats, "variants": summary}


# -- the signal -------------------------------------------------------------------------------

def build_catalog(home: Path, items: int, share: float) -> None:
    """A library of ``items`` photos, ``share`` of them with OCR text, through core's API."""
    os.environ["HUISOU_HOME"] = str(home)
    from huisou.core import field_store
    from huisou.core.config import Config
    from huisou.core.fields import coerce
    from huisou.core.library import Library
    from huisou.core.plugins import PluginHost

    library = Library(Config(db=str(home / "lib.db"), backend="fake", store="memory"),
                      PluginHost(load_entry_points=False))
    catalog = library.catalog
    fields = library.host.fields()
    with catalog.transaction() as conn:
        field_store.record_declarations(conn, fields.values())
    source = catalog.add_source("folder", "/bench/ocr", {})
    rng = random.Random(5)
    for start in range(0, items, 5000):
        with catalog.transaction() as conn:
            for i in range(start, min(start + 5000, items)):
                item_id = catalog.upsert_item(
                    source_id=source, path=f"/bench/ocr/{i // 1000:04d}/IMG_{i:07d}.jpg",
                    size=1000 + i, mtime_ns=i, status="indexed", content_hash=f"{i:032x}")
                if rng.random() < share:
                    text = "\n".join(_line(rng) for _ in range(rng.randint(1, 8)))
                    rows = coerce(fields["ocr_text"], text)
                    field_store.replace_values(conn, item_id, {"ocr_text": ("ocr", rows)})
    library.close()


_ZH = ("星巴克咖啡", "增值税发票", "北京南站", "上海虹桥", "居民身份证", "营业时间", "合计",
       "明天晚上回家吃饭", "老北京炸酱面", "二等座", "停车场", "出口", "欢迎光临", "会员卡")
_EN = ("THANK YOU", "Total", "Password", "WiFi", "Chapter", "the", "old", "man", "sea", "Exit",
       "Open", "Coffee", "Receipt", "Invoice", "Station", "Ticket", "Menu", "Sale", "Street")


def _line(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(_ZH) + (f" ¥{rng.randint(1, 999)}.00" if rng.random() < 0.4 else "")
    words = [rng.choice(_EN) for _ in range(rng.randint(1, 6))]
    if rng.random() < 0.05:
        words.append(f"sunflower{rng.randint(1000, 9999)}")
    return " ".join(words)


def signal(items: int, repeats: int) -> dict[str, Any]:
    from huisou.core.config import Config
    from huisou.core.interfaces import SignalQuery
    from huisou.core.library import Library
    from huisou.core.plugins import PluginHost
    from huisou.plugins.ocr.signal import OcrSignal

    home = cache_dir("ocr", f"signal-{items}")
    if not (home / "built").exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        build_catalog(home, items, 0.2)
        (home / "built").write_text("ok\n")
    os.environ["HUISOU_HOME"] = str(home)
    library = Library(Config(db=str(home / "lib.db"), backend="fake", store="memory"),
                      PluginHost(load_entry_points=False))
    ocr = OcrSignal()
    candidates = frozenset(range(1, min(items, 1000) + 1))
    rows, out = [], {}
    for query in SIGNAL_QUERIES:
        for label, allowed in (("all", None), ("1k candidates", candidates)):
            request = SignalQuery(query, library.catalog, allowed, 100)
            ocr.match(request)  # warm
            times, cpu = [], []
            for _ in range(repeats):
                started, started_cpu = time.perf_counter(), time.thread_time()
                found = ocr.match(request)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.thread_time() - started_cpu) * 1000)
            out[f"{query} | {label}"] = {"ms_median": median(times), "ms_max": max(times),
                                         "cpu_ms_median": median(cpu), "matches": len(found)}
            rows.append([query, label, median(times), median(cpu), max(times), len(found)])
    library.close()
    print_table(["query", "photos", "ms median", "CPU ms median", "ms max", "matches"], rows,
                f"ocr signal, warm, {items} photos (20 % with text)")
    return {"items": items, "queries": out, "load_avg": os.getloadavg(),
            "worst_median_ms": max(v["ms_median"] for v in out.values()),
            "worst_cpu_median_ms": max(v["cpu_ms_median"] for v in out.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(TEST_MODELS / "toy_shapes"))
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--natural", type=int, default=40, help="photos without text")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--signal-items", type=int, default=100_000)
    parser.add_argument("--skip-indexing", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="4 photos, 2k items (CI)")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--photos", help=argparse.SUPPRESS)
    parser.add_argument("--kinds", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--prepare-gate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_index(args)
        return 0
    result: dict[str, Any] = {"nice": os.nice(0)}
    if args.smoke:
        args.repeats, args.signal_items = 1, 2000
    variants = tuple(v for v in args.variants.split(",") if v in VARIANTS)
    if not args.skip_indexing:
        result["indexing"] = indexing(args.model, args.precision, args.repeats, args.natural,
                                      args.smoke, ("off", "all") if args.smoke else variants)
    result["signal"] = signal(args.signal_items, 5 if args.smoke else 30)
    path = write_json("ocr" if not args.smoke else "ocr-smoke", result)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
