"""huisou-xmp-rating: the star rating that Lightroom, darktable, digiKam or a camera wrote into a
JPEG's XMP packet (``xmp:Rating``), as the int field ``rating`` (0-5).

Why an XML parser and not a regular expression: the packet is the photo's own bytes, written
by any program, so it is hostile input. XMP allows both forms of a property, an attribute
(``<rdf:Description xmp:Rating="4"/>``) and an element (``<xmp:Rating>4</xmp:Rating>``), under
any namespace prefix; a real parser reads all of them and a regex reads some. The packet is
at most one APP1 segment (64 KB), and a packet with a DTD is refused before parsing (XMP never
has one; entity expansion is how XML parsers are attacked). Anything unreadable means "no
rating", never an error: an extractor must not fail a photo.

The XMP spec's ``-1`` ("rejected") is not a number of stars and gives no rating; so do values
outside 0-5 or with a fraction. Extended XMP (a second packet split over several segments) is
not read: the spec keeps short properties like the rating in the main packet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar
from xml.etree import ElementTree

from huisou import hookimpl
from huisou.core.interfaces import MediaItem, MetadataExtractor

XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"  # APP1 payload prefix of an XMP packet
RATING = "{http://ns.adobe.com/xap/1.0/}Rating"  # xmp:Rating, whatever the prefix
MAX_SEGMENTS = 64  # a JPEG has a handful before its image data; more is a hostile file
SOS, EOI, APP1 = 0xDA, 0xD9, 0xE1
STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length field


def xmp_packets(fp: BinaryIO) -> Iterator[bytes]:
    """The XMP packets of a JPEG's APP1 segments, up to the start of the image data."""
    if fp.read(2) != b"\xff\xd8":
        return  # not a JPEG
    for _ in range(MAX_SEGMENTS):
        marker = fp.read(2)
        while marker[1:] == b"\xff":  # fill bytes may pad a marker
            marker = marker[1:] + fp.read(1)
        if len(marker) < 2 or marker[0] != 0xFF or marker[1] in (SOS, EOI):
            return
        if marker[1] in STANDALONE:
            continue
        size = fp.read(2)
        length = int.from_bytes(size, "big") - 2
        if len(size) < 2 or length < 0:
            return
        if marker[1] != APP1:
            fp.seek(length, 1)
            continue
        payload = fp.read(length)
        if payload.startswith(XMP_SIGNATURE):
            yield payload[len(XMP_SIGNATURE):]


def stars(text: str | None) -> int | None:
    """``"4"`` (or ``"4.0"``) as 4; None for anything that is not 0-5 whole stars."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    if not value.is_integer() or not 0 <= value <= 5:
        return None
    return int(value)


def rating_of(packet: bytes) -> int | None:
    """The first ``xmp:Rating`` in a packet, attribute or element form; None if absent or bad."""
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:
        return None
    try:  # some writers pad the packet with NULs (JPEG XMP is UTF-8: never part of a char)
        root = ElementTree.fromstring(packet.rstrip(b"\x00"))
    except (ElementTree.ParseError, ValueError):
        return None
    for element in root.iter():
        if RATING in element.attrib:
            return stars(element.attrib[RATING])
        if element.tag == RATING:
            return stars(element.text)
    return None


class XmpRatingExtractor(MetadataExtractor):
    """Reads ``xmp:Rating`` from JPEG bytes (no decode: ``image_size`` stays 0)."""

    name: ClassVar[str] = "xmp-rating"
    version: ClassVar[str] = "1"

    def extract(self, item: MediaItem, fp: BinaryIO) -> dict[str, Any]:
        try:
            for packet in xmp_packets(fp):
                rating = rating_of(packet)
                if rating is not None:
                    return {"rating": rating}
        except (OSError, ValueError):
            pass  # a truncated or lying file has no rating
        return {}


@hookimpl
def register_fields(register: Any) -> None:
    register("rating", "int", "Star rating 0-5 from the photo's XMP (xmp:Rating)")


@hookimpl
def register_metadata_extractors(register: Any) -> None:
    register(XmpRatingExtractor())
