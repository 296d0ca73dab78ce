"""``--where``: the filter language (parser, types, hostile input) and, end to end on real
photos, ``huisou search TEXT --where EXPR`` with a plugin that declares ``rating`` and ``tags``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from huisou.core.fields import BUILTINS, declare
from huisou.core.where import (
    MAX_CHARS,
    MAX_CONDITIONS,
    WhereError,
    compile_where,
    quote,
    shorthands,
)

DATA = Path(__file__).resolve().parent / "data"

FIELDS = {
    **BUILTINS,
    "rating": declare("rating", "int", "Stars", owner="ratings"),
    "tags": declare("tags", "tags", "Keywords", fulltext=True, owner="ratings"),
    "note": declare("note", "text", "A caption", fulltext=True, owner="ratings"),
    "score_f": declare("score_f", "float", owner="ratings"),
    "flagged": declare("flagged", "bool", owner="ratings"),
    "shot_at": declare("shot_at", "datetime", owner="ratings"),
    "spot": declare("spot", "geo", owner="ratings"),
}


def _error(text: str) -> WhereError:
    with pytest.raises(WhereError) as raised:
        compile_where(text, FIELDS)
    return raised.value


# -- a real in-memory catalog to run the compiled SQL against ---------------------------------


@pytest.fixture
def catalog():
    """A migrated in-memory catalog with six photos, values stored like the indexer does."""
    from huisou.core import field_store
    from huisou.core.catalog import Catalog
    from huisou.core.fields import coerce

    cat = Catalog(":memory:")
    cat.ensure_model("m", "fake", "fake", 3, "memory")
    photos = {
        # name: (taken_at, make, model, gps, plugin values)
        "a.jpg": ("2023-03-05T14:30:00+08:00", "Canon", "Canon EOS 40D", (39.90, 116.40),
                  {"rating": 5, "tags": ["family", "家人"], "note": "增值税发票 for the trip"}),
        "b.jpg": ("2023-02-28T23:59:59", "NIKON", "COOLPIX P1", None,
                  {"rating": 3, "tags": ["beach"], "flagged": True, "shot_at": "2020-01-02"}),
        "c.jpg": ("2024-01-01T00:00:00", None, None, (39.95, 116.45),
                  {"rating": 1, "score_f": 0.5, "spot": (48.85, 2.35)}),
        "d.jpg": (None, "Canon", None, None, {"tags": ["Family"], "note": "发票"}),
        "e_1.jpg": ("2022-12-31T12:00:00", None, None, (-33.86, 151.2), {}),
        "f.jpg": ("2023-03-31T10:00:00-05:00", "Pentax", "K10D", None,
                  {"rating": 0, "flagged": False}),
    }
    with cat.transaction():
        for name, (taken, make, model, gps, values) in photos.items():
            item_id = cat.upsert_item(
                source_id=None, path=f"/p/{'trip/' if name < 'c' else ''}{name}", size=1,
                mtime_ns=1, status="indexed",
                metadata={"taken_at": taken, "camera_make": make, "camera_model": model,
                          "gps_lat": gps and gps[0], "gps_lon": gps and gps[1]},
            )
            cat.mark_embedded([item_id], "m")
            field_store.replace_values(cat.conn, item_id, {
                key: ("ratings", coerce(FIELDS[key], value)) for key, value in values.items()
            })
    yield cat
    cat.close()


def _names(catalog, *texts: str) -> set[str]:
    ids = catalog.ids_where("m", [compile_where(text, FIELDS) for text in texts])
    return {row["name"] for row in catalog.items_by_ids(ids).values()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rating >= 3", {"a.jpg", "b.jpg"}),
        ("rating = 0", {"f.jpg"}),
        ("rating != 3", {"a.jpg", "c.jpg", "f.jpg"}),  # unrated photos have no value to differ
        ("not rating >= 3", {"c.jpg", "d.jpg", "e_1.jpg", "f.jpg"}),  # the complement
        ("rating is null", {"d.jpg", "e_1.jpg"}),
        ("rating is not null and rating < 3", {"c.jpg", "f.jpg"}),
        ("tags has family", {"a.jpg"}),  # exact: "Family" is another tag
        ("tags ~ FAM", {"a.jpg", "d.jpg"}),  # substring, case-insensitive (trigram index)
        ("tags has 家人", {"a.jpg"}),
        ("tags ~ 家", {"a.jpg"}),  # one character: a scan, not the trigram index
        ("tags != beach", {"a.jpg", "d.jpg"}),
        ("note ~ 增值税", {"a.jpg"}),
        ("note ~ 发票", {"a.jpg", "d.jpg"}),
        ("note ~ 'the trip'", {"a.jpg"}),
        ("camera ~ canon", {"a.jpg", "d.jpg"}),
        ("camera ~ 'eos 40'", {"a.jpg"}),
        ("camera is null", {"c.jpg", "e_1.jpg"}),
        ("camera_model = K10D", {"f.jpg"}),
        ("taken_at >= 2023-03", {"a.jpg", "c.jpg", "f.jpg"}),
        ("taken_at = 2023-03", {"a.jpg", "f.jpg"}),  # the wall clock: -05:00 is still March
        ("taken_at < 2023-03", {"b.jpg", "e_1.jpg"}),
        ("taken_at <= 2023-02-28", {"b.jpg", "e_1.jpg"}),
        ("taken_at > 2023", {"c.jpg"}),
        ("taken_at = 2023-03-05T14:30+01:00", {"a.jpg"}),  # the offset is not converted
        ("taken_at != 2023", {"c.jpg", "e_1.jpg"}),
        ("taken_at is null", {"d.jpg"}),
        ("shot_at = 2020-01-02", {"b.jpg"}),
        ("flagged = true", {"b.jpg"}),
        ("flagged = false", {"f.jpg"}),
        ("score_f > 0.25", {"c.jpg"}),
        ("score_f >= 1", set()),
        ("gps is null", {"b.jpg", "d.jpg", "f.jpg"}),
        ("gps near 39.9,116.4,10", {"a.jpg", "c.jpg"}),
        ("gps near 39.9,116.4,1km", {"a.jpg"}),
        ("gps near -33.9,151.2,10", {"e_1.jpg"}),
        ("spot near 48.86,2.35,5", {"c.jpg"}),
        ("spot is not null", {"c.jpg"}),
        ("folder under /p/trip", {"a.jpg", "b.jpg"}),
        ("folder under '/p/trip/'", {"a.jpg", "b.jpg"}),
        ("name ~ _", {"e_1.jpg"}),  # LIKE wildcards mean themselves
        ("(rating >= 3 or tags ~ fam) and not camera ~ nikon", {"a.jpg", "d.jpg"}),
        ("rating >= 3 OR NOT (taken_at is not null)", {"a.jpg", "b.jpg", "d.jpg"}),
        ("width is null and height is null", {"a.jpg", "b.jpg", "c.jpg", "d.jpg", "e_1.jpg",
                                              "f.jpg"}),
    ],
)
def test_each_form_selects_exactly_the_matching_photos(catalog, text, expected):
    assert _names(catalog, text) == expected


def test_repeated_conditions_all_hold(catalog):
    assert _names(catalog, "rating >= 1", "camera ~ canon") == {"a.jpg"}
    assert _names(catalog, "rating >= 1", "rating <= 0") == set()


def test_shorthands_are_the_expressions_they_stand_for(catalog):
    """``--camera X`` is ``camera ~ 'X'``, ``--folder`` ``folder under``, and so on: the same
    SQL and parameters, so they behave alike."""
    pairs = [
        (shorthands(camera="canon"), "camera ~ 'canon'"),
        (shorthands(folder="/p/trip"), "folder under '/p/trip'"),
        (shorthands(after="2023-03-01"), "taken_at >= 2023-03-01"),
        (shorthands(before="2023-03-01"), "taken_at < 2023-03-01"),
        (shorthands(has_gps=True), "gps is not null"),
        (shorthands(has_gps=False), "gps is null"),
    ]
    for (condition,), text in pairs:
        compiled = compile_where(text, FIELDS)
        assert (condition.sql, condition.params) == (compiled.sql, compiled.params), text
    # the TUI's partial bounds ("to 2023" is before 2024) keep working
    (before,) = shorthands(before="2024")
    assert {row["name"] for row in catalog.items_by_ids(catalog.ids_where("m", [before])).values()
            } == {"a.jpg", "b.jpg", "e_1.jpg", "f.jpg"}
    (weekend,) = shorthands(weekdays=(0, 6))  # 2023-03-05 was a Sunday, 2022-12-31 a Saturday
    assert {row["name"] for row in catalog.items_by_ids(catalog.ids_where("m", [weekend])).values()
            } == {"a.jpg", "e_1.jpg"}
    assert catalog.filter_ids("m") is None  # no filter: no candidate restriction


def test_quote_round_trips_any_text():
    for text in ("it's", 'say "hi"', "''", "a\nb", "增值税", "\udce9", ""):
        token = compile_where(f"note = {quote(text)}", FIELDS)
        assert token.params[-1] in (text, text.encode("utf-8", "surrogateescape")), text


# -- errors: one line, the column, never SQL -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("ratng >= 3", 1, ["unknown field 'ratng'", "did you mean 'rating'", "huisou fields"]),
        ('rating >= "abc"', 11, ["'rating' is an int field", '"abc" is not a number']),
        ("rating >= 3; DROP TABLE items", 11, ["'3;' is not a number"]),
        ("name = 'x'; DROP TABLE items", 11, ["expected 'and', 'or' or the end", "';'"]),
        ("name = 'x' or 1=1", 15, ["expected a field name"]),
        ("name = 'it''s", 8, ["quote ' opened here is never closed"]),
        ('note ~ "unbalanced', 8, ["quote \" opened here is never closed"]),
        ("(rating >= 3", 13, ["'(' at column 1 is never closed"]),
        ("rating >= 3)", 12, ["unexpected ')'"]),
        ("rating", 7, ["expected an operator after 'rating'"]),
        ("rating >=", 10, ["expected a value after '>='"]),
        ("rating ~ 3", 8, ["'~' does not apply to 'rating' (int)"]),
        ("gps >= 3", 5, ["does not apply to 'gps' (geo)", "gps near LAT,LON,KM"]),
        ("gps near 91,0,1", 10, ["latitude -90..90"]),
        ("gps near 1,2", 13, ["expected ','"]),
        ("taken_at >= yesterday", 13, ["'yesterday' is not a date like 2023"]),
        ("taken_at >= 2023-02-30", 13, ["is not a date"]),
        ("flagged = yes", 11, ["'yes' is not true or false"]),
        ("rating >= 1e999", 11, ["not a finite number"]),
        ("rating >= 99999999999999999999", 11, ["does not fit in 64 bits"]),
        ("rating is nul", 11, ["expected 'null'"]),
        ("note ~ ''", 8, ["'~' needs some text"]),
        ("", 1, ["empty expression"]),
        ("   ", 1, ["empty expression"]),
        ("rating ! 3", 8, ["unexpected '!'"]),
        ("评分 >= 3", 1, ["expected a field name"]),
        ("rating >= 3 and", 16, ["expected a field name, got the end"]),
    ],
)
def test_bad_expressions_point_at_the_column(text, column, words):
    error = _error(text)
    assert error.column == column, str(error)
    line = error.describe(text)
    assert line.startswith("--where '") and "\n" not in line and f"at column {column}" in line, line
    for word in words:
        assert word in line, line


def test_hostile_sizes_are_refused_quickly():
    assert "too long" in str(_error("rating >= 3 and " * (MAX_CHARS // 10)))
    deep = "(" * 200 + "rating >= 3" + ")" * 200
    assert "nested too deeply" in str(_error(deep))
    nots = "not " * 500 + "rating >= 3"
    assert "nested too deeply" in str(_error(nots))
    many = " or ".join(["rating >= 3"] * (MAX_CONDITIONS + 1))
    assert "too many conditions" in str(_error(many))
    assert compile_where(" or ".join(["rating >= 3"] * MAX_CONDITIONS), FIELDS)


def test_values_are_parameters_never_sql(catalog):
    """Whatever the text, it is bound: the SQL holds only ``?`` and the compiler's words."""
    nasty = "x'); DROP TABLE items; --"
    for text in (f"note = {quote(nasty)}", f"note ~ {quote(nasty)}", f"tags has {quote(nasty)}",
                 f"folder under {quote(nasty)}", f'name = "{nasty}"'):
        condition = compile_where(text, FIELDS)
        assert "DROP" not in condition.sql, text
        assert any(nasty in str(param) for param in condition.params), text
        assert _names(catalog, text) == set()
    assert catalog.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 6
    fts = compile_where('note ~ \'"发票" OR a*\'', FIELDS)  # FTS5 syntax stays a phrase
    assert catalog.items_by_ids(catalog.ids_where("m", [fts])) == {}


def test_a_field_only_the_library_remembers_is_filterable():
    from huisou.core.fields import Field
    from huisou.core.where import known_fields

    gone = Field("stars", "int", "from an uninstalled plugin", owner="old")
    fields = known_fields(BUILTINS, [gone, Field("name", "int", owner="liar")])
    assert fields["stars"] is gone and fields["name"] is BUILTINS["name"]
    assert compile_where("stars >= 2", fields).params == ("stars", 2)


# -- end to end: the CLI on real photos ------------------------------------------------------

#: file -> (rating, tags) as the test extractor gives them
VALUES = {
    "Canon_40D.jpg": (5, ["family", "家人"]),
    "Nikon_COOLPIX_P1.jpg": (3, ["beach"]),
    "Pentax_K10D.jpg": (1, ["family"]),
    "chelsea.png": (4, ["cat", "family"]),
    "rocket.jpg": (None, ["space"]),
    "coffee.png": (None, None),
}
PLUGIN = f'''
import os

from huisou import hookimpl
from huisou.core.interfaces import MetadataExtractor
from huisou.testing.fakes import register_embedding_backends  # noqa: F401

VALUES = {VALUES!r}


class Ratings(MetadataExtractor):
    """Stands in for an XMP reader: the values of the photo by its file name."""

    name = "test-ratings"

    def extract(self, item, fp):
        rating, tags = VALUES.get(os.path.basename(item.path), (None, None))
        found = {{"rating": rating, "tags": tags}}
        return {{key: value for key, value in found.items() if value is not None}}


@hookimpl
def register_fields(register):
    register("rating", "int", "Stars from 0 to 5")
    register("tags", "tags", "Keywords", fulltext=True)


@hookimpl
def register_metadata_extractors(register):
    register(Ratings())
'''


@pytest.fixture
def rated(huisou_home: Path, tmp_path: Path):
    """Real photos indexed with the fake backend; the plugin's extractor gives ratings/tags."""
    from huisou.cli.main import main

    plugins = huisou_home / "plugins"
    plugins.mkdir()
    (plugins / "ratings.py").write_text(PLUGIN)
    (huisou_home / "config.toml").write_text(
        'backend = "fake"\nstore = "numpy"\nbatch_size = 4\nplugins_dir = "plugins"\n'
    )
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in VALUES:
        folder = "exif_camera" if name[0].isupper() else "natural"
        shutil.copy(DATA / folder / name, photos / name)
    with pytest.raises(SystemExit) as exited:
        main(["index", str(photos)])
    assert exited.value.code == 0
    return photos


def _search(run_cli, *args: str) -> list[dict]:
    code, out, err = run_cli("search", "photo", "--json", "--min-score", "off", "--top", "50",
                             *args)
    assert code == 0, err
    return json.loads(out)


def test_search_where_returns_exactly_the_matching_photos(rated, run_cli):
    hits = _search(run_cli, "--where", "rating >= 3")
    assert {Path(h["path"]).name: h["fields"]["rating"] for h in hits} == {
        "Canon_40D.jpg": 5, "Nikon_COOLPIX_P1.jpg": 3, "chelsea.png": 4}
    assert all(h["camera"] is not None or h["path"].endswith(".png") for h in hits)
    both = _search(run_cli, "--where", "rating >= 3", "--where", "tags has family")
    assert {Path(h["path"]).name for h in both} == {"Canon_40D.jpg", "chelsea.png"}
    assert both[0]["fields"]["tags"] in (["family", "家人"], ["cat", "family"])
    chinese = _search(run_cli, "--where", "tags ~ 家人 or tags has space")
    assert {Path(h["path"]).name for h in chinese} == {"Canon_40D.jpg", "rocket.jpg"}
    unrated = _search(run_cli, "--where", "rating is null")
    assert {Path(h["path"]).name for h in unrated} == {"rocket.jpg", "coffee.png"}
    coffee = next(h for h in unrated if "coffee" in h["path"])["fields"]
    assert _without_ocr(coffee) == {}  # the built-in OCR plugin may have read something


def test_shorthand_options_and_their_expressions_agree(rated, run_cli):
    def names(*args: str) -> set[str]:
        return {Path(h["path"]).name for h in _search(run_cli, *args)}

    assert names("--camera", "canon") == names("--where", "camera ~ canon") == {"Canon_40D.jpg"}
    assert names("--no-gps") == names("--where", "gps is null")
    assert names("--after", "2008-04-01", "--before", "2008-05-10") == names(
        "--where", "taken_at >= 2008-04 and taken_at < 2008-05-10") == {"Pentax_K10D.jpg"}
    assert names("--where", "taken_at = 2008-05") == {"Pentax_K10D.jpg", "Canon_40D.jpg"}
    assert names("--camera", "canon") | names("--camera", "nikon") == names(
        "--where", "camera ~ canon or camera ~ nikon")


def test_sort_date_orders_the_same_hits_newest_first(rated, run_cli):
    by_score = _search(run_cli, "--where", "taken_at is not null")
    by_date = _search(run_cli, "--where", "taken_at is not null", "--sort", "date")
    assert {h["path"] for h in by_date} == {h["path"] for h in by_score}
    dates = [h["taken_at"] for h in by_date]
    assert len(dates) >= 3 and dates == sorted(dates, reverse=True)
    scores = [h["score"] for h in by_score]
    assert scores == sorted(scores, reverse=True)


def test_bad_where_is_one_line_with_the_column(rated, run_cli):
    code, out, err = run_cli("search", "photo", "--where", "ratng >= 3")
    assert code == 2 and out == ""
    assert err == ("huisou: error: --where 'ratng >= 3': unknown field 'ratng' at column 1 "
                   "(did you mean 'rating'? fields: huisou fields)\n")
    code, _out, err = run_cli("search", "photo", "--where", "rating >= 3; DROP TABLE items")
    assert code == 2 and err.count("\n") == 1 and "column 11" in err
    conn = sqlite3.connect(rated.parent / "huisou-home" / "library.db")
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == len(VALUES)
    conn.close()
    code, _out, err = run_cli("search", "photo", "--sort", "random")
    assert code == 2 and "random" in err


def test_info_shows_plugin_fields(rated, run_cli):
    code, out, err = run_cli("info", str(rated / "Canon_40D.jpg"), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert _without_ocr(data["fields"]) == {"rating": 5, "tags": ["family", "家人"]}
    assert data["metadata"]["camera_make"] == "Canon"  # the built-ins stay where they were
    code, out, _err = run_cli("info", str(rated / "Canon_40D.jpg"))
    assert "rating:" in out and "5" in out and "family, 家人" in out


def test_understood_dates_and_where_meet_in_one_query(rated, run_cli):
    """A query that is only a date ("2008年5月") lists the photos of that month: with a
    --where, only those matching it too."""
    code, out, err = run_cli("search", "2008年5月", "--json")
    assert code == 0, err
    assert {Path(h["path"]).name for h in json.loads(out)} == {"Canon_40D.jpg", "Pentax_K10D.jpg"}
    code, out, err = run_cli("search", "2008年5月", "--json", "--where", "rating >= 3")
    hits = json.loads(out)
    assert [(Path(h["path"]).name, h["fields"]["rating"]) for h in hits] == [("Canon_40D.jpg", 5)]
    assert hits[0]["understood"]["taken_after"] == "2008-05-01"
    code, out, err = run_cli("search", "2008年5月", "--json", "--where", "rating >= 6")
    assert json.loads(out) == [] and "matches the filters" in err


def test_a_huge_name_or_value_is_shortened_in_the_message():
    line = _error("x" * 3000 + " >= 3").describe("x" * 3000 + " >= 3")
    assert len(line) < 300 and "unknown field 'xxx" in line
    line = _error("rating >= " + "9" * 3000 + "x").describe("rating >= " + "9" * 3000 + "x")
    assert len(line) < 300 and "is not a number" in line
    line = _error("rating >= " + "9" * 3000).describe("rating >= " + "9" * 3000)
    assert len(line) < 300 and "does not fit in 64 bits" in line


def _without_ocr(fields: dict) -> dict:
    """Plugin fields without the built-in OCR plugin's (it reads whatever the photos show)."""
    return {name: value for name, value in fields.items() if not name.startswith("ocr_")}
