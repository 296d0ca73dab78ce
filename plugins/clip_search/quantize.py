"""Int8 dynamic quantization of both towers, written beside the fp32 files, then measured.

``huisou models quantize NAME`` writes ``visual/model_int8.onnx`` and
``textual/model_int8.onnx`` with ``onnxruntime.quantization.quantize_dynamic`` and then
*measures* them: the production backend embeds a fixed check set (synthetic pictures and
captions, no model-specific data) at fp32 and at int8, and the cosine between the two is
recorded in ``quantization.json``. ``precision=auto`` picks int8 only when that record says
``recommended`` (see backend.py), so int8 is the default where it was shown to hold, not
assumed.

Weight type (``auto``): signed QInt8 weights (ORT's U8S8 kernels) saturate on x86 CPUs without
VNNI and lost accuracy on image towers there (ARCHITECTURE.md section 6: cosine 0.989-0.995),
while unsigned QUInt8 weights kept 0.9995+. With VNNI (or on ARM64) U8S8 has no saturation and
is the faster kernel (measured here on an AVX512-VNNI CPU: ViT-B/32 image tower QInt8 4.9 vs
QUInt8 3.7 img/s, same cosine 0.9998). So ``auto`` = QInt8 on VNNI x86 and ARM64, QUInt8 on
other x86. ``benchmarks/quantization.py`` compares the variants on the repo's models.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from huisou.core.errors import HuisouError
from huisou.plugins.clip_search.modeldir import QUANT_RECORD, TOWERS, ModelDir

#: int8 is recommended when every check vector keeps at least this cosine with fp32.
MIN_COSINE = 0.99
#: ... and the mean over the check set is at least this.
MIN_MEAN_COSINE = 0.995

CHECK_TEXTS: tuple[str, ...] = (
    "a dog on a beach at sunset",
    "a red circle",
    "a blue square on a grey background",
    "receipt from a restaurant",
    "mountain road with green trees",
    "a group of people at a wedding",
    "a cat sleeping on a sofa",
    "snow covered city street at night",
    "close-up of a yellow flower",
    "a passport photo page",
    "birthday cake with candles",
    "an old brick wall",
)


@dataclass
class QuantOptions:
    """Arguments of ``quantize_dynamic`` that change accuracy."""

    weight_type: str = "auto"  # "auto", "quint8" or "qint8"
    per_channel: bool = False
    reduce_range: bool = False


def default_weight_type(machine: str | None = None, cpuinfo: str | None = None) -> str:
    """``qint8`` where U8S8 kernels are exact and fast (x86 with VNNI, ARM64), else ``quint8``."""
    import platform

    machine = (machine or platform.machine()).lower()
    if machine in ("aarch64", "arm64"):
        return "qint8"
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as fh:
                cpuinfo = fh.read()
        except OSError:
            return "quint8"
    flags = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "").split()
    return "qint8" if ("avx512_vnni" in flags or "avx_vnni" in flags) else "quint8"


def check_images(count: int = 12, size: int = 256, seed: int = 7) -> list[Any]:
    """Deterministic synthetic pictures: smooth colour fields with shapes and noise."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        yy, xx = np.mgrid[0:size, 0:size] / size
        base = np.stack(
            [np.clip(rng.uniform() + rng.uniform(-1, 1) * xx + rng.uniform(-1, 1) * yy, 0, 1)
             for _ in range(3)], axis=-1,
        )
        noise = rng.normal(0, 0.04, base.shape)
        img = Image.fromarray((np.clip(base + noise, 0, 1) * 255).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        for _ in range(3):
            x0, y0 = rng.integers(0, size - 40, 2)
            w, h = rng.integers(20, size // 2, 2)
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            box = [int(x0), int(y0), int(x0 + w), int(y0 + h)]
            (draw.ellipse if rng.uniform() < 0.5 else draw.rectangle)(box, fill=colour)
        images.append(img)
    return images


def _cosines(a: Any, b: Any) -> Any:
    import numpy as np

    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def measure(model_dir: ModelDir, threads: int = 0) -> dict[str, Any]:
    """Cosine between fp32 and int8 embeddings of the check set, per tower."""
    from huisou.plugins.clip_search.backend import OnnxClipBackend

    path = str(model_dir.path)
    backends: list[OnnxClipBackend] = []
    try:
        fp32 = OnnxClipBackend(path, precision="fp32", threads=threads)
        backends.append(fp32)
        int8 = OnnxClipBackend(path, precision="int8", threads=threads)
        backends.append(int8)
        images = check_images()
        prepared = [fp32.prepare_image(img) for img in images]
        result: dict[str, Any] = {}
        for tower, run in (
            ("visual", lambda b: b.embed_images(prepared)),
            ("textual", lambda b: b.embed_texts(list(CHECK_TEXTS))),
        ):
            cos = _cosines(run(fp32), run(int8))
            result[tower] = {"min_cosine": round(float(cos.min()), 6),
                             "mean_cosine": round(float(cos.mean()), 6)}
        return result
    finally:  # four sessions (~1.4 GB for ViT-B/32): never leave them to a failed run
        for backend in backends:
            backend.release()


def quantize_model(
    model_dir: ModelDir, options: QuantOptions | None = None, threads: int = 0
) -> dict[str, Any]:
    """Write both int8 towers (atomically), measure them, write ``quantization.json``."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # onnxruntime.quantization needs the ``onnx`` package
        raise HuisouError(f"quantization needs the onnx package: pip install onnx ({exc})") from None
    options = options or QuantOptions()
    if options.weight_type == "auto":
        options = QuantOptions(default_weight_type(), options.per_channel, options.reduce_range)
    weight_type = {"quint8": QuantType.QUInt8, "qint8": QuantType.QInt8}.get(options.weight_type)
    if weight_type is None:
        raise HuisouError(f"weight type {options.weight_type!r}: expected auto, quint8 or qint8")
    sizes: dict[str, dict[str, int]] = {}
    started = time.perf_counter()
    # The old record measured the old int8 files: until the new ones are measured, nothing
    # may recommend them (precision auto would pick unmeasured towers after a failed run).
    (Path(model_dir.path) / QUANT_RECORD).unlink(missing_ok=True)
    for tower in TOWERS:
        src = model_dir.onnx_path(tower, "fp32")
        dst = model_dir.onnx_path(tower, "int8")
        tmp = dst.with_name(dst.stem + ".tmp.onnx")
        folded = dst.with_name(dst.stem + ".folded.onnx")
        try:
            fold_constants(src, folded)
            with _quiet_root_logger():  # ORT logs a "consider pre-processing" hint per file
                quantize_dynamic(
                    str(folded), str(tmp), weight_type=weight_type,
                    per_channel=options.per_channel, reduce_range=options.reduce_range,
                )
            os.replace(tmp, dst)
        except Exception as exc:
            raise HuisouError(f"cannot quantize {src}: {type(exc).__name__}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
            folded.unlink(missing_ok=True)
        sizes[tower] = {"fp32_bytes": src.stat().st_size, "int8_bytes": dst.stat().st_size}
    seconds = time.perf_counter() - started
    checks = measure(model_dir, threads)
    recommended = all(
        c["min_cosine"] >= MIN_COSINE and c["mean_cosine"] >= MIN_MEAN_COSINE
        for c in checks.values()
    )
    record = {
        "options": asdict(options),
        "sizes": sizes,
        "checks": checks,
        "thresholds": {"min_cosine": MIN_COSINE, "mean_cosine": MIN_MEAN_COSINE},
        "recommended": recommended,
        "quantize_seconds": round(seconds, 2),
        "check_set": f"{len(CHECK_TEXTS)} captions + 12 synthetic pictures (quantize.py)",
    }
    path = Path(model_dir.path) / QUANT_RECORD
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return record


def fold_constants(src: Path, dest: Path) -> None:
    """Save ``src`` through ONNX Runtime's basic (standard-ONNX) optimizer.

    Exports made with ``do_constant_folding=False`` (Chinese-CLIP's vision tower) keep each
    weight behind a Transpose node, and ``quantize_dynamic`` only quantizes MatMuls whose
    weight is an initializer: unfolded, its int8 image tower stays 321 of 345 MB; folded,
    87 MB (models-pinned.md). Folding changes no result.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(dest)
    ort.InferenceSession(str(src), sess_options=options, providers=["CPUExecutionProvider"])


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def remove_int8(model_dir: ModelDir) -> None:
    for tower in TOWERS:
        model_dir.onnx_path(tower, "int8").unlink(missing_ok=True)
    (Path(model_dir.path) / QUANT_RECORD).unlink(missing_ok=True)
