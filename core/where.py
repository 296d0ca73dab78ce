"""``--where``: a small filter language over fields, compiled to SQL with bound parameters.

Why a language of our own: filters must work on any field a plugin declares (``rating >= 3``,
``tags has family``), be checked against the field's declared type before anything runs
(``rating >= "abc"`` is one line pointing at the column), and never build SQL from user text.
The compiler emits SQL over ``items`` as alias ``i`` whose every value is a ``?`` parameter;
field names only choose among columns and SQL fragments written here.

Grammar (keywords are case-insensitive)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | predicate
    predicate  := FIELD ("=" | "!=" | "<" | "<=" | ">" | ">=" | "has") VALUE
                | FIELD "~" VALUE            substring, case-insensitive for ASCII
                | FIELD "under" VALUE        a path or folder, or anything below it
                | FIELD "is" ["not"] "null"
                | FIELD "near" NUMBER "," NUMBER "," NUMBER ["km"]   (lat, lon, km)
    VALUE      := 'text' | "text" | a bare word (3, -1.5, true, 2023-03, canon, 家人)

Inside quotes, a doubled quote stands for itself (``'it''s'``). A value is read by the type of
the field it is compared with: a number for ``int``/``float``, ``true``/``false`` for
``bool``, an ISO date for ``datetime``. A date may stop at any part (``2023``, ``2023-03``,
``2023-03-05T14:30``) and then names that whole period: ``taken_at = 2023-03`` is March 2023,
``taken_at > 2023`` is from 2024 on. A UTC offset may follow a time; it is ignored because
filters compare the wall-clock part (the time zone rule of :mod:`huisou.core.fields`).

A predicate on a field with several values (``tags``) holds when one of its values does;
``!=`` holds when the photo has values and none is equal. A photo without a value fails
every comparison, and ``not`` is the complement (``not rating >= 3`` includes unrated).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from huisou.core import db
from huisou.core.errors import HuisouError
from huisou.core.field_store import TRIGRAM, _phrase
from huisou.core.fields import BUILTINS, Field

#: Limits that keep a hostile expression from costing more than a parse error.
MAX_CHARS = 4000
MAX_CONDITIONS = 64
MAX_DEPTH = 32
#: Kilometres per degree of latitude (mean Earth radius 6371 km).
KM_PER_DEGREE = 111.195

_TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<op>>=|<=|!=|<>|==|=|<|>|~)|(?P<punct>[(),])|(?P<quote>['\"])"
    r"|(?P<word>[^\s()'\",=<>!~]+)|(?P<bad>.)",
    re.S,
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2})(?::(\d{2})(?::(\d{2}))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$"
)
_OPS = {"==": "=", "<>": "!="}
_ORDER = ("=", "!=", "<", "<=", ">", ">=")
#: Which operators each type accepts (``is null`` works on every field).
_ALLOWED = {
    "text": {*_ORDER, "has", "~", "under"},
    "tags": {"=", "!=", "has", "~"},
    "int": {*_ORDER, "has"},
    "float": {*_ORDER, "has"},
    "datetime": {*_ORDER, "has"},
    "bool": {"=", "!=", "has"},
    "geo": {"near"},
}
_TYPEOF = {"int": "IN ('integer', 'real')", "float": "IN ('integer', 'real')",
           "bool": "= 'integer'", "text": "= 'text'", "tags": "= 'text'",
           "datetime": "= 'text'"}


class WhereError(HuisouError):
    """A bad expression: ``reason`` and the 1-based ``column`` it points at."""

    def __init__(self, reason: str, column: int, hint: str = "") -> None:
        self.reason, self.column, self.hint = reason, column, hint
        super().__init__(f"{reason} at column {column}{f' ({hint})' if hint else ''}")

    def describe(self, text: str, option: str = "--where") -> str:
        """One line naming the option and the expression (long ones shortened)."""
        shown = text if len(text) <= 80 else text[:77] + "..."
        shown = " ".join(shown.split())
        return _printable(f"{option} '{shown}': {self}")


class Condition(NamedTuple):
    """A compiled filter: the expression it came from, SQL over ``items i``, parameters."""

    text: str
    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class _Token:
    kind: str  # word, string, op, punct, end
    text: str
    column: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def known_fields(declared: Mapping[str, Field], recorded: Iterable[Field]) -> dict[str, Field]:
    """The fields a filter may name: those declared now, and those the library recorded
    whose plugin is gone (their values are still stored, and still filterable)."""
    fields = dict(declared)
    for field in recorded:
        fields.setdefault(field.name, field)
    return fields


def compile_where(text: str, fields: Mapping[str, Field]) -> Condition:
    """``text`` checked against ``fields`` and compiled; raises :class:`WhereError`."""
    if len(text) > MAX_CHARS:
        raise WhereError(f"expression too long ({len(text)} characters, at most {MAX_CHARS})",
                         MAX_CHARS + 1)
    parser = _Parser(_tokens(text), fields)
    sql, params = parser.parse()
    return Condition(text, sql, tuple(params))


def quote(value: str) -> str:
    """``value`` as a quoted literal of the language (what the shorthands show)."""
    return "'" + value.replace("'", "''") + "'"


def shorthands(
    *,
    folder: str | None = None,
    after: str | None = None,
    before: str | None = None,
    camera: str | None = None,
    has_gps: bool | None = None,
    weekdays: Sequence[int] | None = None,
) -> list[Condition]:
    """The conditions of ``search``'s older options, as the expressions they stand for.

    ``after``/``before`` are ISO bounds used as given (a half-open ``[after, before)``; the
    TUI passes partial ones like ``2024``); ``weekdays`` are SQLite ``%w`` numbers (0 Sunday),
    what query understanding gives for "周末"."""
    out: list[Condition] = []
    if folder:
        sql, params = _under(BUILTINS["folder"], folder)
        out.append(Condition(f"folder under {quote(folder)}", sql, tuple(params)))
    if after:
        sql, params = _test(BUILTINS["taken_at"], "{v} >= ?", [after])
        out.append(Condition(f"taken_at >= {quote(after)}", sql, tuple(params)))
    if before:
        sql, params = _test(BUILTINS["taken_at"], "{v} < ?", [before])
        out.append(Condition(f"taken_at < {quote(before)}", sql, tuple(params)))
    if camera:
        sql, params = _contains(BUILTINS["camera"], camera)
        out.append(Condition(f"camera ~ {quote(camera)}", sql, tuple(params)))
    if has_gps is not None:
        sql, params = _exists(BUILTINS["gps"])
        if not has_gps:
            sql = f"NOT ({sql})"
        out.append(Condition("gps is " + ("not null" if has_gps else "null"), sql,
                             tuple(params)))
    if weekdays:
        days = sorted({int(day) for day in weekdays})
        marks = ",".join("?" * len(days))
        sql, params = _test(BUILTINS["taken_at"],
                            f"CAST(strftime('%w', substr({{v}}, 1, 10)) AS INTEGER) IN ({marks})",
                            days)
        # no syntax of the language says this; the text only describes the condition
        out.append(Condition(f"weekday(taken_at) in {days}", sql, tuple(params)))
    return out


# -- parsing ---------------------------------------------------------------------------------


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match is not None  # the last alternative matches any character
        kind = match.lastgroup or "bad"
        if kind == "quote":
            value, pos = _string(text, pos)
            tokens.append(_Token("string", value, match.start() + 1))
            continue
        if kind == "bad":
            raise WhereError(f"unexpected {match.group()!r}", pos + 1,
                             "operators: = != < <= > >= ~ has under near; quote text with '…'")
        if kind != "space":
            value = _OPS.get(match.group(), match.group())
            tokens.append(_Token(kind, value, pos + 1))
        pos = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    """The quoted literal at ``start`` and the position after it (``''`` is one quote)."""
    mark = text[start]
    parts: list[str] = []
    pos = start + 1
    while True:
        end = text.find(mark, pos)
        if end < 0:
            raise WhereError(f"the quote {mark} opened here is never closed", start + 1)
        parts.append(text[pos:end])
        if text.startswith(mark, end + 1):  # doubled: a literal quote
            parts.append(mark)
            pos = end + 2
            continue
        return "".join(parts), end + 1


class _Parser:
    """Recursive descent over the tokens, building SQL and its parameters as it goes."""

    def __init__(self, tokens: list[_Token], fields: Mapping[str, Field]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields
        self.depth = 0
        self.conditions = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> tuple[str, list[Any]]:
        if self.token.kind == "end":
            raise WhereError("empty expression; e.g. 'rating >= 3'", 1)
        sql, params = self.or_expr()
        if self.token.kind != "end":
            if self.token.text == ")":
                raise WhereError("unexpected ')' (no '(' to close)", self.token.column)
            raise WhereError(f"expected 'and', 'or' or the end, got {_shown(self.token)}",
                             self.token.column)
        return sql, params

    def or_expr(self) -> tuple[str, list[Any]]:
        return self._joined("or", self.and_expr)

    def and_expr(self) -> tuple[str, list[Any]]:
        return self._joined("and", self.not_expr)

    def _joined(self, word: str, part: Any) -> tuple[str, list[Any]]:
        sqls, params = [], []
        while True:
            sql, more = part()
            sqls.append(sql)
            params += more
            if not self.token.is_word(word):
                break
            self.advance()
        if len(sqls) == 1:
            return sqls[0], params
        return "(" + f" {word.upper()} ".join(sqls) + ")", params

    def not_expr(self) -> tuple[str, list[Any]]:
        token = self.token
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise WhereError(f"nested too deeply (at most {MAX_DEPTH} levels)", token.column)
        try:
            if token.is_word("not"):
                self.advance()
                sql, params = self.not_expr()
                return f"NOT ({sql})", params
            if token.text == "(" and token.kind == "punct":
                self.advance()
                sql, params = self.or_expr()
                if self.token.text != ")":
                    raise WhereError(f"the '(' at column {token.column} is never closed; "
                                     f"got {_shown(self.token)}", self.token.column)
                self.advance()
                return f"({sql})", params
            return self.predicate()
        finally:
            self.depth -= 1

    def predicate(self) -> tuple[str, list[Any]]:
        name = self.advance()
        if name.kind != "word" or not _IDENT.match(name.text):
            raise WhereError(f"expected a field name, got {_shown(name)}", name.column,
                             "fields: huisou fields")
        field = self.fields.get(name.text)
        if field is None:
            raise WhereError(f"unknown field {_shown(name)}", name.column, _suggest(name.text,
                                                                                  self.fields))
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise WhereError(f"too many conditions (at most {MAX_CONDITIONS})", name.column)
        op = self.advance()
        if op.is_word("is"):
            return self._null(field)
        operator = op.text.lower() if op.kind == "word" else op.text
        if op.kind not in ("op", "word") or operator not in (*_ORDER, "has", "~", "under",
                                                               "near"):
            raise WhereError(f"expected an operator after {_shown(name)}, got {_shown(op)}",
                             op.column, "= != < <= > >= ~ has under near, or 'is null'")
        if operator not in _ALLOWED[field.type]:
            raise WhereError(f"{operator!r} does not apply to {field.name!r} ({field.type})",
                             op.column, _usable(field))
        if operator == "near":
            return self._near(field)
        value = self.advance()
        if value.kind not in ("word", "string"):
            raise WhereError(f"expected a value after {operator!r}, got {_shown(value)}",
                             value.column)
        return _predicate(field, operator, value)

    def _null(self, field: Field) -> tuple[str, list[Any]]:
        negated = self.token.is_word("not")
        if negated:
            self.advance()
        word = self.advance()
        if not word.is_word("null"):
            raise WhereError(f"expected 'null' after 'is{' not' if negated else ''}', got "
                             f"{_shown(word)}", word.column)
        sql, params = _exists(field)
        return (sql, params) if negated else (f"NOT ({sql})", params)

    def _near(self, field: Field) -> tuple[str, list[Any]]:
        numbers: list[float] = []
        first = self.token.column
        for index in range(3):
            if index:
                comma = self.advance()
                if comma.text != ",":
                    raise WhereError(f"expected ',' in 'near LAT,LON,KM', got {_shown(comma)}",
                                     comma.column)
            token = self.advance()
            text = token.text[:-2] if index == 2 and token.text.lower().endswith("km") else (
                token.text)
            if token.kind != "word" or not _NUMBER.match(text):
                raise WhereError(f"expected a number in 'near LAT,LON,KM', got {_shown(token)}",
                                 token.column)
            numbers.append(float(text))
        lat, lon, km = numbers
        if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < km <= 20_000):
            raise WhereError(f"near {lat:g},{lon:g},{km:g}: latitude -90..90, longitude "
                             "-180..180 and a distance from 0 to 20000 km", first)
        return _near(field, lat, lon, km)


# -- SQL -------------------------------------------------------------------------------------


def _predicate(field: Field, op: str, token: _Token) -> tuple[str, list[Any]]:
    """SQL of ``field op value`` with the value read by the field's type."""
    if op == "~":
        if not token.text:
            raise WhereError("'~' needs some text to look for", token.column)
        return _contains(field, token.text)
    if op == "under":
        return _under(field, token.text)
    op = "=" if op == "has" else op
    if field.type == "datetime":
        start, end = _date_range(token)
        test, params = {
            "=": ("{v} >= ? AND {v} < ?", [start, end]),
            "!=": ("{v} >= ? AND {v} < ?", [start, end]),
            "<": ("{v} < ?", [start]),
            "<=": ("{v} < ?", [end]),
            ">": ("{v} >= ?", [end]),
            ">=": ("{v} >= ?", [start]),
        }[op]
    else:
        value = _literal(field, token)
        mark = db.TEXT if isinstance(value, str) else "?"
        test = f"{{v}} {'=' if op == '!=' else op} {mark}"
        params = [db.text_param(value)]
    if op == "!=":  # has values, and none is equal
        has_sql, has_params = _exists(field)
        sql, more = _test(field, test, params)
        return f"({has_sql} AND NOT ({sql}))", [*has_params, *more]
    return _test(field, test, params)


def _column(field: Field) -> str:
    column = field.columns[0]
    return f"i.{column}" if _IDENT.match(column) else f"NULLIF({column}, '')"


def _test(field: Field, test: str, params: Sequence[Any], lon: str = "") -> tuple[str, list[Any]]:
    """``test`` (over ``{v}``, and ``{lon}`` for geo) held by one of the field's values."""
    if field.builtin:
        value = _column(field)
        longitude = f"i.{field.columns[1]}" if len(field.columns) > 1 else ""
        sql = test.replace("{v}", value).replace("{lon}", longitude)
        if value.startswith("i."):  # the guard keeps the test usable by the column's index
            return f"({value} IS NOT NULL AND {sql})", list(params)
        return f"COALESCE(({sql}), 0)", list(params)  # the expression is evaluated once
    sql = test.replace("{v}", "value").replace("{lon}", "lon")
    guard = f"typeof(value) {_TYPEOF[field.type]} AND " if field.type in _TYPEOF else ""
    # IN (subquery) runs once over the (field, value) index, not once per photo
    return (f"i.id IN (SELECT item_id FROM field_values WHERE field = ? AND {guard}{sql})",
            [field.name, *params])


def _exists(field: Field) -> tuple[str, list[Any]]:
    if field.builtin:
        return f"{_column(field)} IS NOT NULL", []
    return "i.id IN (SELECT item_id FROM field_values WHERE field = ?)", [field.name]


def _contains(field: Field, text: str) -> tuple[str, list[Any]]:
    """Substring match: the trigram index for a plugin field's text of 3+ characters, else
    a scan with ``instr`` (no wildcard characters to escape), ASCII case folded."""
    if not field.builtin and len(text) >= TRIGRAM:
        return ("i.id IN (SELECT v.item_id FROM field_text JOIN field_values v "
                f"ON v.id = field_text.rowid WHERE field_text MATCH {db.TEXT} AND v.field = ?)",
                [db.text_param(_phrase(text)), field.name])
    return _test(field, f"instr(lower({{v}}), lower({db.TEXT})) > 0", [db.text_param(text)])


def _under(field: Field, path: str) -> tuple[str, list[Any]]:
    """The path itself or anything below it (``LIKE`` with its wildcards escaped)."""
    prefix = path.rstrip("/")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return _test(field, f"({{v}} = {db.TEXT} OR {{v}} LIKE {db.TEXT} ESCAPE '\\')",
                 [db.text_param(prefix), db.text_param(escaped + "/%")])


def _near(field: Field, lat: float, lon: float, km: float) -> tuple[str, list[Any]]:
    """Within ``km`` of a point: a bounding box the index can narrow, then an equirectangular
    distance (within 1% below a few hundred km; across the ±180° meridian nothing matches)."""
    dlat = km / KM_PER_DEGREE
    scale = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(dlat / scale, 360.0)
    test = ("{v} BETWEEN ? AND ? AND {lon} BETWEEN ? AND ? AND "
            "(({v} - ?) * ({v} - ?) + ({lon} - ?) * ({lon} - ?) * ?) <= ?")
    params = [lat - dlat, lat + dlat, lon - dlon, lon + dlon, lat, lat, lon, lon,
              scale * scale, dlat * dlat]
    return _test(field, test, params)


def _literal(field: Field, token: _Token) -> Any:
    """The value of ``token`` as the field's type, or a :class:`WhereError` saying why not."""
    kind = field.type
    if kind in ("text", "tags"):
        return token.text
    what = f"{field.name!r} is {'an' if kind == 'int' else 'a'} {kind} field"
    if kind == "bool":
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return int(token.text.lower() == "true")
        raise WhereError(f"{what}: {_shown(token)} is not true or false", token.column)
    if token.kind != "word" or not _NUMBER.match(token.text):
        raise WhereError(f"{what}: {_shown(token)} is not a number", token.column)
    if _INT.match(token.text):
        number = int(token.text)
        if not -(2**63) <= number < 2**63:
            raise WhereError(f"{what}: {_shown(token)} does not fit in 64 bits", token.column)
        return number
    value = float(token.text)
    if not math.isfinite(value):
        raise WhereError(f"{what}: {_shown(token)} is not a finite number", token.column)
    return value


def _date_range(token: _Token) -> tuple[str, str]:
    """``[start, end)`` of the period a partial ISO date names, as ISO prefixes: they compare
    with stored ISO text by the wall-clock part (``2023-03`` <= ``2023-03-05T14:30:00+08:00``
    < ``2023-04``), and the index on ``taken_at`` serves the range."""
    match = _DATE.match(token.text.strip())
    example = "a date like 2023, 2023-03, 2023-03-05 or 2023-03-05T14:30:00+08:00"
    if not match:
        raise WhereError(f"{_shown(token)} is not {example}", token.column)
    parts = [int(p) for p in match.groups()[:6] if p is not None]
    try:
        start = datetime(*parts, *[1] * max(0, 3 - len(parts)))  # type: ignore[misc]
        if len(parts) == 1:
            end = datetime(start.year + 1, 1, 1)
        elif len(parts) == 2:
            end = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)
        else:
            steps = (timedelta(days=1), timedelta(hours=1), timedelta(minutes=1),
                     timedelta(seconds=1))
            end = start + steps[len(parts) - 3]
    except (ValueError, OverflowError):
        raise WhereError(f"{_shown(token)} is not {example}", token.column) from None
    return _iso_prefix(start, len(parts)), _iso_prefix(end, len(parts))


def _iso_prefix(moment: datetime, parts: int) -> str:
    full = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}")
    return full[: (4, 7, 10, 13, 16, 19)[parts - 1]]


# -- messages --------------------------------------------------------------------------------


def _shown(token: _Token) -> str:
    if token.kind == "end":
        return "the end"
    text = token.text if len(token.text) <= 40 else token.text[:37] + "..."
    return repr(text) if token.kind != "string" else '"' + text + '"'


def _printable(text: str) -> str:
    """No lone surrogates (an undecodable argv byte) in a message printed to a terminal."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _suggest(name: str, fields: Mapping[str, Field]) -> str:
    close = difflib.get_close_matches(name.lower(), list(fields), n=1)
    return (f"did you mean {close[0]!r}? " if close else "") + "fields: huisou fields"


def _usable(field: Field) -> str:
    if field.type == "geo":
        return f"use '{field.name} is null', '{field.name} is not null' or " \
               f"'{field.name} near LAT,LON,KM'"
    return "use " + " ".join(sorted(_ALLOWED[field.type])) + " or 'is null'"
