"""The built-in Pillow decoder: content sniffing, reduced JPEG decode, orientation, RGB.

Registered ``trylast`` so a plugin that decodes better (RAW, a GPU JPEG decoder) answers first.
Runs on decode-pool threads: nothing here mutates global Pillow state after the one-time,
lock-protected setup (HEIF opener registration, the bomb-warning filter).

Why each step:
- **Content decides** (:mod:`.sniff`): phones and downloads are full of misnamed files.
- **Draft decode**: a 12 MP JPEG decoded at 1/8 scale is ~30x cheaper and still larger than
  the model input; ``draft`` never goes below the requested box, so the short side stays
  >= ``size_hint`` whatever the orientation. Other formats cannot decode small, but a big one
  is box-reduced (``Image.reduce``) to at least twice the size hint, so the backend's resize
  works on a small image (the "reducing gap" Pillow's own ``thumbnail`` uses).
- **Bombs**: Pillow's ``MAX_IMAGE_PIXELS`` is kept (never set to None). Pillow raises above
  twice the limit and only warns between 1x and 2x; we reject that band too, by size, because
  ``warnings`` filters are process-global and cannot be switched per thread.
- **Orientation**: applied before embedding, and the reported size is the size as shown.
- **RGB**: the embedding expects RGB; transparency is composited on white (what a viewer
  shows), 16-bit greyscale is scaled, not clipped to white.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from typing import TYPE_CHECKING, Any, BinaryIO

from huisou import hookimpl
from huisou.core.errors import NotAnImage, UnreadableMedia, UnsupportedMedia
from huisou.core.interfaces import DecodedImage, MediaItem
from huisou.core.sniff import HEAD_BYTES, KIND_NAMES, claims_image, sniff

if TYPE_CHECKING:  # pragma: no cover - types only
    from PIL import Image

HEIC_HINT = "pip install 'huisou[heic]'"

#: Pillow format names allowed to open each sniffed kind (no guessing across formats).
PIL_FORMATS: dict[str, list[str]] = {
    "jpeg": ["JPEG"],  # the JPEG factory itself returns MPO images for MPO files
    "png": ["PNG"],
    "gif": ["GIF"],
    "webp": ["WEBP"],
    "tiff": ["TIFF"],
    "bmp": ["BMP"],
    "avif": ["AVIF"],
    "heif": ["HEIF"],
}

#: What Pillow raises on damaged data: OSError/SyntaxError/EOFError from its parsers,
#: ValueError from bad sizes, RuntimeError from the AVIF and HEIF codec bindings.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, RuntimeError)

_setup_lock = threading.Lock()
_setup_done = False
_heif_state: dict[str, Any] = {}


def pillow_setup() -> None:
    """One-time process setup: silence the bomb warning (we reject those files ourselves)."""
    global _setup_done
    if _setup_done:
        return
    with _setup_lock:
        if _setup_done:
            return
        import warnings

        from PIL import Image

        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
        # "Corrupt EXIF data" and friends: damaged EXIF costs the orientation, not the photo
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")
        _setup_done = True


def heif_available() -> bool:
    """Register pillow-heif's opener once; False when the ``heic`` extra is not installed."""
    if "ok" in _heif_state:
        return _heif_state["ok"]
    with _setup_lock:
        if "ok" not in _heif_state:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_state["ok"] = True
            except Exception:  # ImportError, or a broken native library
                _heif_state["ok"] = False
    return _heif_state["ok"]


def avif_available() -> bool:
    """Whether this Pillow was built with AVIF support (Pillow >= 11.2 with libavif)."""
    try:
        from PIL import features

        return bool(features.check("avif"))
    except Exception:
        return False


def _bomb_reason(exc: BaseException) -> str:
    match = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = match.group(1) if match else "too many"
    return f"decompression bomb: {pixels} pixels"


def _check_kind(kind: str | None, name: str) -> None:
    """Raise the right MediaError for content Pillow must not or cannot open here."""
    if kind is None or kind in ("video", "pdf", "zip"):
        what = KIND_NAMES.get(kind or "", "not an image")
        if claims_image(name):
            detail = f"{what} content" if kind else "content is not a known image format"
            raise UnreadableMedia(f"{detail} under an image name: {os.path.basename(name)}")
        raise NotAnImage(f"{what}: {os.path.basename(name)}" if kind else "not an image file")
    if kind == "heif" and not heif_available():
        raise UnsupportedMedia(f"HEIC/HEIF image needs pillow-heif: {HEIC_HINT}")
    if kind == "avif" and not avif_available():
        raise UnsupportedMedia("AVIF image: this Pillow has no AVIF support (Pillow >= 11.2)")


def _orientation(im: Image.Image) -> int:
    """EXIF orientation 1-8; absent, illegal (0, 9...) or unreadable means 1."""
    try:
        value = im.getexif().get(0x0112)
        value = int(value) if value is not None else 1
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _transpose(im: Image.Image, orientation: int) -> Image.Image:
    """Apply ``orientation`` to the pixels (``ImageOps.exif_transpose``, with a fallback)."""
    if orientation == 1:
        return im
    from PIL import Image, ImageOps

    try:
        out = ImageOps.exif_transpose(im)
        if out is not None:
            return out
    except Exception:
        pass  # damaged EXIF that exif_transpose cannot rewrite: transpose the pixels only
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }[orientation]
    return im.transpose(method)


def _on_white(im: Image.Image) -> Image.Image:
    from PIL import Image

    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _wide_grey_to_rgb(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float greyscale to RGB, transparent value painted white.

    Values are divided by 257 (65535 -> 255). A file whose values all fit in 0-255 holds 8-bit
    data in a 16-bit container (seen in the wild and in Pillow's own tests); scaling it would
    give a black picture, so it is taken as is. Float images are stretched to their range.
    """
    import numpy as np
    from PIL import Image

    arr = np.asarray(im.convert("F") if im.mode == "F" else im.convert("I"), dtype=np.float64)
    transparent = im.info.get("transparency")
    mask = arr == transparent if isinstance(transparent, (int, float)) else None
    finite = arr[np.isfinite(arr)]
    low = float(finite.min()) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 0.0
    if im.mode == "F" or low < 0:
        scaled = (arr - low) * (255.0 / ((high - low) or 1.0))
    elif high <= 255:
        scaled = arr
    else:
        scaled = arr / 257.0
    grey = np.clip(np.nan_to_num(scaled), 0, 255).astype(np.uint8)
    if mask is not None:
        grey[mask] = 255
    return Image.fromarray(grey, "L").convert("RGB")


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB as a viewer would show it.

    Palette, greyscale and RGB images with a transparent colour (PNG ``tRNS``), LA/RGBA/PA:
    composited on white.
    16-bit and 32-bit integer greyscale (``I;16``, ``I``) and float (``F``): scaled to 8 bits
    (Pillow's plain ``convert`` clips them, turning most 16-bit photos white). CMYK and the
    rest: Pillow's own conversion.
    """
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return im
    if mode.startswith("I") or mode == "F":
        return _wide_grey_to_rgb(im)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    ):
        return _on_white(im)
    return im.convert("RGB")


def decode(
    fp: BinaryIO, name: str, size_hint: int = 0
) -> DecodedImage:
    """Decode the photo in ``fp`` (``name`` is for messages and the extension rule).

    Raises:
        UnreadableMedia: corrupt, truncated, a bomb, or non-image content under an image name.
        UnsupportedMedia: HEIC without pillow-heif, AVIF without Pillow AVIF support.
        NotAnImage: content that is not an image under a non-image name.
    """
    pillow_setup()
    from PIL import Image, UnidentifiedImageError

    head = fp.read(HEAD_BYTES)
    if not head:
        raise UnreadableMedia("empty file (0 bytes)")
    fp.seek(0)
    kind = sniff(head)
    _check_kind(kind, name)
    what = KIND_NAMES[kind or ""]
    try:
        im = Image.open(fp, formats=PIL_FORMATS[kind or ""])
    except Image.DecompressionBombError as exc:
        raise UnreadableMedia(_bomb_reason(exc)) from None
    except UnidentifiedImageError:
        raise UnreadableMedia(f"corrupt {what}: Pillow cannot identify the image") from None
    except DECODE_ERRORS as exc:
        raise UnreadableMedia(f"corrupt {what}: {exc}") from None
    try:
        return _finish(im, size_hint, what)
    finally:
        im.close()


def _finish(im: Image.Image, size_hint: int, what: str) -> DecodedImage:
    from PIL import Image

    width, height = im.size
    if width <= 0 or height <= 0:
        raise UnreadableMedia(f"corrupt {what}: {width}x{height} pixels")
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > limit:
        raise UnreadableMedia(f"decompression bomb: {width * height} pixels")
    fmt = im.format or what
    if im.format in ("JPEG", "MPO") and size_hint > 0:
        with contextlib.suppress(Exception):  # a full-size decode is slower, not wrong
            im.draft("RGB", (size_hint, size_hint))
    try:
        im.seek(0)
        im.load()
    except Image.DecompressionBombError as exc:
        raise UnreadableMedia(_bomb_reason(exc)) from None
    except DECODE_ERRORS as exc:
        message = str(exc)
        if "truncated" in message:
            raise UnreadableMedia(f"truncated {what}: {message}") from None
        raise UnreadableMedia(f"corrupt {what}: {message or type(exc).__name__}") from None
    except MemoryError:
        raise UnreadableMedia(f"{what} too large to decode in memory") from None
    orientation = _orientation(im)  # after load: PNG reads eXIf only then
    try:
        shown = _transpose(im, orientation)
        rgb = to_rgb(shown)
        factor = min(rgb.size) // (2 * size_hint) if size_hint > 0 else 0
        if factor >= 2:  # box-reduce big PNG/HEIC/WebP, still >= 2x the size hint
            rgb = rgb.reduce(factor)
        elif rgb is im:
            rgb = im.copy()  # detach from the file, which the caller closes
    except DECODE_ERRORS as exc:
        raise UnreadableMedia(f"corrupt {what}: {exc}") from None
    if orientation >= 5:
        width, height = height, width
    return DecodedImage(image=rgb, width=width, height=height, format=fmt, orientation=orientation)


@hookimpl(trylast=True)
def load_image(item: MediaItem, fp: BinaryIO, size_hint: int) -> DecodedImage | None:
    """Pillow decoder for JPEG/MPO, PNG, GIF, WebP, TIFF, BMP, AVIF and (with the extra) HEIC."""
    return decode(fp, item.path, size_hint)
