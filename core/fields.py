"""Fields: what a photo *knows*, declared by plugins, typed, stored and filtered by core.

A plugin declares a field once (``register_fields``) and then returns values for it from a
source (``MediaItem.fields``) or a metadata extractor. Core checks every value against the
declared type (:func:`coerce`), stores it (:mod:`huisou.core.field_store`), filters on it
(``--where``) and shows it (``search --json``, ``info --json``). Plugins never create tables.

The built-in metadata (taken-at, camera, GPS, size, folder, file name) are fields too; they
live in columns of ``items`` (``Field.columns``) because every photo has them, while plugin
fields live in ``field_values``.

Time zone rule: a ``datetime`` is the wall-clock time where the photo was taken, as ISO 8601,
with its UTC offset when known (``2023-03-05T14:30:00+08:00``). Filters compare the wall-clock
part, so "after 2023-03-05" means the same day everywhere; the offset is kept and shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The types a field may have (``tags``: many strings; ``geo``: latitude and longitude).
FIELD_TYPES = ("text", "int", "float", "bool", "datetime", "tags", "geo")
#: Owner of the built-in fields in ``huisou fields``.
BUILTIN_OWNER = "huisou"
#: Longest text a field value may hold (an OCR'd page is ~5 KB): more is a plugin bug.
MAX_TEXT_CHARS = 65_536
MAX_TAGS = 256

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_RESERVED = frozenset({"and", "or", "not", "has", "true", "false", "null", "score"})


class FieldError(ValueError):
    """A field declaration or value that breaks the rules; the message is one line."""


@dataclass(frozen=True)
class Field:
    """One declared field. ``columns`` is set for built-ins only: the ``items`` columns (or,
    for ``camera``, the SQL expression over alias ``i``) that hold it."""

    name: str
    type: str
    description: str = ""
    fulltext: bool = False
    owner: str = BUILTIN_OWNER
    columns: tuple[str, ...] = ()

    @property
    def builtin(self) -> bool:
        return bool(self.columns)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "fulltext": self.fulltext,
            "owner": self.owner,
            "builtin": self.builtin,
        }


def declare(name: Any, type: Any, description: Any = "", *, fulltext: Any = False,
            owner: str) -> Field:
    """A plugin's declaration, checked: raises :class:`FieldError` naming what is wrong."""
    if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED:
        raise FieldError(
            f"field name {name!r} must be lowercase letters, digits and _ (max 48), "
            "start with a letter, and not be a word of the --where language"
        )
    if type not in FIELD_TYPES:
        raise FieldError(f"field {name!r}: type {type!r} is not one of {', '.join(FIELD_TYPES)}")
    if not isinstance(description, str):
        raise FieldError(f"field {name!r}: description must be a string")
    if fulltext and type not in ("text", "tags"):
        raise FieldError(f"field {name!r}: only text and tags fields can be full-text searchable")
    return Field(name, type, description.strip(), bool(fulltext), owner)


def _builtin(name: str, type_: str, description: str, *columns: str,
             fulltext: bool = False) -> Field:
    return Field(name, type_, description, fulltext, BUILTIN_OWNER, columns or (name,))


#: Every built-in field, in the order ``huisou fields`` lists them.
BUILTIN_FIELDS: tuple[Field, ...] = (
    _builtin("path", "text", "Where the photo is: a path, or a URI for non-file sources",
             fulltext=True),
    _builtin("folder", "text", "The folder holding the photo"),
    _builtin("name", "text", "The file name", fulltext=True),
    _builtin("size", "int", "File size in bytes"),
    _builtin("taken_at", "datetime", "When the photo was taken (wall clock where it was taken)"),
    _builtin("taken_at_source", "text",
             "Where taken_at came from: an EXIF tag, a plugin's field, or 'file mtime'"),
    _builtin("camera", "text", "Camera make and model together (for ~ filters)",
             "TRIM(COALESCE(i.camera_make, '') || ' ' || COALESCE(i.camera_model, ''))"),
    _builtin("camera_make", "text", "Camera maker (EXIF Make)"),
    _builtin("camera_model", "text", "Camera model (EXIF Model)"),
    _builtin("gps", "geo", "Where the photo was taken (WGS84 degrees)", "gps_lat", "gps_lon"),
    _builtin("width", "int", "Width in pixels, after EXIF orientation"),
    _builtin("height", "int", "Height in pixels, after EXIF orientation"),
    _builtin("format", "text", "Image format as decoded (JPEG, PNG, HEIF...)"),
    _builtin("orientation", "int", "EXIF orientation (1-8) as recorded"),
)
BUILTINS: dict[str, Field] = {f.name: f for f in BUILTIN_FIELDS}
#: Keys extractors return that fill built-in columns (the ``Metadata`` dict of interfaces).
BUILTIN_KEYS = frozenset(
    {"taken_at", "taken_at_source", "camera_make", "camera_model", "gps_lat", "gps_lon",
     "width", "height", "format", "orientation"}
)


def coerce(field: Field, value: Any) -> list[tuple[Any, float | None]]:
    """``value`` as stored rows ``(value, lon)``: one row, several for tags, none when the
    value means "unknown" (None, empty text, GPS 0,0). Raises :class:`FieldError` naming the
    field when the value does not fit its type (a plugin bug, reported once per plugin)."""
    if value is None:
        return []
    convert = _CONVERTERS[field.type]
    try:
        return convert(value)
    except FieldError as exc:
        raise FieldError(f"field {field.name!r} ({field.type}): {exc}") from None


def _text(value: Any) -> list[tuple[Any, float | None]]:
    if not isinstance(value, str):
        raise FieldError(f"expected a string, got {type(value).__name__}")
    value = value.strip()
    if len(value) > MAX_TEXT_CHARS:
        raise FieldError(f"text of {len(value)} characters (at most {MAX_TEXT_CHARS})")
    return [(value, None)] if value else []


def _int(value: Any) -> list[tuple[Any, float | None]]:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"expected an integer, got {value!r}")
    if not -(2**63) <= value < 2**63:
        raise FieldError(f"{value} does not fit in 64 bits")
    return [(value, None)]


def _float(value: Any) -> list[tuple[Any, float | None]]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise FieldError(f"expected a finite number, got {value!r}")
    return [(float(value), None)]


def _bool(value: Any) -> list[tuple[Any, float | None]]:
    if not isinstance(value, bool):
        raise FieldError(f"expected True or False, got {value!r}")
    return [(int(value), None)]


def parse_datetime(value: Any) -> datetime:
    """A ``datetime`` from a datetime or an ISO 8601 string (offset optional)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
    raise FieldError(f"expected an ISO 8601 date-time like 2023-03-05T14:30:00+08:00, "
                     f"got {value!r}")


def _datetime(value: Any) -> list[tuple[Any, float | None]]:
    moment = parse_datetime(value)
    if not 1800 <= moment.year <= 2200:
        raise FieldError(f"year {moment.year} is not a plausible photo date")
    return [(moment.isoformat(), None)]


def _tags(value: Any) -> list[tuple[Any, float | None]]:
    items: Iterable[Any] = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise FieldError(f"expected a string or a list of strings, got {type(value).__name__}")
    tags: list[str] = []
    for tag in items:
        if not isinstance(tag, str):
            raise FieldError(f"tag {tag!r} is not a string")
        tag = tag.strip()
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise FieldError(f"{len(tags)} tags (at most {MAX_TAGS})")
    return [(tag, None) for tag in tags]


def _geo(value: Any) -> list[tuple[Any, float | None]]:
    if isinstance(value, dict):
        value = (value.get("lat"), value.get("lon"))
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise FieldError(f"expected (lat, lon) or {{'lat': .., 'lon': ..}}, got {value!r}")
    lat, lon = (_float(v)[0][0] for v in value)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise FieldError(f"({lat}, {lon}) is not a latitude and longitude")
    if lat == 0 and lon == 0:  # the placeholder of cameras and Takeout, never a real fix
        return []
    return [(lat, lon)]


_CONVERTERS = {
    "text": _text,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "datetime": _datetime,
    "tags": _tags,
    "geo": _geo,
}


def shown(field: Field, rows: list[tuple[Any, float | None]]) -> Any:
    """Stored rows back as the JSON value of the field (tags a list, geo a dict)."""
    if not rows:
        return None
    if field.type == "tags":
        return [value for value, _ in rows]
    value, lon = rows[0]
    if field.type == "geo":
        return {"lat": value, "lon": lon}
    if field.type == "bool":
        return bool(value)
    return value
