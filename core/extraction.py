"""Merging what sources and extractors say about a photo into built-in columns and fields.

Why one place: several providers may give the same field (EXIF and an XMP plugin both know
the date; a Takeout sidecar knows it better). The rule is explicit priority, never import
order: higher ``priority`` wins, ties go to the provider whose name sorts first. Every value is
checked against its declared type; an undeclared key or a value of the wrong type is reported
once per provider (``huisou plugins --all``) and not stored, never silently dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from huisou.core.fields import BUILTIN_KEYS, BUILTINS, Field, FieldError, coerce

if TYPE_CHECKING:  # pragma: no cover - types only
    from huisou.core.interfaces import MediaItem
    from huisou.core.plugins import PluginHost

#: ``taken_at_source`` when no provider knew the date and the file's time stands in.
FILE_TIME = "file mtime"
#: Built-in keys whose values must be numbers, with the field that checks them.
_NUMERIC_KEYS = {"width": "width", "height": "height", "orientation": "orientation"}


@dataclass
class Contribution:
    """What one provider said about one photo."""

    provider: str
    priority: int
    values: Mapping[str, Any]


@dataclass
class Merged:
    """The winners: built-in column values and plugin field rows ``{name: (provider, rows)}``."""

    metadata: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, tuple[str, list[tuple[Any, float | None]]]] = field(default_factory=dict)


def merge(
    host: PluginHost, contributions: Iterable[Contribution], declared: Mapping[str, Field]
) -> Merged:
    """Apply the priority rule to ``contributions`` (see the module docstring)."""
    out = Merged()
    ordered = sorted(contributions, key=lambda c: (-c.priority, c.provider))
    for contribution in ordered:
        for key, value in (contribution.values or {}).items():
            if value is None:
                continue
            if key in BUILTIN_KEYS:
                _builtin(host, out, contribution, key, value)
            elif key in declared and not declared[key].builtin:
                _plugin_field(host, out, contribution.provider, declared[key], value)
            else:
                host.report_once(
                    contribution.provider, "fields",
                    f"gave {key!r}, which no plugin declared (declare it with register_fields)",
                )
    return out


def _builtin(host: PluginHost, out: Merged, contribution: Contribution, key: str,
             value: Any) -> None:
    if key in out.metadata or key == "taken_at_source":
        return  # a higher-priority provider gave it; the source goes with its date
    checked = _checked_builtin(key, value)
    if isinstance(checked, FieldError):
        host.report_once(contribution.provider, "fields", str(checked))
        return
    out.metadata[key] = checked
    if key == "taken_at":
        given = contribution.values.get("taken_at_source")
        out.metadata["taken_at_source"] = given if isinstance(given, str) and given else (
            contribution.provider)


def _checked_builtin(key: str, value: Any) -> Any:
    """A built-in key's value in its column's form, or the FieldError saying why not."""
    try:
        if key == "taken_at":
            return coerce(BUILTINS["taken_at"], value)[0][0]
        if key in ("gps_lat", "gps_lon"):
            number = coerce(Field(key, "float"), value)[0][0]
            limit = 90 if key == "gps_lat" else 180
            if not -limit <= number <= limit:
                raise FieldError(f"field {key!r}: {number} is out of range")
            return number
        if key in _NUMERIC_KEYS:
            return coerce(BUILTINS[_NUMERIC_KEYS[key]], value)[0][0]
        rows = coerce(Field(key, "text"), value)
        if not rows:
            raise FieldError(f"field {key!r}: empty text means unknown: leave it out")
        return rows[0][0]
    except (FieldError, IndexError) as exc:
        return exc if isinstance(exc, FieldError) else FieldError(f"field {key!r}: no value")


def _plugin_field(host: PluginHost, out: Merged, provider: str, declared: Field,
                  value: Any) -> None:
    if declared.name in out.fields:
        return
    try:
        rows = coerce(declared, value)
    except FieldError as exc:
        host.report_once(provider, "fields", str(exc))
        return
    if rows:
        out.fields[declared.name] = (provider, rows)


def with_file_time(metadata: dict[str, Any], item: MediaItem) -> None:
    """Use the file's modification time as ``taken_at`` only when no provider gave a date,
    so it never overrides a sidecar's or a plugin's real one."""
    if "taken_at" in metadata:
        return
    try:
        moment = dt.datetime.fromtimestamp(item.mtime_ns / 1e9)
    except (OverflowError, OSError, ValueError):
        return
    metadata["taken_at"] = moment.replace(microsecond=0).isoformat(timespec="seconds")
    metadata["taken_at_source"] = FILE_TIME
