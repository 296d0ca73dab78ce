#!/usr/bin/env python3
"""Build (once) and cache the benchmark models: real CLIP architectures, random weights.

Why random weights: speed and memory do not depend on weight values, and nothing has to be
downloaded. The models are exported with the repository's own export tool
(``huisou.plugins.clip_search.export``) in the Immich model-directory layout, then both towers
are int8-quantized next to the fp32 files (``*/model_int8.onnx``), and cached outside the
repository (``~/.cache/huisou-bench/models/ViT-B-32-random/``), never committed.

torch + open_clip are a dev-only dependency: the export runs in a separate interpreter that
has them (``HUISOU_BENCH_TORCH_PYTHON``, default ``/work/venv-torch/bin/python`` when present,
else this interpreter). Usage::

    python benchmarks/bench_models.py                      # ViT-B-32 (fp32 + int8)
    python benchmarks/bench_models.py --arch ViT-B-16
    python benchmarks/bench_models.py --smoke              # the committed tiny test model only
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_util import REPO, TEST_MODELS, cache_dir  # noqa: E402

REQUIRED = ("config.json", "visual/model.onnx", "visual/preprocess_cfg.json",
            "textual/model.onnx", "textual/tokenizer.json")
SEED = 20261127

#: Runs inside the torch interpreter: import the export package by path (that interpreter need
#: not have huisou installed), seed torch, export with random weights (pretrained=None).
_EXPORT_SNIPPET = r"""
import importlib.util, sys
from pathlib import Path
pkg = Path(sys.argv[1])
spec = importlib.util.spec_from_file_location(
    "huisou_export", pkg / "__init__.py", submodule_search_locations=[str(pkg)])
mod = importlib.util.module_from_spec(spec); sys.modules["huisou_export"] = mod
spec.loader.exec_module(mod)
import torch
torch.manual_seed(int(sys.argv[4]))
mod.export_checkpoint(sys.argv[2], None, sys.argv[3])
print("exported", sys.argv[3])
"""


def torch_python() -> str:
    """The interpreter with torch + open_clip (dev-only), never the system one by default."""
    env = os.environ.get("HUISOU_BENCH_TORCH_PYTHON")
    if env:
        return env
    default = Path("/work/venv-torch/bin/python")
    return str(default) if default.exists() else sys.executable


def is_complete(path: Path) -> bool:
    return all((path / rel).is_file() for rel in REQUIRED)


def has_int8(path: Path) -> bool:
    return all((path / t / "model_int8.onnx").is_file() for t in ("visual", "textual"))


def model_dir(arch: str) -> Path:
    return cache_dir() / "models" / f"{arch}-random"


def export_random(arch: str, out: Path) -> None:
    """Export ``arch`` with random weights into ``out`` (atomic: a temp dir then rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{arch}-", dir=out.parent))
    started = time.monotonic()
    try:
        cmd = [torch_python(), "-c", _EXPORT_SNIPPET,
               str(REPO / "plugins" / "clip_search" / "export"), arch, str(tmp), str(SEED)]
        print(f"exporting {arch} with random weights via {cmd[0]} ...", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
        if not is_complete(tmp):
            raise SystemExit(f"export of {arch} left an incomplete directory {tmp}")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"exported {arch} in {time.monotonic() - started:.0f}s -> {out}", file=sys.stderr)


def quantize(path: Path) -> str:
    """Write ``visual/model_int8.onnx`` and ``textual/model_int8.onnx``; return the method.

    Uses the project's own quantizer when it exists (``huisou models quantize``), so the
    benchmark measures exactly what users get; otherwise ONNX Runtime's dynamic quantization
    with per-channel QInt8 weights and ``reduce_range`` (ARCHITECTURE.md section 6: the plain
    default saturates on AVX2 CPUs without VNNI). The project's quantizer also writes
    ``quantization.json`` (fp32-vs-int8 cosine), which the benchmarks quote.
    """
    project = _project_quantizer()
    if project is not None:
        project(path)
        if has_int8(path):
            return "huisou"
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for tower in ("visual", "textual"):
        src = path / tower / "model.onnx"
        dst = path / tower / "model_int8.onnx"
        tmp = dst.with_suffix(".tmp.onnx")
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8,
                         per_channel=True, reduce_range=True)
        tmp.replace(dst)
    return "onnxruntime.quantize_dynamic(QInt8, per_channel, reduce_range)"


def _project_quantizer():  # -> Callable[[Path], None] | None
    """``huisou models quantize``'s function (default options) when it exists."""
    try:
        from huisou.plugins.clip_search.modeldir import ModelDir
        from huisou.plugins.clip_search.quantize import quantize_model
    except ImportError:
        return None
    return lambda path: quantize_model(ModelDir.open(path))


def ensure(arch: str = "ViT-B-32", int8: bool = True) -> Path:
    """The cached model directory for ``arch``, built when absent."""
    path = model_dir(arch)
    if not is_complete(path):
        export_random(arch, path)
    if int8 and not has_int8(path):
        started = time.monotonic()
        method = quantize(path)
        (path / "bench-int8.json").write_text(json.dumps({"method": method}) + "\n")
        print(f"quantized {arch} ({method}) in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return path


def ensure_smoke(int8: bool = True) -> Path:
    """A copy of the committed tiny test model (no torch), quantized in the cache dir."""
    path = cache_dir() / "models" / "tiny_clip-smoke"
    if not is_complete(path):
        if path.exists():
            shutil.rmtree(path)
        shutil.copytree(TEST_MODELS / "tiny_clip", path)
    if int8 and not has_int8(path):
        quantize(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", action="append", help="open_clip architecture (repeatable)")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 towers")
    parser.add_argument("--smoke", action="store_true", help="tiny committed model, no torch")
    args = parser.parse_args(argv)
    if args.smoke:
        print(ensure_smoke(not args.no_int8))
        return 0
    for arch in args.arch or ["ViT-B-32"]:
        print(ensure(arch, not args.no_int8))
    return 0


if __name__ == "__main__":
    sys.exit(main())
