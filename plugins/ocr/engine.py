"""RapidOCR behind one small API: a decoded PIL image in, recognised lines out.

Why a wrapper: RapidOCR's defaults are made for scanned pages (the detector keeps up to 2000 px
and upscales short sides to 736), which costs seconds per photo. A photo's printed text is big
relative to the frame, so the detector runs on the image reduced to ``max_side`` (640 px reads
every line of the shared text photos; cost grows with the pixels), the text-line orientation
classifier is off (photos are already upright after EXIF orientation), and ONNX Runtime gets one
intra-op thread per call because the indexer parallelises across photos, not within one.

The models are the PP-OCRv6 small detector and recogniser inside the ``rapidocr`` wheel (Chinese,
English and many Latin-script languages): nothing is downloaded.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from huisou.core.errors import HuisouError

if TYPE_CHECKING:  # pragma: no cover - types only
    from PIL import Image

INSTALL_HINT = "pip install 'huisou[ocr]'"
#: Long side of the image the detector sees (see the module docstring).
DEFAULT_MAX_SIDE = 640
#: Below this many pixels on the short side a photo holds no legible line.
MIN_SIDE = 16
#: Lines the recogniser is less sure of are noise (textures read as "O" or "8").
MIN_CONFIDENCE = 0.6


class OcrUnavailable(HuisouError):
    """The ``ocr`` extra is not installed."""


class OcrFailed(Exception):
    """OCR could not run on one photo; ``str()`` is the reason recorded for it."""


@dataclass(frozen=True)
class Line:
    """One recognised line: its text, the recogniser's confidence (0-1) and its quadrilateral,
    four ``[x, y]`` corners as fractions of the image's width and height (so a viewer can draw it
    on the photo at any size)."""

    text: str
    confidence: float
    box: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["box"] = [list(point) for point in self.box]
        return data


def rapidocr_version() -> str | None:
    """The installed rapidocr version, or None when the extra is missing (no import of it)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("rapidocr")
    except importlib.metadata.PackageNotFoundError:
        return None


class OcrEngine:
    """Thread-safe OCR of decoded images; the ONNX sessions load on first use."""

    def __init__(self, max_side: int = DEFAULT_MAX_SIDE, threads: int = 1) -> None:
        if max_side < 64:
            raise HuisouError(f"OCR image size must be at least 64 px, got {max_side}")
        self.max_side = max_side
        self.threads = threads
        self._ocr: Any = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """What the stored results depend on: engine, models and the detector's image size."""
        return f"rapidocr-{rapidocr_version()}/PP-OCRv6-small/{self.max_side}"

    def _load(self) -> Any:
        with self._lock:
            if self._ocr is None:
                try:
                    from rapidocr import RapidOCR
                except ImportError as exc:
                    raise OcrUnavailable(
                        f"text in photos needs the ocr extra: {INSTALL_HINT}"
                    ) from exc
                self._ocr = RapidOCR(params=self._params())
        return self._ocr

    def _params(self) -> dict[str, Any]:
        return {
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.max_side_len": self.max_side,
            "Global.text_score": MIN_CONFIDENCE,
            "Det.limit_side_len": self.max_side,
            "Det.limit_type": "max",
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }

    def read(self, image: Image.Image) -> list[Line]:
        """Recognise the lines of an RGB image (any size: it is reduced here, never enlarged).

        Raises :class:`OcrFailed` with a one-line reason for an image OCR cannot use.
        """
        import numpy as np

        width, height = image.size
        if min(width, height) < MIN_SIDE:
            raise OcrFailed(f"too small for OCR: {width}x{height} px (needs {MIN_SIDE} px)")
        small = image.convert("RGB") if image.mode != "RGB" else image
        if max(width, height) > self.max_side:
            small = small.copy()
            small.thumbnail((self.max_side, self.max_side))
            if min(small.size) < MIN_SIDE:  # a long thin strip: no line survives reducing
                raise OcrFailed(f"too small for OCR: {small.width}x{small.height} px once "
                                f"reduced to {self.max_side} px (needs {MIN_SIDE} px)")
        pixels = np.asarray(small)[:, :, ::-1]  # RapidOCR takes OpenCV's BGR order
        try:
            result = self._load()(np.ascontiguousarray(pixels))
        except OcrUnavailable:
            raise
        except MemoryError as exc:
            raise OcrFailed("out of memory during OCR") from exc
        except Exception as exc:  # an engine failure on one photo must not stop the run
            raise OcrFailed(f"OCR engine error: {type(exc).__name__}: {exc}") from exc
        return _lines(result, small.size)


def _lines(result: Any, size: tuple[int, int]) -> list[Line]:
    if not getattr(result, "txts", None):
        return []
    width, height = size
    lines = []
    for text, score, box in zip(result.txts, result.scores, result.boxes, strict=False):
        text = str(text).strip()
        if not text or score < MIN_CONFIDENCE:
            continue
        corners = tuple(
            (round(min(max(float(x) / width, 0.0), 1.0), 4),
             round(min(max(float(y) / height, 0.0), 1.0), 4))
            for x, y in box
        )
        lines.append(Line(text, round(float(score), 4), corners))
    return lines
