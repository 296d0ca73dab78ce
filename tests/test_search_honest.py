"""Search says why it found nothing, checks its arguments, and accepts queries starting with ``-``.

Issue 11: after ``huisou models quantize`` the ``auto`` precision switched to int8, whose
vectors did not exist, and every search printed only "no matches" (the same for an empty
library or an unindexed model); ``--min-score 2``, ``nan`` and reversed dates were accepted
silently; a query starting with ``-`` needed ``--``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TINY = TESTS / "models" / "tiny_clip"
NATURAL = TESTS / "data" / "natural"
FAKES = "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n"


@pytest.fixture
def fake_home(huisou_home: Path) -> Path:
    plugins = huisou_home / "plugins"
    plugins.mkdir()
    (plugins / "fakes.py").write_text(FAKES)
    (huisou_home / "config.toml").write_text(
        'backend = "fake"\nstore = "numpy"\nbatch_size = 2\nplugins_dir = "plugins"\n'
    )
    return huisou_home


@pytest.fixture
def colours(tmp_path: Path) -> Path:
    from PIL import Image

    root = tmp_path / "colours"
    root.mkdir()
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 40D"
    Image.new("RGB", (64, 48), (230, 20, 20)).save(root / "red.jpg", exif=exif)
    Image.new("RGB", (64, 48), (20, 20, 230)).save(root / "blue.jpg")
    return root


def test_an_empty_library_says_so(fake_home, run_cli):
    code, out, err = run_cli("search", "red")
    assert code == 0 and out == ""
    assert "library is empty" in err and "huisou index" in err, err
    code, out, err = run_cli("search", "red", "--json")
    assert code == 0 and json.loads(out) == [] and "library is empty" in err


def test_all_results_below_min_score_says_so(fake_home, run_cli, colours):
    assert run_cli("index", str(colours))[0] == 0
    code, out, err = run_cli("search", "red", "--min-score", "0.99999")
    assert code == 0 and out == ""
    assert "below --min-score 0.99999" in err and "best" in err, err


def test_filters_that_exclude_everything_say_so(fake_home, run_cli, colours):
    assert run_cli("index", str(colours))[0] == 0
    code, _out, err = run_cli("search", "red", "--camera", "Leica")
    assert code == 0 and "no indexed photo matches the filters" in err, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--min-score", "2"], ["--min-score", "-1 to 1"]),
        (["--min-score", "nan"], ["--min-score", "-1 to 1"]),
        (["--min-score", "x"], ["--min-score", "not a number"]),
        (["--after", "2024-05-01", "--before", "2020-01-01"], ["not earlier than"]),
    ],
)
def test_bad_search_arguments_are_one_line_usage_errors(fake_home, run_cli, args, words):
    code, _out, err = run_cli("search", "red", *args)
    assert code == 2 and err.startswith("huisou: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize(
    "args",
    [
        ["-blue", "--json"],
        ["--json", "-blue"],
        ["red -blue", "--json"],
        ["-house", "--json"],  # -h is help: not when it is the start of a word
        ["-nothing", "--json"],  # -n is --top: only -n with digits is
        ["--json", "--", "-blue"],
    ],
)
def test_a_query_may_start_with_a_dash(fake_home, run_cli, colours, args):
    assert run_cli("index", str(colours))[0] == 0
    code, out, err = run_cli("search", *args)
    assert code == 0, err
    assert isinstance(json.loads(out), list)


def test_short_options_still_work_beside_dash_queries(fake_home, run_cli, colours):
    assert run_cli("index", str(colours))[0] == 0
    code, out, err = run_cli("search", "-blue", "-n1", "--json")
    assert code == 0 and len(json.loads(out)) == 1, err
    code, out, err = run_cli("search", "-n", "1", "red", "--json")
    assert code == 0 and len(json.loads(out)) == 1, err
    code, _out, err = run_cli("search", "red", "--tpo", "3")
    assert code == 2 and "--tpo" in err


def test_search_json_uses_the_shared_schema(fake_home, run_cli, colours):
    assert run_cli("index", str(colours))[0] == 0
    code, out, _err = run_cli("search", "red", "--json")
    hits = {Path(hit["path"]).name: hit for hit in json.loads(out)}
    assert hits["red.jpg"]["camera"] == {"make": "Canon", "model": "Canon EOS 40D"}
    assert hits["blue.jpg"]["camera"] is None and hits["blue.jpg"]["gps"] is None
    code, out, _err = run_cli("info", str(colours / "red.jpg"), "--json")
    assert json.loads(out)["camera"] == {"make": "Canon", "model": "Canon EOS 40D"}
    code, out, _err = run_cli("sources", "list", "--json")
    added = json.loads(out)[0]["added_at"]
    assert added[10] == "T" and (added.endswith("Z") or added[-6] in "+-"), added


def test_after_quantize_search_explains_the_missing_int8_vectors(huisou_home, run_cli, tmp_path):
    """The reported case: index at fp32, quantize (auto now means int8), search."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for source in sorted(p for p in NATURAL.iterdir() if p.suffix == ".png")[:3]:
        shutil.copy(source, photos / source.name)
    (huisou_home / "config.toml").write_text('store = "numpy"\nthreads = 1\n')
    assert run_cli("models", "install", str(TINY), "--name", "tiny")[0] == 0
    assert run_cli("index", str(photos), "--model", "tiny")[0] == 0
    code, out, _err = run_cli("search", "a cat", "--model", "tiny", "--json")
    assert code == 0 and len(json.loads(out)) == 3
    code, _out, err = run_cli("models", "quantize", "tiny")
    assert code == 0, err
    quant = json.loads((huisou_home / "models" / "tiny" / "quantization.json").read_text())
    # auto switches to int8 when the measurement passed; else force what auto would do
    precision = [] if quant["recommended"] else ["--precision", "int8"]
    code, out, err = run_cli("search", "a cat", "--model", "tiny", *precision)
    assert code == 0 and out == ""
    assert "no vectors for model 'tiny'" in err and "huisou index" in err, err
    assert "--precision" in err, err
    code, out, _err = run_cli("search", "a cat", "--model", "tiny", "--precision", "fp32", "--json")
    assert len(json.loads(out)) == 3
