"""Fields: declarations and values are checked against their type, stored by core, found by
full text (Chinese included), and an old library gains the tables in place."""

from __future__ import annotations

import sqlite3

import pytest
from huisou.core import field_store
from huisou.core.catalog import Catalog
from huisou.core.fields import BUILTINS, FieldError, coerce, declare

RATING = declare("rating", "int", "stars", owner="p")
TAGS = declare("tags", "tags", "labels", fulltext=True, owner="p")
CAPTION = declare("caption", "text", "words", fulltext=True, owner="p")
WHERE = declare("where", "geo", "place", owner="p")
WHEN = declare("shot", "datetime", "time", owner="p")
FIELDS = {f.name: f for f in (RATING, TAGS, CAPTION, WHERE, WHEN)}


@pytest.mark.parametrize(
    ("field", "value", "rows"),
    [
        (RATING, 4, [(4, None)]),
        (TAGS, ["family", " beach ", "family", ""], [("family", None), ("beach", None)]),
        (TAGS, "solo", [("solo", None)]),
        (CAPTION, "  ", []),
        (WHERE, (39.9, 116.4), [(39.9, 116.4)]),
        (WHERE, {"lat": 0, "lon": 0}, []),
        (WHEN, "2023-03-05T14:30:00+08:00", [("2023-03-05T14:30:00+08:00", None)]),
        (WHEN, "2023-03-05 14:30", [("2023-03-05T14:30:00", None)]),
    ],
)
def test_values_are_coerced_to_their_type(field, value, rows):
    assert coerce(field, value) == rows


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (RATING, "4", "expected an integer"),
        (RATING, True, "expected an integer"),
        (WHERE, (91, 0), "not a latitude"),
        (WHEN, "yesterday", "ISO 8601"),
        (WHEN, "0001-01-01", "plausible"),
        (TAGS, [1], "not a string"),
    ],
)
def test_values_of_the_wrong_type_are_refused_with_the_field_named(field, value, message):
    with pytest.raises(FieldError, match=message) as info:
        coerce(field, value)
    assert repr(field.name) in str(info.value)


def test_declarations_are_checked():
    with pytest.raises(FieldError, match="only text and tags"):
        declare("n", "int", fulltext=True, owner="p")
    with pytest.raises(FieldError, match="lowercase"):
        declare("and", "int", owner="p")
    assert BUILTINS["gps"].columns == ("gps_lat", "gps_lon")


def _item(catalog: Catalog, path: str) -> int:
    with catalog.transaction():
        return catalog.upsert_item(source_id=None, path=path, size=1, mtime_ns=1,
                                   status="indexed")


def test_values_round_trip_and_are_found_by_full_text(tmp_path):
    catalog = Catalog(tmp_path / "lib.db")
    a, b = _item(catalog, "/p/a.jpg"), _item(catalog, "/p/b.jpg")
    with catalog.transaction() as conn:
        field_store.record_declarations(conn, FIELDS.values())
        field_store.replace_values(conn, a, {
            "rating": ("p", coerce(RATING, 5)),
            "caption": ("p", coerce(CAPTION, "增值税发票 Invoice No. 0042")),
            "tags": ("p", coerce(TAGS, ["family", "beach"])),
            "where": ("p", coerce(WHERE, (31.2, 121.5))),
        })
        field_store.replace_values(conn, b, {"caption": ("p", coerce(CAPTION, "火车票"))})
    values = field_store.values_of(catalog.conn, [a, b], FIELDS)
    assert values[a] == {"caption": "增值税发票 Invoice No. 0042", "rating": 5,
                         "tags": ["family", "beach"], "where": {"lat": 31.2, "lon": 121.5}}
    find = field_store.text_matches
    assert [m[0] for m in find(catalog.conn, "值税发", ["caption"], 10)] == [a]
    assert [m[0] for m in find(catalog.conn, "发票", ["caption"], 10)] == [a]  # 2 characters
    assert [m[0] for m in find(catalog.conn, "INVOICE", ["caption"], 10)] == [a]
    assert [m[0] for m in find(catalog.conn, "火车", ["caption"], 10)] == [b]
    assert find(catalog.conn, 'No" OR "x', ["caption"], 10) == []  # no FTS syntax leaks
    assert find(catalog.conn, "beach", ["caption"], 10) == []  # only the fields asked
    # one provider's values replaced, the others kept; deleting the item drops the rest
    with catalog.transaction() as conn:
        field_store.replace_values(conn, a, {"rating": ("q", coerce(RATING, 1))},
                                   providers=["q"])
    assert field_store.values_of(catalog.conn, [a], FIELDS)[a]["rating"] == 1
    with catalog.transaction():
        catalog.delete_items([a])
    assert find(catalog.conn, "值税发", ["caption"], 10) == []
    assert catalog.conn.execute("SELECT COUNT(*) FROM field_values").fetchone()[0] == 1
    catalog.close()


def test_a_library_of_schema_3_gains_the_field_tables_in_place(tmp_path):
    """A library as the code before this change left it (schema 3) migrates on open."""
    from huisou.core.library_file import statements
    from huisou.core.schema import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        for statement in statements(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version=3")
    conn.execute("PRAGMA application_id=1213419349")
    conn.execute("INSERT INTO items (path, folder, name, size, mtime_ns, status, updated_at) "
                 "VALUES ('/p/x.jpg', '/p', 'x.jpg', 1, 1, 'indexed', 0)")
    conn.commit()
    conn.close()
    catalog = Catalog(path)
    assert catalog.schema_version == len(MIGRATIONS)
    assert catalog.item_by_path("/p/x.jpg")["depends_sig"] is None
    assert catalog.conn.execute("SELECT COUNT(*) FROM field_values").fetchone()[0] == 0
    catalog.close()
