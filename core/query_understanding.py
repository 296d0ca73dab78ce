"""Time and place written in a query ("red circle in March 2023", "2023年3月的红色圆圈",
"去年春节", "cat in Beijing", "在上海的猫") become filters; the rest of the query is what the
photo should show. Places: :mod:`huisou.core.places`.

Why not dateparser: measured here (1.5.0), importing it takes 2.5 s and its first
``search_dates`` 3.6 s (a cold ``huisou search`` has a 1 s budget); ``search_dates`` reads
"2023年3月" as year 3 and "2021年" as year 5; it knows no seasons ("last summer"), weekends
("周末") or festivals ("春节"). The expressions people type into a photo search are few, so
they are rules here, in English and Chinese; lunar festivals come from ``lunardate`` (pure
Python, no data files), imported only when a festival is named.

Ranges are half-open ``[after, before)`` ISO dates compared with the catalog's ``taken_at``
(the camera's local time). Seasons are the northern hemisphere's meteorological ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from huisou.core.errors import HuisouError
from huisou.core.places import Place, find_place

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
ZH_SEASONS = {"春天": 3, "春季": 3, "夏天": 6, "夏季": 6, "秋天": 9, "秋季": 9, "冬天": 12, "冬季": 12}
#: Lunar festivals: (lunar month, day, days before, days after) around the festival day.
ZH_FESTIVALS = {
    "春节": (1, 1, 1, 7),
    "元宵节": (1, 15, 0, 1),
    "元宵": (1, 15, 0, 1),
    "端午节": (5, 5, 0, 1),
    "端午": (5, 5, 0, 1),
    "中秋节": (8, 15, 0, 1),
    "中秋": (8, 15, 0, 1),
}
EN_FESTIVALS = {"chinese new year": "春节", "spring festival": "春节", "mid-autumn festival": "中秋节"}
ZH_YEARS = {"今年": 0, "去年": -1, "前年": -2}


@dataclass(frozen=True)
class Understood:
    """A query split into what the photo shows (``text``) and when it was taken."""

    text: str
    after: str | None = None
    before: str | None = None
    phrase: str | None = None
    place: Place | None = None
    place_phrase: str | None = None
    #: Days of the week (SQLite ``%w``: 0 Sunday … 6 Saturday) for "周末", "on weekends".
    weekdays: tuple[int, ...] | None = None
    weekday_phrase: str | None = None
    #: Why something that looked like a place was not understood (a missing extra).
    notice: str | None = None

    @property
    def has_filter(self) -> bool:
        return any(v is not None for v in (self.after, self.before, self.place, self.weekdays))

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "date_phrase": self.phrase,
            "taken_after": self.after,
            "taken_before": self.before,
            "place_phrase": self.place_phrase,
            "place": self.place.to_json() if self.place else None,
            "weekday_phrase": self.weekday_phrase,
            "weekdays": list(self.weekdays) if self.weekdays else None,
        }

    def describe(self) -> str:
        """One line for stderr."""
        parts = []
        if self.after or self.before:
            last = date.fromisoformat(self.before) - timedelta(days=1) if self.before else None
            span = f"{self.after or '…'} – {last.isoformat() if last else '…'}"
            parts.append(f"taken {span} (from {self.phrase!r})")
        if self.place:
            where = f"{self.place.name}, {self.place.country}-{self.place.region}"
            parts.append(f"taken in {where} (from {self.place_phrase!r})")
        if self.weekdays:
            parts.append(f"on weekends (from {self.weekday_phrase!r})")
        return f"understood: {'; '.join(parts)}; searching for {self.text!r}"


def understand(query: str, today: date | None = None) -> Understood:
    """The first time expression and the first place in ``query``, and the rest of it."""
    when = _understand_weekend(_understand_date(query, today or date.today()))
    try:
        found = find_place(when.text)
    except HuisouError as exc:  # the places extra is missing: search the words as written
        return replace(when, notice=str(exc))
    if found is None:
        return when
    place, start, end = found
    rest = _tidy(when.text[:start] + " " + when.text[end:])
    return replace(when, text=rest, place=place, place_phrase=when.text[start:end].strip())


_WEEKEND = re.compile(r"(?:\b(?:on|at)\s+(?:the\s+)?)?\bweekends?\b|(?:在)?周末的?", re.I)


def _understand_weekend(when: Understood) -> Understood:
    """"周末", "on weekends": Saturdays and Sundays (any week, within the date range if any)."""
    match = _WEEKEND.search(when.text)
    if match is None:
        return when
    rest = _tidy(when.text[: match.start()] + " " + when.text[match.end() :])
    return replace(when, text=rest, weekdays=(6, 0), weekday_phrase=match.group(0).strip())


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,，。的")


def _understand_date(query: str, today: date) -> Understood:
    for pattern, to_range in _RULES:
        match = pattern.search(query)
        if match is None:
            continue
        span = to_range(match, today)
        if span is None:
            continue
        rest = _tidy(query[: match.start()] + " " + query[match.end() :])
        return Understood(rest, span[0].isoformat(), span[1].isoformat(), match.group(0).strip())
    return Understood(query)


def _month(year: int, month: int) -> tuple[date, date]:
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), end


def _season(year: int, first_month: int) -> tuple[date, date]:
    """Three months from ``first_month`` of ``year`` (winter runs into the next year)."""
    start = date(year, first_month, 1)
    end_month = first_month + 3
    return start, date(year + (end_month > 12), (end_month - 1) % 12 + 1, 1)


def _last_season(first_month: int, today: date, this: bool) -> tuple[date, date]:
    """``this`` season of today's year, or the latest one that ended before today."""
    if this:
        return _season(today.year, first_month)
    year = today.year
    while _season(year, first_month)[1] > today:
        year -= 1
    return _season(year, first_month)


def _festival(name: str, year: int) -> tuple[date, date]:
    try:
        from lunardate import LunarDate
    except ImportError:
        from huisou.core.errors import HuisouError

        raise HuisouError(
            f"understanding {name!r} needs the lunar calendar: pip install 'huisou[query]' "
            "(or search with --literal)"
        ) from None

    month, day, before, after = ZH_FESTIVALS[name]
    solar = LunarDate(year, month, day).to_solar_date()
    return solar - timedelta(days=before), solar + timedelta(days=after)


def _latest_festival(name: str, today: date) -> tuple[date, date]:
    span = _festival(name, today.year)
    return span if span[0] <= today else _festival(name, today.year - 1)


def _int(match: re.Match[str], group: str) -> int:
    return int(match.group(group))


_CONNECT = r"(?:(?:taken |photos? )?(?:in|from|during|on|of)\s+)?"
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_FESTIVAL_ZH = "|".join(sorted(ZH_FESTIVALS, key=len, reverse=True))
_FESTIVAL_EN = "|".join(EN_FESTIVALS)

Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], "tuple[date, date] | None"]]
_RULES: list[Rule] = [
    (
        re.compile(r"在?(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]的?"),
        lambda m, _t: (
            date(_int(m, "y"), _int(m, "m"), _int(m, "d")),
            date(_int(m, "y"), _int(m, "m"), _int(m, "d")) + timedelta(days=1),
        ),
    ),
    (
        re.compile(r"在?(?P<y>\d{4})年(?P<m>\d{1,2})月(?:份)?的?"),
        lambda m, _t: _month(_int(m, "y"), _int(m, "m")),
    ),
    (
        re.compile(rf"在?(?P<y>\d{{4}})年的?(?P<f>{_FESTIVAL_ZH})的?"),
        lambda m, _t: _festival(m.group("f"), _int(m, "y")),
    ),
    (
        re.compile(rf"在?(?P<rel>今年|去年|前年)的?(?P<f>{_FESTIVAL_ZH})的?"),
        lambda m, t: _festival(m.group("f"), t.year + ZH_YEARS[m.group("rel")]),
    ),
    (
        re.compile(r"在?(?P<rel>今年|去年|前年)(?P<m>\d{1,2})月(?:份)?的?"),
        lambda m, t: _month(t.year + ZH_YEARS[m.group("rel")], _int(m, "m")),
    ),
    (
        re.compile(rf"在?(?P<rel>今年|去年|前年)的?(?P<s>{'|'.join(ZH_SEASONS)})的?"),
        lambda m, t: _season(t.year + ZH_YEARS[m.group("rel")], ZH_SEASONS[m.group("s")]),
    ),
    (
        re.compile(r"在?(?P<y>\d{4})年的?"),
        lambda m, _t: (date(_int(m, "y"), 1, 1), date(_int(m, "y") + 1, 1, 1)),
    ),
    (
        re.compile(r"在?(?P<rel>今年|去年|前年)的?"),
        lambda m, t: (
            date(t.year + ZH_YEARS[m.group("rel")], 1, 1),
            date(t.year + ZH_YEARS[m.group("rel")] + 1, 1, 1),
        ),
    ),
    (
        re.compile(rf"(?P<f>{_FESTIVAL_ZH})的?"),
        lambda m, t: _latest_festival(m.group("f"), t),
    ),
    (re.compile(r"上个?月的?"), lambda _m, t: _month(*_shift_month(t, -1))),
    (re.compile(r"上个?周末的?|上个?星期六"), lambda _m, t: _last_weekend(t)),
    (re.compile(r"(?:这个|本)月的?"), lambda _m, t: _month(t.year, t.month)),
    (re.compile(r"昨天的?"), lambda _m, t: (t - timedelta(days=1), t)),
    (re.compile(r"今天的?"), lambda _m, t: (t, t + timedelta(days=1))),
    (
        re.compile(rf"\b{_CONNECT}(?P<m>{_MONTH_NAMES})\.?,?\s+(?P<y>\d{{4}})\b", re.I),
        lambda m, _t: _month(_int(m, "y"), MONTHS[m.group("m").lower()]),
    ),
    (
        re.compile(r"\b" + _CONNECT + r"(?P<y>\d{4})-(?P<m>\d{2})\b(?!-)", re.I),
        lambda m, _t: _month(_int(m, "y"), _int(m, "m")) if 1 <= _int(m, "m") <= 12 else None,
    ),
    (
        re.compile(rf"\b{_CONNECT}(?:(?P<rel>last|this)\s+)?(?P<f>{_FESTIVAL_EN})\b", re.I),
        lambda m, t: _latest_festival(EN_FESTIVALS[m.group("f").lower()], t)
        if m.group("rel") != "this"
        else _festival(EN_FESTIVALS[m.group("f").lower()], t.year),
    ),
    (
        re.compile(rf"\b{_CONNECT}(?P<rel>last|this)\s+(?P<s>{'|'.join(SEASONS)})\b", re.I),
        lambda m, t: _last_season(
            SEASONS[m.group("s").lower()], t, m.group("rel").lower() == "this"
        ),
    ),
    (
        re.compile(rf"\b{_CONNECT}(?:the\s+)?(?P<s>{'|'.join(SEASONS)})\s+(?:of\s+)?(?P<y>\d{{4}})\b",
                   re.I),
        lambda m, _t: _season(_int(m, "y"), SEASONS[m.group("s").lower()]),
    ),
    (
        re.compile(r"\b" + _CONNECT + r"(?P<rel>last|this)\s+(?P<u>year|month)\b", re.I),
        lambda m, t: _relative_unit(m.group("rel").lower(), m.group("u").lower(), t),
    ),
    (re.compile(r"\blast\s+weekend\b", re.I), lambda _m, t: _last_weekend(t)),
    (re.compile(r"\byesterday\b", re.I), lambda _m, t: (t - timedelta(days=1), t)),
    (re.compile(r"\btoday\b", re.I), lambda _m, t: (t, t + timedelta(days=1))),
    (
        re.compile(r"\b" + _CONNECT + r"(?P<y>(?:19|20)\d{2})\b", re.I),
        lambda m, t: (date(_int(m, "y"), 1, 1), date(_int(m, "y") + 1, 1, 1))
        if _int(m, "y") <= t.year  # "2048 game" is not a date
        else None,
    ),
]


def _last_weekend(today: date) -> tuple[date, date]:
    """The Saturday and Sunday of the latest weekend that started before today."""
    saturday = today - timedelta(days=(today.weekday() - 5) % 7 or 7)
    return saturday, saturday + timedelta(days=2)


def _shift_month(today: date, months: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 + months
    return index // 12, index % 12 + 1


def _relative_unit(rel: str, unit: str, today: date) -> tuple[date, date]:
    shift = -1 if rel == "last" else 0
    if unit == "year":
        return date(today.year + shift, 1, 1), date(today.year + shift + 1, 1, 1)
    return _month(*_shift_month(today, shift))
