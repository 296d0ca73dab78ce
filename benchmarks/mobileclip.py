#!/usr/bin/env python3
"""MobileCLIP-S0's image tower vs ViT-B/32 in ``huisou index``: photos/s and peak RSS (issue 12).

No MobileCLIP-S0 file can be fetched offline, so the model is built: open_clip's
``MobileCLIP2-S0`` architecture at random weights, whose image tower is MobileCLIP-S0's own
(timm ``fastvit_mci0`` = Apple's MCi0, 256 px), reparameterized as MobileCLIP is deployed
(MobileOne/RepMixer branches folded into single convolutions), exported by huisou's export
tool with a dynamic batch axis. Its text tower is *not* MobileCLIP-S0's: S0's "MCt" hybrid
text encoder is in Apple's ``ml-mobileclip`` package, not in open_clip 3.3, so the stand-in
carries MobileCLIP2-S0's 12-layer transformer. Indexing runs the image tower only, so
photos/s and peak RSS while indexing are S0's; the text tower's size is not.

Both models: real architecture, random weights (speed and memory do not depend on them),
int8 towers from huisou's own quantizer (``bench_models.quantize``). Runs alternate
(S0, B/32, B/32, S0, ...), each ``huisou index`` in a fresh process and library::

    python benchmarks/mobileclip.py --count 48 --repeats 3
    python benchmarks/mobileclip.py --smoke    # CI: the harness only, tiny test model twice
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_models  # noqa: E402
import indexing  # noqa: E402
import photos  # noqa: E402
from _bench_util import REPO, cache_dir, median, print_table, write_json  # noqa: E402

ARCH = "MobileCLIP2-S0"

#: Runs in the torch interpreter: huisou's export package loaded by path, as bench_models does.
_EXPORT_SNIPPET = r"""
import importlib.util, sys
from pathlib import Path
pkg = Path(sys.argv[1])
spec = importlib.util.spec_from_file_location(
    "huisou_export", pkg / "__init__.py", submodule_search_locations=[str(pkg)])
mod = importlib.util.module_from_spec(spec); sys.modules["huisou_export"] = mod
spec.loader.exec_module(mod)
import open_clip, torch
from timm.utils.model import reparameterize_model
torch.manual_seed(int(sys.argv[4]))
model, config, _ = mod.open_clip_export.load_open_clip(sys.argv[2], None)
model = reparameterize_model(model)  # deployed form: train-time branches folded
assert config["vision_cfg"]["timm_model_name"] == "fastvit_mci0", config["vision_cfg"]
mod.export_open_clip(model, open_clip.get_model_preprocess_cfg(model), None, sys.argv[3],
                     int(config["text_cfg"].get("context_length", 77)), model_config=config)
print("exported", sys.argv[3])
"""


def ensure_mobileclip() -> Path:
    """The cached MobileCLIP-S0 stand-in (fp32 + int8), built when absent."""
    path = cache_dir() / "models" / "MobileCLIP-S0-image-random"
    if not bench_models.is_complete(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".mobileclip-", dir=path.parent))
        try:
            subprocess.run([bench_models.torch_python(), "-c", _EXPORT_SNIPPET,
                            str(REPO / "plugins" / "clip_search" / "export"), ARCH, str(tmp),
                            str(bench_models.SEED)], check=True)
            if path.exists():
                shutil.rmtree(path)
            tmp.rename(path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if not bench_models.has_int8(path):
        bench_models.quantize(path)
    return path


def tower_facts(model: Path) -> dict[str, Any]:
    """File sizes and the quantizer's verdict, for the table."""
    sizes = {f"{t}/{name}": round((model / t / name).stat().st_size / 1e6, 1)
             for t in ("visual", "textual") for name in ("model.onnx", "model_int8.onnx")
             if (model / t / name).is_file()}
    record = model / "quantization.json"
    quant = json.loads(record.read_text()) if record.is_file() else {}
    return {"sizes_mb": sizes, "int8_recommended": quant.get("recommended"),
            "int8_checks": quant.get("checks")}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="12mp", help="photo set (12mp, phone, smoke)")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", default="int8,fp32")
    parser.add_argument("--smoke", action="store_true",
                        help="CI: the committed tiny model in both slots, 4 small photos")
    args = parser.parse_args(argv)
    if args.smoke:  # no torch in CI: exercises the harness, measures nothing
        args.set, args.count, args.repeats, args.precisions = "smoke", 4, 1, "int8"
        models = {"MobileCLIP-S0 (image tower)": bench_models.ensure_smoke(),
                  "ViT-B/32": bench_models.ensure_smoke()}
    else:
        models = {"MobileCLIP-S0 (image tower)": ensure_mobileclip(),
                  "ViT-B/32": bench_models.ensure("ViT-B-32")}
    folder = photos.photo_set(args.set, args.count)
    for path in folder.iterdir():  # page cache warm for every run alike
        path.read_bytes()
    variants = [(m, p) for m in models for p in args.precisions.split(",")]
    # One thread's decode and encoder CPU per photo for each (model, precision): where the
    # photos/s difference comes from (indexing._ceiling's measurement, batches of 16).
    parts = {f"{n} {p}": indexing.run_ceiling(folder, models[n], p, min(16, args.count))
             for n, p in variants}
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {v: [] for v in variants}
    loads = [os.getloadavg()]
    for r in range(args.repeats):
        for name, precision in (variants if r % 2 == 0 else variants[::-1]):
            result = indexing.run_huisou(folder, models[name], precision, args.count)
            runs[(name, precision)].append(result)
            print(f"  run {r + 1}/{args.repeats} {name} {precision}: "
                  f"{result['photos_per_s'] or 'FAILED ' + str(result['error'])} photos/s, "
                  f"{result['peak_rss_mb']} MB, load {result['load_avg_1min']}",
                  file=sys.stderr, flush=True)
    loads.append(os.getloadavg())
    summary = {f"{n} {p}": indexing.summarise(rs) for (n, p), rs in runs.items()}
    print_table(["model", "precision", "photos/s (median)", "CPU s", "peak RSS MB",
                 "decode ms (1 thread)", "encoder ms (1 thread)"],
                [[n, p, summary[f"{n} {p}"].get("photos_per_s"), summary[f"{n} {p}"].get("cpu_s"),
                  summary[f"{n} {p}"].get("peak_rss_mb"),
                  _ms(parts[f"{n} {p}"].get("decode_cpu_s")),
                  _ms(parts[f"{n} {p}"].get("encoder_cpu_s"))] for n, p in variants],
                title=f"huisou index, {args.count} photos ({args.set}), alternated, "
                      f"{args.repeats} rounds")
    ratios = {}
    for precision in args.precisions.split(","):
        a, b = runs[(next(iter(models)), precision)], runs[("ViT-B/32", precision)]
        pairs = [x["photos_per_s"] / y["photos_per_s"] for x, y in zip(a, b, strict=True)
                 if x["ok"] and y["ok"]]
        if pairs:
            ratios[precision] = {"paired_median": median(pairs), "rounds": pairs}
            print(f"MobileCLIP-S0 / ViT-B/32 photos/s, {precision}, paired: {median(pairs):.2f} "
                  f"(rounds {[round(x, 2) for x in pairs]})")
    facts = {name: tower_facts(path) for name, path in models.items()}
    print(f"load average (1, 5, 15 min) at start {loads[0]}, at end {loads[1]}")
    path = write_json("mobileclip-smoke" if args.smoke else "mobileclip", {
        "set": args.set, "count": args.count, "repeats": args.repeats,
        "models": {n: str(p) for n, p in models.items()}, "facts": facts,
        "variants": summary, "ratios": ratios, "ceiling_parts": parts, "load_avg": loads, "finished": time.time()})
    print(f"wrote {path}")
    return 0 if all(s.get("ok") for s in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
