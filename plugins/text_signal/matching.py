"""How well a query matches a name, a folder or a text value: pure functions, no database.

Names are not prose: words are joined by ``_``, ``-``, ``.`` or case, and the extension is
noise. Both sides are normalised (NFKC, case-folded) and split into words at every run of
non-letters-or-digits and where letters meet digits, so ``"red circle"`` is
``red-circle.jpg`` and ``"IMG 0001"``, ``img0001`` and ``IMG_0001`` are the same words. A run of Chinese (or any script written without spaces) is one word, and a query word of
such a script matches inside it as a whole word would: no word splitter is needed.

Match quality, best first (the score's integer part; the fraction is how much of the value
the query covers, so a name that *is* the query beats a long one that contains it):

4. **exact**: the value's words are the query's words;
3. **phrase**: the query's words, in order, as whole words of the value;
2. **words**: every query word is a whole word of the value, in any order;
1. **prefix**: every query word starts a word of the value (``circ`` finds ``circle``, but
   ``cat`` never finds ``vacation``);
0. **partial**: queries of three or more words only: more than half of the words start words
   of the value (more words matched ranks higher); shorter queries need all their words.

One-letter Latin words (``a``) are too common to mean anything and are not required.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SPLIT = re.compile(r"[\W_]+", re.UNICODE)
#: Where letters meet digits: ``IMG0001`` and ``2019beach`` are two words each.
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", re.UNICODE)
_LATIN = re.compile(r"^[a-z0-9]$")
#: Characters of value text shown around a match in ``--explain``.
SNIPPET = 24
EXACT, PHRASE, WORDS, PREFIX, PARTIAL = 4, 3, 2, 1, 0


@dataclass(frozen=True)
class Quality:
    """A match: ``score`` (tier + coverage, higher is better) and its tier's name."""

    score: float
    kind: str


def words(text: str) -> list[str]:
    """``text`` normalised and split into words, in order."""
    folded = _LETTER_DIGIT.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    return [word for word in _SPLIT.split(folded) if word]


def query_words(query: str) -> list[str]:
    """The words a value must contain: no repeats, no one-letter Latin words (unless that is
    all the query has)."""
    found = list(dict.fromkeys(words(query)))
    kept = [word for word in found if not _LATIN.match(word)]
    return kept or found


def needed(terms: list[str]) -> int:
    """How many of the query's words a value must contain to match at all."""
    return len(terms) if len(terms) < 3 else len(terms) // 2 + 1


def quality(terms: list[str], value: str) -> Quality | None:
    """How well the query words ``terms`` (from :func:`query_words`) match ``value``."""
    if not terms:
        return None
    have = words(value)
    if not have:
        return None
    joined = " ".join(have)
    coverage = min(sum(map(len, terms)) / max(len(joined.replace(" ", "")), 1), 0.99)
    if have == terms:
        return Quality(EXACT + coverage, "exact")
    if _bounded(" ".join(terms), joined):
        return Quality(PHRASE + coverage, "phrase")
    if all(_bounded(term, joined) for term in terms):
        return Quality(WORDS + coverage, "words")
    inside = sum(_bounded(term, joined, end=False) for term in terms)
    if inside == len(terms):
        return Quality(PREFIX + coverage, "prefix")
    if len(terms) >= 3 and inside >= needed(terms):
        return Quality(PARTIAL + 0.99 * inside / len(terms), "partial")
    return None


def _bounded(phrase: str, joined: str, *, end: bool = True) -> bool:
    """Whether ``phrase`` is in ``joined`` as whole words (``end`` False: as the start of a
    word, so ``circ`` finds ``circle`` but ``cat`` never finds ``vacation``). Scripts written
    without spaces (Chinese, Japanese: letters of category ``Lo``) have no word edges."""
    before = "" if unicodedata.category(phrase[0]) == "Lo" else r"(?<![^\W_])"
    after = "" if not end or unicodedata.category(phrase[-1]) == "Lo" else r"(?![^\W_])"
    return re.search(before + re.escape(phrase) + after, joined) is not None


def snippet(terms: list[str], value: str) -> str:
    """The part of ``value`` around the first query word, for ``--explain``."""
    folded = value.casefold()
    at = min((folded.find(term) for term in terms if term in folded), default=-1)
    if at < 0 or len(value) <= 2 * SNIPPET:
        return value
    start = max(at - SNIPPET, 0)
    end = min(at + SNIPPET + max(map(len, terms)), len(value))
    return ("…" if start else "") + value[start:end] + ("…" if end < len(value) else "")
