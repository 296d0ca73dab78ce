"""``--where`` selects: with the default ``--min-score``, every photo the expression selects is
listed, best match first, even those the query's adaptive cutoff would drop (issue 13's
"returns exactly the photos rated 3 or more", on a library where not all of them match the
query). ``--min-score auto`` asked explicitly still cuts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RATINGS = {"red-circle.jpg": 4, "blue-square.jpg": 3, "green-triangle.jpg": 5,
           "red-square.jpg": 2}
PLUGIN = f'''
from pathlib import Path

from huisou import hookimpl
from huisou.core.interfaces import MetadataExtractor

RATINGS = {RATINGS!r}


class ByName(MetadataExtractor):
    name = "test-ratings"

    def extract(self, item, fp):
        rating = RATINGS.get(Path(item.path).name)
        return {{}} if rating is None else {{"rating": rating}}


@hookimpl
def register_fields(register):
    register("rating", "int", "stars")


@hookimpl
def register_metadata_extractors(register):
    register(ByName())
'''


@pytest.fixture
def run_cli(run_cli, huisou_home):
    (huisou_home / "plugins").mkdir()
    (huisou_home / "plugins" / "ratings.py").write_text(PLUGIN)
    (huisou_home / "config.toml").write_text('plugins_dir = "plugins"\n')
    return run_cli


def test_where_lists_every_selected_photo_and_auto_still_cuts_when_asked(run_cli, tmp_path):
    photos = tmp_path / "photos"
    shutil.copytree(ROOT / "docs" / "demo-photos", photos)
    code, _out, err = run_cli("index", str(photos), "--model", str(ROOT / "tests/models/toy_shapes"),
                              "--ocr", "off")
    assert code == 0, err
    code, out, err = run_cli("search", "red circle", "--where", "rating >= 3", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert {Path(h["path"]).name: h["fields"]["rating"] for h in hits} == {
        "red-circle.jpg": 4, "blue-square.jpg": 3, "green-triangle.jpg": 5}
    assert Path(hits[0]["path"]).name == "red-circle.jpg"  # ordered by the query
    code, out, err = run_cli("search", "red circle", "--where", "rating >= 3", "--json",
                             "--min-score", "auto")
    assert code == 0, err
    names = {Path(h["path"]).name for h in json.loads(out)}
    assert "red-circle.jpg" in names and names < set(RATINGS)
