"""Dates written in a query become a taken-at filter; the rest is what the photo shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TOY = TESTS / "models" / "toy_shapes"
sys.path.insert(0, str(TESTS / "models"))
import shapes  # noqa: E402 - tests/models is not a package

TODAY = date(2026, 12, 2)
#: Six copies of each shape class, taken on these days (three in March 2023).
DAYS = ("2022:03:10", "2022:11:02", "2023:03:05", "2023:03:18", "2023:03:29", "2023:08:20")


@pytest.mark.parametrize(
    ("query", "text", "after", "before"),
    [
        ("red circle in March 2023", "red circle", "2023-03-01", "2023-04-01"),
        ("2023年3月的红色圆圈", "红色圆圈", "2023-03-01", "2023-04-01"),
        ("2023年3月5日的猫", "猫", "2023-03-05", "2023-03-06"),
        ("beach last summer", "beach", "2026-06-01", "2026-09-01"),
        ("去年", "", "2025-01-01", "2026-01-01"),
        ("去年春节的烟花", "烟花", "2025-01-28", "2025-02-05"),  # 春节 2025: 29 January
        ("春节", "", "2026-02-16", "2026-02-24"),  # the latest one: 17 February 2026
        ("去年夏天 海边", "海边", "2025-06-01", "2025-09-01"),
        ("dog in 2021", "dog", "2021-01-01", "2022-01-01"),
        ("summer 2024 beach", "beach", "2024-06-01", "2024-09-01"),
        ("上个月的猫", "猫", "2026-11-01", "2026-12-01"),
        ("winter 2023 snow", "snow", "2023-12-01", "2024-03-01"),
        ("chinese new year fireworks", "fireworks", "2026-02-16", "2026-02-24"),
        ("photos from last year", "", "2025-01-01", "2026-01-01"),
        ("上周末的烟花", "烟花", "2026-11-28", "2026-11-30"),  # TODAY is a Wednesday
        ("beach last weekend", "beach", "2026-11-28", "2026-11-30"),
    ],
)
def test_understands_dates(query, text, after, before):
    from huisou.core.query_understanding import understand

    understood = understand(query, TODAY)
    assert (understood.text, understood.after, understood.before) == (text, after, before)


@pytest.mark.parametrize("query", ["周末的猫", "dog on weekends", "weekend trip"])
def test_understands_weekends(query):
    from huisou.core.query_understanding import understand

    understood = understand(query, TODAY)
    assert understood.weekdays == (6, 0) and understood.after is None
    assert understood.text in ("猫", "dog", "trip")


@pytest.mark.parametrize("query", ["red circle", "room 2048 game", "a 1024px icon", "红色圆圈"])
def test_leaves_queries_without_dates_alone(query):
    from huisou.core.query_understanding import understand

    understood = understand(query, TODAY)
    assert understood.text == query and not understood.has_filter


@pytest.fixture(scope="module")
def dated_library(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Shape photos with EXIF dates over two years plus natural photos, indexed by the CLI."""
    from PIL import Image

    root = tmp_path_factory.mktemp("dated")
    photos = root / "photos"
    photos.mkdir()
    taken: dict[str, str] = {}
    for i, (colour, shape) in enumerate(shapes.all_classes() * len(DAYS)):
        day = DAYS[i // len(shapes.all_classes())]
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = f"{day} 12:00:00"  # DateTimeOriginal
        name = f"{colour}_{shape}_{i}.jpg"
        shapes.make_shape_image(colour, shape, 96, 8_000_000 + i).save(
            photos / name, quality=92, exif=exif
        )
        taken[name] = day.replace(":", "-")
    for path in (TESTS / "data" / "natural").glob("*.[pj][np]g"):
        shutil.copy(path, photos / path.name)
    home = root / "home"
    indexed = _huisou(home, "index", str(photos), "--model", str(TOY), "--store", "numpy")
    assert indexed.returncode == 0, indexed.stderr
    return home, taken


def _huisou(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HUISOU_HOME=str(home), HUISOU_LOAD_PLUGINS="")
    return subprocess.run([sys.executable, "-m", "huisou", *args], env=env, capture_output=True,
                          text=True, timeout=180)


def test_red_circle_in_march_2023(dated_library):
    home, taken = dated_library
    result = _huisou(home, "search", "red circle in March 2023", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    names = {Path(hit["path"]).name for hit in hits}
    wanted = {n for n, day in taken.items() if n.startswith("red_circle") and day[:7] == "2023-03"}
    assert len(wanted) == 3 and names == wanted, names
    assert hits[0]["understood"] == {
        "text": "red circle",
        "date_phrase": "in March 2023",
        "taken_after": "2023-03-01",
        "taken_before": "2023-04-01",
        "place_phrase": None,
        "place": None,
        "weekday_phrase": None,
        "weekdays": None,
    }
    assert "understood: taken 2023-03-01 – 2023-03-31" in result.stderr


def test_chinese_date_is_understood_and_filters(dated_library):
    """The toy model reads no Chinese (its captions are English), so "红色圆圈" cannot pick out
    red circles here; the date filter must still hold for every hit (cutoff off, so there are
    hits to check)."""
    home, taken = dated_library
    result = _huisou(home, "search", "2023年3月的红色圆圈", "--json", "--min-score", "off")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 20
    assert all(taken[Path(hit["path"]).name][:7] == "2023-03" for hit in hits)
    assert hits[0]["understood"]["text"] == "红色圆圈"
    assert hits[0]["understood"]["taken_after"] == "2023-03-01"


def test_literal_turns_parsing_off(dated_library):
    home, taken = dated_library
    result = _huisou(home, "search", "red circle in March 2023", "--json", "--literal",
                     "--min-score", "off")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert "understood" not in hits[0] and "understood" not in result.stderr
    assert {taken[Path(hit["path"]).name][:7] for hit in hits if Path(hit["path"]).name in taken} \
        != {"2023-03"}


def test_weekends(dated_library):
    """2023-03-05, 2023-03-18 and 2023-08-20 are weekend days; the other three are not."""
    home, taken = dated_library
    result = _huisou(home, "search", "red circle on weekends", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    weekend = {"2023-03-05", "2023-03-18", "2023-08-20"}
    wanted = {n for n, day in taken.items() if n.startswith("red_circle") and day in weekend}
    assert {Path(hit["path"]).name for hit in hits} == wanted
    assert hits[0]["understood"]["weekdays"] == [6, 0]
    chinese = _huisou(home, "search", "周末的红色圆圈", "--json", "--min-score", "off")
    assert chinese.returncode == 0, chinese.stderr
    assert {taken[Path(h["path"]).name] for h in json.loads(chinese.stdout)} <= weekend
