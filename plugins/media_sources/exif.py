"""EXIF metadata: taken-at, GPS, camera and orientation, read with exifread, Pillow as fallback.

Why two parsers: exifread is pure Python, reads JPEG/TIFF/PNG/WebP/HEIC, and survives most
damaged files; Pillow reads EXIF where exifread raises or finds none (AVIF, for one). Each
*field* is read on its own, so a damaged GPS IFD costs the GPS, not the camera name. No
exception from either library ever leaves :meth:`ExifExtractor.extract`.

Rules (the catalog shows "unknown" rather than a made-up value):
- taken-at: ``DateTimeOriginal``, then ``DateTimeDigitized``, then IFD0 ``DateTime``, with
  the matching ``OffsetTime*`` tag as UTC offset when the camera wrote one (phones do since
  EXIF 2.31); ``taken_at_source`` names which. Without any, core uses the file's modification time, but
  only when no other plugin gave a date (:mod:`huisou.core.extraction`). Implausible but valid dates (a
  camera clock set to 2099) are kept: dropping the photo's date would hide it from date
  filters altogether.
- GPS: decimal degrees, S and W negative; both coordinates and both references must be present
  and in range; an IFD with only ``GPSVersionID`` or the placeholder 0,0 is absent.
- camera: ``Make`` and ``Model`` cut at the first NUL byte and stripped of padding; blank means
  absent.
- orientation: 1-8; absent or illegal (0) means 1.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from typing import Any, BinaryIO, ClassVar

from huisou import hookimpl
from huisou.core.interfaces import MediaItem, Metadata, MetadataExtractor

DATE_TAGS: tuple[tuple[str, int, str], ...] = (
    # (exifread key, Pillow tag id, taken_at_source)
    ("EXIF DateTimeOriginal", 0x9003, "DateTimeOriginal"),
    ("EXIF DateTimeDigitized", 0x9004, "DateTimeDigitized"),
    ("Image DateTime", 0x0132, "DateTime"),
)
#: The UTC offset tag (EXIF 2.31) that goes with each date tag, as (exifread key, Pillow id).
OFFSET_TAGS: dict[str, tuple[str, int]] = {
    "DateTimeOriginal": ("EXIF OffsetTimeOriginal", 0x9011),
    "DateTimeDigitized": ("EXIF OffsetTimeDigitized", 0x9012),
    "DateTime": ("EXIF OffsetTime", 0x9010),
}
_DATE_RE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825


def _quiet_exifread() -> None:
    """exifread logs "Possibly corrupted IFD" as warnings; we report metadata as absent."""
    logger = logging.getLogger("exifread")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.ERROR)


def parse_exif_date(value: Any) -> str | None:
    """``"2008:05:30 15:56:01"`` -> ``"2008-05-30T15:56:01"``; None for blanks and zeros."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    match = _DATE_RE.match(value.split("\x00", 1)[0])
    if not match:
        return None
    try:
        parsed = dt.datetime(*(int(part) for part in match.groups()))
    except ValueError:  # 0000:00:00 00:00:00, month 13...
        return None
    return parsed.isoformat(timespec="seconds")


def with_offset(date: str, offset: Any) -> str:
    """``date`` with the EXIF offset (``"+08:00"``) appended when it is a real one (at most
    14 hours, as time zones go); a blank or malformed offset leaves the wall-clock time."""
    text = clean_text(offset)
    match = _OFFSET_RE.match(text) if text else None
    if not match:
        return date
    minutes = int(match[2]) * 60 + int(match[3])
    if minutes > 14 * 60 or int(match[3]) >= 60:
        return date
    return f"{date}{match[1]}{match[2]}:{match[3]}"


def clean_text(value: Any) -> str | None:
    """An EXIF ASCII value cut at the first NUL and stripped; None when nothing is left."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return None
    if not isinstance(value, str):
        return None
    text = value.split("\x00", 1)[0].strip()
    return text or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def dms_to_degrees(parts: Any, ref: Any) -> float | None:
    """Degrees/minutes/seconds plus a reference letter to signed decimal degrees, or None."""
    ref_text = clean_text(ref)
    if ref_text is None or not isinstance(parts, (list, tuple)) or not parts:
        return None
    numbers = [_number(part) for part in list(parts)[:3]]
    if any(n is None or n < 0 for n in numbers):
        return None
    while len(numbers) < 3:
        numbers.append(0.0)
    degrees = numbers[0] + numbers[1] / 60.0 + numbers[2] / 3600.0  # type: ignore[operator]
    letter = ref_text[:1].upper()
    if letter in ("S", "W"):
        return -degrees
    if letter in ("N", "E"):
        return degrees
    return None


def _gps_pair(lat: Any, lat_ref: Any, lon: Any, lon_ref: Any) -> tuple[float, float] | None:
    latitude = dms_to_degrees(lat, lat_ref)
    longitude = dms_to_degrees(lon, lon_ref)
    if latitude is None or longitude is None:
        return None
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    if latitude == 0.0 and longitude == 0.0:  # the "no fix" placeholder
        return None
    return round(latitude, 7), round(longitude, 7)


def _legal_orientation(value: Any) -> int | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    number = _number(value)
    if number is None:
        return None
    return int(number) if 1 <= number <= 8 else 1


class _ExifreadTags:
    """Field readers over exifread's tag dict (``details=False``: no MakerNotes)."""

    def __init__(self, fp: BinaryIO) -> None:
        import exifread

        _quiet_exifread()
        self.tags: dict[str, Any] = exifread.process_file(
            fp, details=False, extract_thumbnail=False
        ) or {}

    def value(self, key: str) -> Any:
        tag = self.tags.get(key)
        return None if tag is None else tag.values

    def date(self) -> tuple[str, str] | None:
        for key, _tag_id, source in DATE_TAGS:
            parsed = parse_exif_date(self.value(key))
            if parsed:
                return with_offset(parsed, self.value(OFFSET_TAGS[source][0])), source
        return None

    def gps(self) -> tuple[float, float] | None:
        return _gps_pair(
            self.value("GPS GPSLatitude"), self.value("GPS GPSLatitudeRef"),
            self.value("GPS GPSLongitude"), self.value("GPS GPSLongitudeRef"),
        )

    def text(self, key: str) -> str | None:
        return clean_text(self.value(f"Image {key}"))

    def orientation(self) -> int | None:
        return _legal_orientation(self.value("Image Orientation"))


class _PillowTags:
    """The same field readers over Pillow's ``getexif()`` (used when exifread fails)."""

    def __init__(self, fp: BinaryIO) -> None:
        from huisou.plugins.media_sources.decode import heif_available, pillow_setup
        from PIL import Image

        pillow_setup()
        heif_available()  # lets Pillow open HEIC for its EXIF when the extra is installed
        with Image.open(fp) as im:
            if im.format == "PNG":  # getexif() would decode every pixel to find an eXIf chunk
                self.ifd0 = Image.Exif()
                raw = im.info.get("exif")
                if raw:
                    self.ifd0.load(raw)
            else:
                self.ifd0 = im.getexif()

    def _sub(self, tag: int) -> Any:
        try:
            return self.ifd0.get_ifd(tag)
        except Exception:
            return {}

    def date(self) -> tuple[str, str] | None:
        exif = self._sub(_EXIF_IFD)
        for _key, tag_id, source in DATE_TAGS:
            raw = self.ifd0.get(tag_id) if tag_id == 0x0132 else exif.get(tag_id)
            parsed = parse_exif_date(raw)
            if parsed:
                return with_offset(parsed, exif.get(OFFSET_TAGS[source][1])), source
        return None

    def gps(self) -> tuple[float, float] | None:
        gps = self._sub(_GPS_IFD)
        return _gps_pair(gps.get(2), gps.get(1), gps.get(4), gps.get(3))

    def text(self, key: str) -> str | None:
        return clean_text(self.ifd0.get({"Make": 0x010F, "Model": 0x0110}[key]))

    def orientation(self) -> int | None:
        return _legal_orientation(self.ifd0.get(0x0112))


class ExifExtractor(MetadataExtractor):
    """taken-at (and its source), GPS, camera make/model and orientation from EXIF."""

    name: ClassVar[str] = "exif"
    #: Below other extractors' default: a plugin that reads XMP or a sidecar knows better
    #: than the camera's clock, and the file time is core's last resort, not EXIF's.
    priority: ClassVar[int] = 10

    def extract(self, item: MediaItem, fp: BinaryIO) -> Metadata:
        factories: list[Any] = [_ExifreadTags, _PillowTags]
        readers: list[Any] = []
        out: Metadata = {}

        def first(getter: Any) -> Any:
            """The first reader's non-None answer.

            Pillow is opened only when exifread failed or found no EXIF at all (AVIF, which
            exifread does not read): on the test corpus it never knows more than exifread
            when exifread parsed something, and opening it costs time on every photo.
            """
            index = 0
            while True:
                while index >= len(readers) and factories:
                    factory = factories.pop(0)
                    try:
                        fp.seek(0)
                        reader = factory(fp)
                    except Exception:  # that parser knows nothing about this file
                        continue
                    readers.append(reader)
                    if getattr(reader, "tags", None):
                        factories.clear()  # exifread parsed EXIF: Pillow would find no more
                if index >= len(readers):
                    return None
                try:
                    value = getter(readers[index])
                except Exception:
                    value = None
                if value is not None:
                    return value
                index += 1

        taken = first(lambda r: r.date())
        if taken:
            out["taken_at"], out["taken_at_source"] = taken
        gps = first(lambda r: r.gps())
        if gps:
            out["gps_lat"], out["gps_lon"] = gps
        make = first(lambda r: r.text("Make"))
        if make:
            out["camera_make"] = make
        model = first(lambda r: r.text("Model"))
        if model:
            out["camera_model"] = model
        orientation = first(lambda r: r.orientation())
        out["orientation"] = orientation or 1
        return out


@hookimpl
def register_metadata_extractors(register: Any) -> None:
    register(ExifExtractor())
