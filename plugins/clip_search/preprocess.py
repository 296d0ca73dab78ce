"""Image preprocessing from ``visual/preprocess_cfg.json``, in Pillow + numpy, as open_clip does it.

Why exact: CLIP vectors move with every pixel of the 224 px input, and a model's recall was
measured with open_clip's eval transform (torchvision ``Resize`` + ``CenterCrop`` on a PIL
image, ``ToTensor``, ``Normalize``). The tiny-model parity test holds this module to cosine
> 0.9999 against torch. Differences from Immich's loader, on purpose: the centre-crop offsets
use torchvision's ``int(round(...))`` (Immich truncates), and odd image modes (16-bit, float,
palette with transparency, CMYK) are converted to 8-bit RGB explicitly.

Thread-safe: pure functions over an immutable config; runs on the decode-pool threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from huisou.core.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover - types only
    import numpy as np
    from PIL import Image

#: open_clip's OPENAI_DATASET_MEAN / STD: the defaults when a config leaves them out.
DEFAULT_MEAN = (0.48145466, 0.4578275, 0.40821073)
DEFAULT_STD = (0.26862954, 0.26130258, 0.27577711)
RESIZE_MODES = ("shortest", "squash")


#: Pillow's resampling filters, by the lowercase names preprocess_cfg.json uses.
INTERPOLATIONS = ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")
#: Input sizes a CLIP model can have; beyond them a batch would not fit in memory
#: (``size: [100000, 100000]`` is 120 GB per image) and the file is wrong.
MIN_SIZE, MAX_SIZE = 8, 1024


@dataclass(frozen=True)
class PreprocessConfig:
    """The parts of ``preprocess_cfg.json`` that change pixels."""

    size: int
    mean: tuple[float, float, float] = DEFAULT_MEAN
    std: tuple[float, float, float] = DEFAULT_STD
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"

    @classmethod
    def from_json(
        cls, cfg: dict[str, Any], default_size: int = 224, source: str = "preprocess_cfg.json"
    ) -> PreprocessConfig:
        """Parse Immich's file: ``size`` int or square list, interpolation by PIL name.

        Every value is checked here, once, so a broken file stops with one line naming it
        and the key (``source``) instead of failing on every photo.
        """
        if not isinstance(cfg, dict):
            raise ModelError(f"{source}: not a JSON object")
        size = cfg.get("size", default_size)
        if isinstance(size, (list, tuple)) and size and len(size) <= 2:
            if len(set(map(repr, size))) != 1:
                raise ModelError(f"{source}: size {size!r}: only square inputs are supported")
            size = size[0]
        check_size(size, f"{source}: size")
        mode = cfg.get("resize_mode") or "shortest"
        if not isinstance(mode, str) or mode.lower() not in RESIZE_MODES:
            raise ModelError(
                f"{source}: resize_mode {mode!r} is not supported "
                f"(expected one of {', '.join(RESIZE_MODES)})"
            )
        interpolation = cfg.get("interpolation") or "bicubic"
        if not isinstance(interpolation, str) or interpolation.lower() not in INTERPOLATIONS:
            raise ModelError(
                f"{source}: unknown interpolation {interpolation!r} "
                f"(expected one of {', '.join(INTERPOLATIONS)})"
            )
        if cfg.get("mode", "RGB") != "RGB":
            raise ModelError(f"{source}: mode {cfg.get('mode')!r} is not supported (RGB only)")
        mean = _triple(cfg.get("mean", DEFAULT_MEAN), f"{source}: mean", positive=False)
        std = _triple(cfg.get("std", DEFAULT_STD), f"{source}: std", positive=True)
        return cls(size, mean, std, interpolation.lower(), mode.lower())


def check_size(value: Any, where: str) -> int:
    """An input size in pixels, a whole number within ``MIN_SIZE..MAX_SIZE``."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_SIZE <= value <= MAX_SIZE:
        raise ModelError(
            f"{where} must be a whole number from {MIN_SIZE} to {MAX_SIZE}, got {value!r}"
        )
    return value


def _triple(value: Any, where: str, positive: bool) -> tuple[float, float, float]:
    """Three finite numbers (one per RGB channel); ``positive`` for divisors (std)."""
    ok = isinstance(value, (list, tuple)) and len(value) == 3
    numbers = [v for v in value if _is_number(v)] if ok else []
    if not ok or len(numbers) != 3 or any(abs(v) > 1e3 for v in numbers):
        raise ModelError(f"{where} must be 3 finite numbers (R, G, B), got {value!r}")
    if positive and any(v <= 0 for v in numbers):
        raise ModelError(f"{where} must be 3 numbers above 0 (R, G, B), got {value!r}")
    return (float(numbers[0]), float(numbers[1]), float(numbers[2]))


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _resample(name: str) -> Any:
    from PIL import Image

    return Image.Resampling[name.upper()]


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB from any Pillow mode, without warnings or clipped 16-bit values.

    ``convert("RGB")`` is what the reference uses for ordinary modes (L, RGBA, CMYK, YCbCr),
    so those go straight through; 16-bit and float greyscale would be clipped at 255 by a
    plain convert, so they are rescaled by their bit depth first.
    """
    import numpy as np
    from PIL import Image

    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        return image.convert("RGBA").convert("RGB")
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        # 16-bit data (PNG I;16, or mode I/F holding values above 255) -> 0..255.
        sixteen_bit = mode.startswith("I;16") or (arr.size > 0 and float(arr.max()) > 255.0)
        scaled = np.clip(arr / 257.0 if sixteen_bit else arr, 0, 255).round().astype(np.uint8)
        return Image.fromarray(scaled).convert("RGB")
    return image.convert("RGB")


def resize_crop(image: Image.Image, cfg: PreprocessConfig) -> Image.Image:
    """Resize (and centre-crop) an RGB image to ``size x size`` as torchvision does on PIL."""
    size = cfg.size
    resample = _resample(cfg.interpolation)
    width, height = image.size
    if cfg.resize_mode == "squash":
        if (width, height) != (size, size):
            image = image.resize((size, size), resample)
        return image
    # torchvision Resize(int): short side -> size, long side truncated (int(), not round()).
    if width <= height:
        new_w, new_h = size, int(size * height / width)
    else:
        new_w, new_h = int(size * width / height), size
    # torchvision CenterCrop: offsets int(round((dim - size) / 2)) (round half to even).
    left = int(round((new_w - size) / 2.0))
    top = int(round((new_h - size) / 2.0))
    if (new_w, new_h) == (width, height):
        if (left, top, new_w, new_h) != (0, 0, size, size):
            image = image.crop((left, top, left + size, top + size))
        return image
    # Resize only the part the crop keeps: Pillow's ``box`` maps each output pixel to the same
    # source position and filter support as resizing the whole image and then cropping
    # (values differ by at most 1 from fixed-point rounding), at 3/4 of the cost for 4:3.
    sx, sy = width / new_w, height / new_h
    box = (left * sx, top * sy, (left + size) * sx, (top + size) * sy)
    return image.resize((size, size), resample, box=box)


def normalize(pixels: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """uint8 RGB ``[N, S, S, 3]`` -> float32 ``[N, 3, S, S]``, ``(x/255 - mean)/std``.

    Written as one multiply into a preallocated array plus one in-place add (``x * a + b``):
    the literal formula made four 10 MB temporaries per batch of 16 and, run serially before
    the encoder threads could start, stalled them for ~8 ms per photo (py-spy, issue 7).
    """
    import numpy as np

    mean = np.asarray(cfg.mean, dtype=np.float64)
    std = np.asarray(cfg.std, dtype=np.float64)
    scale = (1.0 / (255.0 * std)).astype(np.float32)[:, None, None]
    offset = (-mean / std).astype(np.float32)[:, None, None]
    out = np.empty((pixels.shape[0], 3, *pixels.shape[1:3]), dtype=np.float32)
    np.multiply(pixels.transpose(0, 3, 1, 2), scale, out=out)
    out += offset
    return out


def preprocess(image: Image.Image, cfg: PreprocessConfig, layout: str = "nchw") -> np.ndarray:
    """One image -> model input without the batch axis.

    ``layout`` "nchw": float32 ``[3, S, S]``, ``(x/255 - mean)/std`` (plain Immich/open_clip
    exports). "nhwc_uint8": uint8 ``[S, S, 3]`` RGB for Immich's rewritten graphs, which cast
    and normalise inside the graph.
    """
    import numpy as np

    rgb = resize_crop(to_rgb(image), cfg)
    pixels = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    if layout == "nhwc_uint8":
        return pixels
    return normalize(pixels[None], cfg)[0]
