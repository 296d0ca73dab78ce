"""What the contract suites check on the values a source or an extractor gives a photo.

Core reports an undeclared key or a value of the wrong type once per plugin and stores nothing
(``huisou plugins --all``); a contract test finds the same bug before any user indexes a photo.
Declared fields come from the plugin host the test registered the plugin on (``huisou_host``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huisou.core.fields import BUILTIN_KEYS, Field, FieldError, coerce

#: The types of the built-in keys a source or an extractor may return (``Metadata``).
BUILTIN_KEY_TYPES = {"taken_at": "datetime", "gps_lat": "float", "gps_lon": "float",
                     "width": "int", "height": "int", "orientation": "int"}
NOT_DECLARED = (
    "{where}: returned {key!r}, which no plugin declared: declare it with the register_fields "
    "hook, and register your plugin on huisou_host (register_plugin) in the fixture so this "
    "suite sees its declarations (or override the declared_fields fixture)"
)


def field_problems(values: Mapping[str, Any], declared: Mapping[str, Field],
                   where: str) -> list[str]:
    """One line per key of ``values`` that core would refuse (``None`` means unknown: fine)."""
    problems = []
    for key, value in values.items():
        if value is None:
            continue
        if key in BUILTIN_KEYS:
            field = Field(key, BUILTIN_KEY_TYPES.get(key, "text"))
        elif key in declared and not declared[key].builtin:
            field = declared[key]
        else:
            problems.append(NOT_DECLARED.format(where=where, key=key))
            continue
        try:
            coerce(field, value)
        except FieldError as exc:
            problems.append(f"{where}: {exc}")
    return problems
