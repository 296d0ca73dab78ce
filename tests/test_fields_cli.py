"""``huisou fields [--json]``: built-in and plugin fields with types and owners, and fields the
library remembers from a plugin that was uninstalled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huisou.core.fields import BUILTIN_FIELDS

PLUGIN = '''
from huisou import hookimpl


@hookimpl
def register_fields(register):
    register("stars", "int", "Stars from 0 to 5")
    register("caption", "text", "What the photo shows", fulltext=True)
    register("stars", "text", "a clash: reported, ignored")
'''


@pytest.fixture
def with_plugin(huisou_home: Path) -> Path:
    plugins = huisou_home / "plugins"
    plugins.mkdir()
    (plugins / "captions.py").write_text(PLUGIN)
    (huisou_home / "config.toml").write_text('plugins_dir = "plugins"\n')
    return plugins / "captions.py"


def test_fields_json_lists_builtins_and_plugin_fields(with_plugin, run_cli):
    code, out, err = run_cli("fields", "--json")
    assert code == 0, err
    rows = json.loads(out)
    by_name = {row["name"]: row for row in rows}
    assert [row["name"] for row in rows[: len(BUILTIN_FIELDS)]] == [
        f.name for f in BUILTIN_FIELDS]
    assert by_name["taken_at"] == {
        "name": "taken_at", "type": "datetime", "owner": "huisou", "builtin": True,
        "fulltext": False, "installed": True, "photos": None,
        "description": "When the photo was taken (wall clock where it was taken)"}
    assert by_name["gps"]["type"] == "geo" and by_name["camera"]["type"] == "text"
    assert by_name["stars"] == {
        "name": "stars", "type": "int", "owner": "plugins_dir:captions", "builtin": False,
        "fulltext": False, "installed": True, "photos": 0, "description": "Stars from 0 to 5"}
    assert by_name["caption"]["fulltext"] is True
    assert len(by_name) == len(rows)  # the clashing re-declaration is not a second field
    plugin_rows = [row["name"] for row in rows[len(BUILTIN_FIELDS):]]
    assert plugin_rows == sorted(plugin_rows)  # installed example plugins may add theirs
    assert not any(row["builtin"] for row in rows[len(BUILTIN_FIELDS):])


def test_fields_text_lists_one_line_per_field(with_plugin, run_cli):
    code, out, _err = run_cli("fields")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(json.loads(run_cli("fields", "--json")[1]))
    caption = next(line for line in lines if line.startswith("caption "))
    assert "text" in caption and "captions" in caption and "full text" in caption
    assert "0 photos" in caption


def test_a_field_whose_plugin_is_gone_is_listed_and_still_filterable(
    with_plugin, huisou_home, run_cli, tmp_path
):
    from huisou.core import field_store
    from huisou.core.catalog import Catalog
    from huisou.core.fields import Field, coerce
    from PIL import Image

    (huisou_home / "config.toml").write_text(
        'plugins_dir = "plugins"\nbackend = "fake"\nstore = "numpy"\n')
    (with_plugin.parent / "fakes.py").write_text(
        "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, colour in (("red.jpg", (230, 20, 20)), ("blue.jpg", (20, 20, 230))):
        Image.new("RGB", (64, 48), colour).save(photos / name)
    assert run_cli("index", str(photos))[0] == 0
    mood = Field("mood", "text", "How it feels", owner="moods")
    catalog = Catalog(huisou_home / "library.db")
    with catalog.transaction():
        field_store.record_declarations(catalog.conn, [mood])
        item = catalog.item_by_path(str((photos / "red.jpg").resolve()))
        field_store.replace_values(catalog.conn, item["id"], {"mood": ("moods", coerce(mood,
                                                                                       "calm"))})
    catalog.close()

    rows = {row["name"]: row for row in json.loads(run_cli("fields", "--json")[1])}
    assert rows["mood"]["installed"] is False and rows["mood"]["owner"] == "moods"
    assert rows["mood"]["photos"] == 1
    assert "plugin 'moods' not installed" in run_cli("fields")[1]
    code, out, err = run_cli("search", "red", "--json", "--min-score", "off",
                             "--where", "mood ~ cal")
    assert code == 0, err
    hits = json.loads(out)
    assert [Path(h["path"]).name for h in hits] == ["red.jpg"]
    assert hits[0]["fields"] == {"mood": "calm"}


def test_fields_without_a_library_lists_the_declared_ones(huisou_home, run_cli):
    code, out, err = run_cli("fields", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [row["name"] for row in rows[: len(BUILTIN_FIELDS)]] == [
        f.name for f in BUILTIN_FIELDS]
    # plugins installed through entry points (the examples, in CI) declare theirs; no values
    assert all(row["installed"] and row["photos"] == 0 for row in rows[len(BUILTIN_FIELDS):])
    assert not (huisou_home / "library.db").exists()  # a read-only command creates nothing
