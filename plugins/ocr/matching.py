"""How well a query matches the text read from a photo: pure functions, no database.

OCR text is not prose: spaces come and go ("姓名 李明" is read as "姓名李明"), case is the
printer's, and a character may be misread ("sunflower2O24"). So both sides are normalised
(NFKC, case-folded, spaces and punctuation dropped) and a query matches at three levels, best
first:

1. **exact**: the normalised query is a substring of one line (a line that *is* the query
   beats a long line that contains it);
2. **words**: every word of the query is in the text, in any order or line;
3. **fuzzy**: most of the query's character bigrams occur in one line (misread characters,
   partial words); below :data:`FUZZY_MIN` of them it is no match at all.

Chinese needs no word splitter: bigrams and substrings work on characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: Share of a query's bigrams that must occur in one line for a fuzzy match.
FUZZY_MIN = 0.7
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Match:
    """A query's match in a photo's text: ``score`` in (0, 2], the line that matched best."""

    score: float
    line: str
    kind: str  # "exact", "words" or "fuzzy"


def normalize(text: str) -> str:
    """Compatibility-normalised, case-folded, without spaces, punctuation or underscores."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).casefold())


def words(query: str) -> list[str]:
    """The query's words, normalised, empty ones dropped, in order, without repeats."""
    return list(dict.fromkeys(w for w in map(normalize, query.split()) if w))


def bigrams(text: str) -> set[str]:
    """Character bigrams of normalised text (a single character is its own "bigram")."""
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}


def match(query: str, lines: Sequence[str]) -> Match | None:
    """The best match of ``query`` in a photo's ``lines``, or None when it does not match."""
    wanted = normalize(query)
    if not wanted:
        return None
    normalised = [(line, normalize(line)) for line in lines]
    normalised = [(line, norm) for line, norm in normalised if norm]
    if not normalised:
        return None
    exact = [(line, norm) for line, norm in normalised if wanted in norm]
    if exact:
        line, norm = min(exact, key=lambda pair: len(pair[1]))
        return Match(1.0 + len(wanted) / len(norm), line, "exact")
    terms = words(query)
    if len(terms) > 1:
        joined = "".join(norm for _, norm in normalised)
        if all(term in joined for term in terms):
            line = max(normalised, key=lambda pair: sum(t in pair[1] for t in terms))[0]
            return Match(0.9, line, "words")
    query_grams = bigrams(wanted)
    best: Match | None = None
    for line, norm in normalised:
        share = len(query_grams & bigrams(norm)) / len(query_grams)
        if share >= FUZZY_MIN and (best is None or share * 0.8 > best.score):
            best = Match(round(share * 0.8, 4), line, "fuzzy")
    return best
