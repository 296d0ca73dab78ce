"""``huisou fields [--json]``: every field a photo can have, what ``--where`` can filter on.

Built-in fields first (in their documented order), then plugin fields by name. A field the
library recorded whose plugin is no longer installed is listed too, marked as such: its values
are still stored, shown by ``info`` and filterable, but nothing fills them any more.
"""

from __future__ import annotations

from typing import Any

import click
from huisou.cli.common import library_options, open_library, print_json
from huisou.core.config import Config


def field_rows(library: Any) -> list[dict[str, Any]]:
    """One dict per field: its declaration, ``installed`` and ``photos`` (how many photos
    have a value; None for built-ins, which every indexed photo has as a column)."""
    from huisou.core.field_store import recorded_declarations

    conn = library.catalog.conn
    declared = library.host.fields()
    counts = dict(conn.execute(
        "SELECT field, COUNT(DISTINCT item_id) FROM field_values GROUP BY field"
    ).fetchall())
    rows = [
        {**field.to_json(), "installed": True,
         "photos": None if field.builtin else counts.get(field.name, 0)}
        for field in declared.values()
    ]
    rows += [
        {**field.to_json(), "installed": False, "photos": counts.get(field.name, 0)}
        for field in recorded_declarations(conn)
        if field.name not in declared
    ]
    builtins = [row for row in rows if row["builtin"]]
    return builtins + sorted((row for row in rows if not row["builtin"]),
                             key=lambda row: row["name"])


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of fields.")
@library_options
def fields(as_json: bool, config: Config) -> None:
    """List every field (built-in and from plugins) with its type and owner: what
    'huisou search --where' filters on and 'search --json' shows."""
    rows = field_rows(open_library(config, readonly=True))
    if as_json:
        print_json(rows)
        return
    width = max(len(row["name"]) for row in rows) + 2
    for row in rows:
        notes = []
        if row["fulltext"]:
            notes.append("full text")
        if not row["installed"]:
            notes.append(f"plugin {row['owner']!r} not installed")
        if row["photos"] is not None:
            notes.append(f"{row['photos']} photos")
        note = f" ({'; '.join(notes)})" if notes else ""
        click.echo(f"{row['name']:<{width}}{row['type']:<10}{row['owner']:<16}"
                   f"{row['description']}{note}")
