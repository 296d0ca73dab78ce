#!/usr/bin/env python3
"""Int8 vs fp32: cosine and recall@10 of the production backend, per quantization variant.

Why: ``precision=auto`` may only pick int8 where it holds accuracy, and ONNX Runtime's default
(signed QInt8 weights) is known to saturate on CPUs without VNNI. This script quantizes each
model with several ``quantize_dynamic`` settings (``huisou.plugins.clip_search.quantize``) and
compares the int8 towers against fp32 through ``OnnxClipBackend``, the code users run:

- ``img cos`` / ``txt cos``: cosine between int8 and fp32 vectors (min and mean);
- ``R@10 vs fp32``: for each caption query, the share of fp32's top-10 images that int8's
  top-10 also returns (how much search results move);
- ``R@10 labels`` (toy model only): share of the 10 best hits that have the queried colour and
  shape, fp32 -> int8 (real retrieval quality on a model that was trained);
- ``R@10 mixed``: int8 text queries against the fp32 image vectors (a library indexed at fp32
  and searched after ``huisou models quantize``, if both precisions shared one vector space),
  as the share of fp32's top-10 it returns, and the largest score change per pair;
- size of both towers and image throughput (batch 16).

Models: ``tests/models/tiny_clip`` (random weights), ``tests/models/toy_shapes`` (trained),
and real-size random-weight ViT-B-32/ViT-B-16 from ``~/.cache/huisou-bench/models`` when
``benchmarks/bench_models.py`` has built them. Quantized copies go to a temp dir (the fp32
files are symlinked), so nothing in the repo or the cache changes.

Usage: ``python benchmarks/quantization.py [--quick] [--smoke] [--models tiny_clip,...]``
Writes ``benchmarks/out/quantization[-smoke].json`` (``HUISOU_BENCH_OUT`` overrides the folder).
``--smoke``: the two committed test models, two variants, 36 shape pictures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("HUISOU_BENCH_OUT") or REPO / "benchmarks" / "out")
TEST_MODELS = REPO / "tests" / "models"
NATURAL = REPO / "tests" / "data" / "natural"
CACHE = Path(os.environ.get("HUISOU_BENCH_CACHE") or Path.home() / ".cache" / "huisou-bench")

VARIANTS = {
    "quint8": dict(weight_type="quint8"),
    "quint8+per_channel": dict(weight_type="quint8", per_channel=True),
    "qint8 (ORT default)": dict(weight_type="qint8"),
    "qint8+per_channel": dict(weight_type="qint8", per_channel=True),
    "qint8+reduce_range": dict(weight_type="qint8", reduce_range=True),
}


def natural_set() -> tuple[list[Image.Image], list[str]]:
    """Test photos plus crops/flips (so recall@10 ranks ~100 images), and their captions."""
    captions = json.loads((NATURAL / "captions.json").read_text(encoding="utf-8"))
    images: list[Image.Image] = []
    texts: list[str] = []
    for name, caps in sorted(captions.items()):
        path = NATURAL / name
        if not path.is_file():
            continue
        with Image.open(path) as im:
            img = ImageOps.exif_transpose(im).convert("RGB")
        w, h = img.size
        images += [img, ImageOps.mirror(img), img.rotate(90, expand=True)]
        for fx, fy in ((0, 0), (0.3, 0), (0, 0.3), (0.3, 0.3), (0.15, 0.15)):
            box = (int(fx * w), int(fy * h), int(fx * w + 0.7 * w), int(fy * h + 0.7 * h))
            images.append(img.crop(box))
        en = caps.get("en", []) if isinstance(caps, dict) else caps
        texts += [t for t in en if t.strip()]
        if isinstance(caps, dict) and isinstance(caps.get("zh"), str):
            texts.append(caps["zh"])
    from huisou.plugins.clip_search.quantize import check_images

    images += check_images(count=12)
    return images, texts


def shapes_set(n: int) -> tuple[list[Image.Image], list[str], list[str]]:
    sys.path.insert(0, str(TEST_MODELS))
    import shapes

    data = list(shapes.iter_dataset(n, seed=4242))
    queries = [f"{c} {s}" for c, s in shapes.all_classes()]
    return [img for img, _, _ in data], [f"{c} {s}" for _, c, s in data], queries


def link_model(src: Path, dst: Path) -> None:
    """A model dir whose fp32 files are symlinks to ``src`` (int8 files are written here)."""
    for rel in ("config.json", "textual/model.onnx", "textual/tokenizer.json",
                "textual/tokenizer_config.json", "visual/model.onnx", "visual/preprocess_cfg.json"):
        if (src / rel).exists():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            (dst / rel).symlink_to((src / rel).resolve())


def topk(img: np.ndarray, txt: np.ndarray, k: int = 10) -> np.ndarray:
    return np.argsort(-(txt @ img.T), axis=1)[:, :k]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)]))


def embed_timed(backend, prepared) -> tuple[np.ndarray, float]:
    backend.embed_images(prepared[:2])  # load + warm up
    started = time.perf_counter()
    vectors = np.concatenate([backend.embed_images(prepared[i:i + 16])
                              for i in range(0, len(prepared), 16)])
    return vectors, len(prepared) / (time.perf_counter() - started)


def bench_model(name: str, path: Path, variants: dict, threads: int, shapes_n: int) -> list[dict]:
    from huisou.plugins.clip_search.backend import OnnxClipBackend
    from huisou.plugins.clip_search.modeldir import ModelDir
    from huisou.plugins.clip_search.quantize import QuantOptions, quantize_model

    labels = None
    if name == "toy_shapes":
        images, labels, texts = shapes_set(shapes_n)
    else:
        images, texts = natural_set()
    fp32 = OnnxClipBackend(str(path), precision="fp32", threads=threads)
    prepared = [fp32.prepare_image(img) for img in images]
    img32, ips32 = embed_timed(fp32, prepared)
    txt32 = fp32.embed_texts(texts)
    fp32.release()
    top32 = topk(img32, txt32)
    size32 = sum((path / t / "model.onnx").stat().st_size for t in ("visual", "textual"))
    rows = []
    base = {"model": name, "images": len(images), "queries": len(texts)}

    def label_recall(top: np.ndarray) -> float | None:
        if labels is None:
            return None
        return float(np.mean([[labels[i] == q for i in row] for q, row in zip(texts, top, strict=True)]))

    rows.append({**base, "variant": "fp32", "img_cos_min": 1.0, "img_cos_mean": 1.0,
                 "txt_cos_min": 1.0, "txt_cos_mean": 1.0, "recall10_vs_fp32": 1.0,
                 "recall10_mixed_vs_fp32": 1.0, "recall10_labels_mixed": label_recall(top32),
                 "mixed_score_delta_max": 0.0,
                 "recall10_labels": label_recall(top32), "mb": size32 / 1e6,
                 "img_per_s": ips32, "quantize_s": 0.0})
    for variant, opts in variants.items():
        with tempfile.TemporaryDirectory(prefix="huisou-quant-") as tmp:
            qdir = Path(tmp) / name
            link_model(path, qdir)
            started = time.perf_counter()
            quantize_model(ModelDir.open(qdir), QuantOptions(**opts), threads=threads)
            qsec = time.perf_counter() - started
            int8 = OnnxClipBackend(str(qdir), precision="int8", threads=threads)
            img8, ips8 = embed_timed(int8, prepared)
            txt8 = int8.embed_texts(texts)
            int8.release()
            size8 = sum((qdir / t / "model_int8.onnx").stat().st_size
                        for t in ("visual", "textual"))
        ci, ct = np.sum(img8 * img32, 1), np.sum(txt8 * txt32, 1)
        top8 = topk(img8, txt8)
        mixed = topk(img32, txt8)
        delta = float(np.abs(txt8 @ img32.T - txt32 @ img32.T).max())
        rows.append({**base, "variant": variant,
                     "recall10_mixed_vs_fp32": overlap(top32, mixed),
                     "recall10_labels_mixed": label_recall(mixed),
                     "mixed_score_delta_max": delta,
                     "img_cos_min": float(ci.min()), "img_cos_mean": float(ci.mean()),
                     "txt_cos_min": float(ct.min()), "txt_cos_mean": float(ct.mean()),
                     "recall10_vs_fp32": overlap(top32, top8),
                     "recall10_labels": label_recall(top8), "mb": size8 / 1e6,
                     "img_per_s": ips8, "quantize_s": qsec})
        print(_fmt(rows[-1]), flush=True)
    return rows


HEADER = (f"{'model':18} {'variant':20} {'img cos min/mean':>17} {'txt cos min/mean':>17} "
          f"{'R@10 vs fp32':>12} {'R@10 labels':>11} {'R@10 mixed':>10} {'mixed labels':>12} "
          f"{'mixed dmax':>10} {'MB':>7} {'img/s':>7}")


def _fmt(r: dict) -> str:
    lab = "-" if r["recall10_labels"] is None else f"{r['recall10_labels']:.3f}"
    mixed_lab = ("-" if r["recall10_labels_mixed"] is None
                 else f"{r['recall10_labels_mixed']:.3f}")
    return (f"{r['model']:18} {r['variant']:20} {r['img_cos_min']:.4f}/{r['img_cos_mean']:.4f}  "
            f"{r['txt_cos_min']:.4f}/{r['txt_cos_mean']:.4f}  {r['recall10_vs_fp32']:12.3f} "
            f"{lab:>11} {r['recall10_mixed_vs_fp32']:10.3f} {mixed_lab:>12} "
            f"{r['mixed_score_delta_max']:10.4f} {r['mb']:7.1f} {r['img_per_s']:7.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="tiny_clip,toy_shapes,ViT-B-32-random",
                        help="comma-separated: tiny_clip, toy_shapes, or a cache model name")
    parser.add_argument("--quick", action="store_true", help="quint8 and ORT default only")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--shapes", type=int, default=180, help="toy-model pictures")
    parser.add_argument("--smoke", action="store_true", help="committed test models, quick")
    parser.add_argument("--out", default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    if args.smoke:
        args.models, args.quick, args.shapes = "tiny_clip,toy_shapes", True, 36
    args.out = args.out or str(OUT / ("quantization-smoke.json" if args.smoke else
                                      "quantization.json"))
    variants = ({k: VARIANTS[k] for k in ("quint8", "qint8 (ORT default)")}
                if args.quick else VARIANTS)
    rows: list[dict] = []
    print(HEADER, flush=True)
    for name in args.models.split(","):
        path = TEST_MODELS / name if (TEST_MODELS / name).is_dir() else CACHE / "models" / name
        if not (path / "config.json").is_file():
            print(f"{name}: not found ({path}); build it with benchmarks/bench_models.py",
                  file=sys.stderr)
            continue
        model_rows = bench_model(name, path, variants, args.threads, args.shapes)
        print(_fmt(model_rows[0]), flush=True)
        rows += model_rows
    import onnxruntime

    result = {
        "about": "int8 vs fp32 through OnnxClipBackend; see benchmarks/quantization.py",
        "machine": {"cpus": os.cpu_count(), "cpu": _cpu(), "python": platform.python_version(),
                    "onnxruntime": onnxruntime.__version__},
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
