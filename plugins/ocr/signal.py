"""The ``ocr`` search signal: the query against the text read in photos.

Two steps, so a search stays one or a few indexed lookups however big the library:

1. **Candidates** from the trigram full-text index (``field_store.text_matches``): values
   holding the whole query or its longest word; only when those are too few, values holding
   either half of it (one misread character, "sunflower2O24", leaves one half intact). When
   the search is already restricted to a small set of photos, their ``ocr_text`` values are
   read directly instead.
2. **Scores** from :func:`.matching.match` on each candidate's lines: an exact phrase beats
   words in any order, which beat a fuzzy match; a line that *is* the query beats one that
   merely contains it. The matched line is shown by ``huisou search --explain``.
"""

from __future__ import annotations

from collections.abc import Iterable

from huisou.core import field_store
from huisou.core.interfaces import SearchSignal, SignalMatch, SignalQuery

from .matching import Match, match, normalize, words

FIELD = "ocr_text"
#: Values read from the index per match wanted, and at least this many: the index returns
#: them unordered, so a common word needs some room for the best ones.
OVERSCAN = 3
MIN_CANDIDATES = 200
#: A normalised query at least this long is also looked up by its halves when whole words did
#: not find enough: one misread character leaves one half intact ("sunflower2O24").
FUZZY_LENGTH = 6
#: A restricted search (``--where``, dates) over at most this many photos reads their text.
DIRECT_READ = 2000
#: Longest query worth matching against photo text (a pasted paragraph is not a search).
MAX_QUERY = 200


class OcrSignal(SearchSignal):
    """Photos whose recognised text matches the query."""

    name = "ocr"
    #: Above CLIP's 1.0: words printed on a photo are stronger evidence than a look-alike.
    weight = 1.5

    def match(self, query: SignalQuery) -> list[SignalMatch]:
        text = query.text.strip()[:MAX_QUERY]
        if not normalize(text) or query.limit <= 0:
            return []
        conn = query.catalog.conn
        allowed = query.candidates
        best: dict[int, Match] = {}
        if allowed is not None and len(allowed) <= DIRECT_READ:
            _score(text, _direct(conn, allowed), allowed, best)
        else:
            cap = max(query.limit * OVERSCAN, MIN_CANDIDATES)
            _score(text, _indexed(conn, _exact_lookups(text), cap), allowed, best, exact=True)
            if len(best) < query.limit:
                _score(text, _indexed(conn, _fuzzy_lookups(text), cap), allowed, best)
        ranked = sorted(best.items(), key=lambda pair: (-pair[1].score, pair[0]))
        return [SignalMatch(item_id, round(found.score, 6), f"{FIELD}: {found.line}")
                for item_id, found in ranked[: query.limit]]


def _score(text: str, values: Iterable[tuple[int, str]], allowed: frozenset[int] | None,
           best: dict[int, Match], *, exact: bool = False) -> None:
    """Add each value's match (when it matches) to ``best``. ``exact``: only exact and
    any-order matches are wanted, so a value without every word is dropped by one cheap test
    on the whole value before its lines are scored."""
    terms = words(text) or [normalize(text)]
    for item_id, value in values:
        if item_id in best or (allowed is not None and item_id not in allowed):
            continue
        if exact:
            whole = normalize(value)
            if not all(term in whole for term in terms):
                continue
        found = match(text, value.split("\n"))
        if found is not None:
            best[item_id] = found


def _exact_lookups(text: str) -> list[str]:
    """The whole query, and its longest word: every value holding all words holds it."""
    words = text.split()
    return [text, max(words, key=len)] if len(words) > 1 else [text]


def _fuzzy_lookups(text: str) -> list[str]:
    joined = normalize(text)
    if len(joined) < FUZZY_LENGTH:
        return []
    middle = len(joined) // 2
    return [joined[:middle], joined[middle:]]


def _direct(conn: object, allowed: frozenset[int]) -> Iterable[tuple[int, str]]:
    values = field_store.values_of(conn, sorted(allowed), {})
    for item_id, by_field in values.items():
        value = by_field.get(FIELD)
        if isinstance(value, str):
            yield item_id, value


def _indexed(conn: object, lookups: list[str], cap: int) -> Iterable[tuple[int, str]]:
    """Values holding any of ``lookups`` (at most ``cap`` per lookup), each item once."""
    seen: set[int] = set()
    for lookup in dict.fromkeys(lookups):
        for item_id, _field, value in field_store.text_matches(conn, lookup, [FIELD], cap):
            if item_id not in seen and isinstance(value, str):
                seen.add(item_id)
                yield item_id, value
