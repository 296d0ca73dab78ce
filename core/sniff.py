"""Recognise a file's type from its first bytes, not its name.

Sources yield every candidate file and the decoder decides what it is by content: a JPEG
renamed ``.png``, a PNG without extension and a video named ``.jpg`` are all common on phones
and in downloaded folders. This module is pure Python and imports nothing heavy, so the CLI
(``huisou info``) can use it without loading Pillow. It lives in core, not in the decoder
plugin, because both the decoder and the CLI need it and the CLI imports no plugin.
"""

from __future__ import annotations

import os

from huisou.core.regular_files import open_regular

#: How many leading bytes :func:`sniff` looks at (enough for an ISO-BMFF ``ftyp`` box).
HEAD_BYTES = 64

#: ISO-BMFF (``ftyp``) brands of still HEIF images (HEVC-coded or generic image files).
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1",
     b"mif2", b"MiHE"}
)
#: ISO-BMFF brands of AVIF images.
AVIF_BRANDS = frozenset({b"avif", b"avis"})

#: Extensions whose files claim to be images: content that is not an image under one of these
#: names is a damaged photo (``unreadable``), not a stray document (``skipped``).
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".pjpeg", ".mpo", ".png", ".apng", ".gif",
     ".webp", ".tif", ".tiff", ".bmp", ".dib", ".heic", ".heif", ".hif", ".heics", ".avif",
     ".dng"}
)

#: Human names of the kinds :func:`sniff` returns.
KIND_NAMES = {
    "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WebP", "tiff": "TIFF", "bmp": "BMP",
    "heif": "HEIC/HEIF", "avif": "AVIF", "video": "video", "pdf": "PDF", "zip": "ZIP archive",
}


def _ftyp_brands(head: bytes) -> list[bytes]:
    """Major and compatible brands of an ISO-BMFF ``ftyp`` box at offset 0, or []."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return []
    size = int.from_bytes(head[0:4], "big")
    end = min(size if size >= 16 else len(head), len(head))
    brands = [head[8:12]]
    brands += [head[i : i + 4] for i in range(16, end - 3, 4)]
    return brands


def sniff(head: bytes) -> str | None:
    """The kind of file whose first bytes are ``head``, or None when it is not recognised.

    Returns one of ``jpeg png gif webp tiff bmp heif avif`` for images and ``video``, ``pdf``
    or ``zip`` for common non-images. For ``ftyp`` files the major brand decides first (an AVIF
    also lists ``mif1``), then the compatible brands.
    """
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 26 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"
    brands = _ftyp_brands(head)
    if brands:
        major = brands[0]
        if major in AVIF_BRANDS:
            return "avif"
        if major in HEIF_BRANDS:
            return "heif"
        if any(b in AVIF_BRANDS for b in brands):
            return "avif"
        if any(b in HEIF_BRANDS for b in brands):
            return "heif"
        return "video"  # every other ISO-BMFF file (MP4, QuickTime, 3GP...) is no photo
    if head[:4] == b"%PDF":
        return "pdf"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free") or head[:4] == b"\x1aE\xdf\xa3":
        return "video"  # QuickTime without ftyp, Matroska/WebM
    return None


def claims_image(path: str) -> bool:
    """Whether ``path``'s extension says it is an image."""
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def sniff_file(path: str) -> str | None:
    """:func:`sniff` on a file's first bytes (opens the file: only for ``huisou info``).

    Raises :class:`~huisou.core.regular_files.NotARegularFile` for a FIFO or a device."""
    with open_regular(path) as fh:
        return sniff(fh.read(HEAD_BYTES))
