"""The ``ocr`` search signal: the query against the text read in photos.

Two steps, so a search stays one or a few indexed lookups however big the library:

1. **Candidates** from the trigram full-text index (``field_store.text_matches``): values
   holding the whole query, each of its words, or (for misread characters, "sunflower2O24")
   a few of its trigrams. When the search is already restricted to a small set of photos,
   their ``ocr_text`` values are read directly instead.
2. **Scores** from :func:`.matching.match` on each candidate's lines: an exact phrase beats
   words in any order, which beat a fuzzy match; a line that *is* the query beats one that
   merely contains it. The matched line is shown by ``huisou search --explain``.
"""

from __future__ import annotations

from collections.abc import Iterable

from huisou.core import field_store
from huisou.core.interfaces import SearchSignal, SignalMatch, SignalQuery

from .matching import Match, match, normalize

FIELD = "ocr_text"
#: Values read from the index per match wanted, and at least this many: the index returns
#: them unordered, so a common word needs room for the best ones.
OVERSCAN = 8
MIN_CANDIDATES = 400
#: Trigrams of the query looked up for fuzzy matches, spread over it; most query words.
FUZZY_GRAMS = 4
MAX_WORDS = 8
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
        if allowed is not None and len(allowed) <= DIRECT_READ:
            values = _direct(conn, allowed)
        else:
            cap = max(query.limit * OVERSCAN, MIN_CANDIDATES)
            values = _indexed(conn, text, cap)
        best: dict[int, Match] = {}
        for item_id, value in values:
            if item_id in best or (allowed is not None and item_id not in allowed):
                continue
            found = match(text, value.split("\n"))
            if found is not None:
                best[item_id] = found
        ranked = sorted(best.items(), key=lambda pair: (-pair[1].score, pair[0]))
        return [SignalMatch(item_id, round(found.score, 6), f"{FIELD}: {found.line}")
                for item_id, found in ranked[: query.limit]]


def _direct(conn: object, allowed: frozenset[int]) -> Iterable[tuple[int, str]]:
    values = field_store.values_of(conn, sorted(allowed), {})
    for item_id, by_field in values.items():
        value = by_field.get(FIELD)
        if isinstance(value, str):
            yield item_id, value


def _indexed(conn: object, text: str, cap: int) -> Iterable[tuple[int, str]]:
    """Values that may match: the whole query, each word, then a few trigrams."""
    lookups = [text, *(w for w in text.split()[:MAX_WORDS] if w != text)]
    joined = normalize(text)
    if len(joined) > 3:
        step = max((len(joined) - 3) // (FUZZY_GRAMS - 1), 1)
        lookups += list(dict.fromkeys(joined[i : i + 3]
                                      for i in range(0, len(joined) - 2, step)))[:FUZZY_GRAMS]
    seen: set[int] = set()
    for lookup in dict.fromkeys(lookups):
        for item_id, _field, value in field_store.text_matches(conn, lookup, [FIELD], cap):
            if item_id not in seen and isinstance(value, str):
                seen.add(item_id)
                yield item_id, value

