"""Storage of plugin fields in the catalog: ``fields``, ``field_values`` and ``field_text``.

Kept apart from :mod:`huisou.core.catalog` because it is the one place that knows the
layout of migration 4: values are checked by :func:`huisou.core.fields.coerce` before they get
here, written by the indexer inside its batch transaction, and read by search, ``info`` and
``--where``. Built-in fields are columns of ``items`` and never pass through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from huisou.core.fields import Field, shown

#: Shortest text the trigram index can find by itself; shorter text (two Chinese characters,
#: "发票") is matched by a scan of the field's values instead.
TRIGRAM = 3
_CHUNK = 500


def record_declarations(conn: Any, fields: Iterable[Field]) -> None:
    """Remember each plugin field's declaration, so the library still describes its values
    after the plugin is uninstalled (``huisou fields`` marks those)."""
    conn.executemany(
        "INSERT INTO fields (name, type, owner, description, fulltext) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET type=excluded.type, owner=excluded.owner, "
        "description=excluded.description, fulltext=excluded.fulltext",
        [(f.name, f.type, f.owner, f.description, int(f.fulltext)) for f in fields
         if not f.builtin],
    )


def recorded_declarations(conn: Any) -> list[Field]:
    """The declarations the library has recorded (plugin fields only)."""
    rows = conn.execute("SELECT name, type, description, fulltext, owner FROM fields ORDER BY name")
    return [Field(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]


def replace_values(
    conn: Any,
    item_id: int,
    values: Mapping[str, tuple[str, list[tuple[Any, float | None]]]],
    *,
    providers: Sequence[str] | None = None,
) -> None:
    """Store an item's field values: ``{field: (provider, rows)}``, rows from ``coerce``.

    ``providers`` None: this is the item's whole set (a new or changed photo), so every older
    value goes. Otherwise only the values those providers gave before are replaced (one
    extractor running again on an unchanged photo), and other plugins' values stay.
    """
    if providers is None:
        conn.execute("DELETE FROM field_values WHERE item_id=?", (item_id,))
    else:
        conn.executemany(
            "DELETE FROM field_values WHERE item_id=? AND provider=?",
            [(item_id, provider) for provider in providers],
        )
        conn.executemany(
            "DELETE FROM field_values WHERE item_id=? AND field=?",
            [(item_id, name) for name in values],
        )
    conn.executemany(
        "INSERT INTO field_values (item_id, field, seq, value, lon, provider) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (item_id, name, seq, value, lon, provider)
            for name, (provider, rows) in values.items()
            for seq, (value, lon) in enumerate(rows)
        ],
    )


def values_of(
    conn: Any, ids: Sequence[int], fields: Mapping[str, Field]
) -> dict[int, dict[str, Any]]:
    """``id -> {field: value}`` of plugin fields for those items, as JSON values. A value of a
    field no longer declared is still shown, typed by its recorded declaration."""
    known = dict(fields)
    for field in recorded_declarations(conn):
        known.setdefault(field.name, field)
    rows_by_item: dict[int, dict[str, list[tuple[Any, float | None]]]] = {}
    ids = list(ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(
            "SELECT item_id, field, value, lon FROM field_values WHERE item_id IN "
            f"({','.join('?' * len(chunk))}) ORDER BY item_id, field, seq",
            chunk,
        )
        for item_id, name, value, lon in rows:
            rows_by_item.setdefault(item_id, {}).setdefault(name, []).append((value, lon))
    return {
        item_id: {
            name: shown(known[name], rows) if name in known else rows[0][0]
            for name, rows in by_field.items()
        }
        for item_id, by_field in rows_by_item.items()
    }


def text_matches(
    conn: Any, text: str, fields: Sequence[str], limit: int
) -> list[tuple[int, str, str]]:
    """``(item_id, field, value)`` of text values of ``fields`` containing ``text`` (case
    folded for ASCII), through the trigram index when the text is long enough."""
    text = text.strip()
    if not text or not fields:
        return []
    marks = ",".join("?" * len(fields))
    if len(text) >= TRIGRAM:
        rows = conn.execute(
            "SELECT v.item_id, v.field, v.value FROM field_text JOIN field_values v "
            f"ON v.id = field_text.rowid WHERE field_text MATCH ? AND v.field IN ({marks}) "
            "LIMIT ?",
            [_phrase(text), *fields, limit],
        )
    else:
        rows = conn.execute(
            "SELECT item_id, field, value FROM field_values WHERE field IN "
            f"({marks}) AND typeof(value) = 'text' AND instr(lower(value), lower(?)) > 0 "
            "LIMIT ?",
            [*fields, text, limit],
        )
    return [(int(r[0]), r[1], r[2]) for r in rows]


def _phrase(text: str) -> str:
    """``text`` as one FTS5 phrase: quoted, inner quotes doubled (no query syntax leaks)."""
    return '"' + text.replace('"', '""') + '"'
