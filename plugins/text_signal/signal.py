"""The built-in ``text`` search signal: the query in file names, folders and full-text fields.

What people type is often what they named: ``IMG_2041``, ``passport``, the ``Beach 2019``
folder, a caption or the text read from a photo (a ``fulltext`` field such as ``ocr_text``).
CLIP cannot read any of these, so this signal finds them and fusion
(:mod:`huisou.core.fusion`) puts them among CLIP's results.

Where it looks, each through one query:

- ``items.name`` (the extension dropped): a ``LIKE`` scan of the names that contain the
  query's words (SQLite folds ASCII case), shortest names (the closest matches) first, capped;
- ``items.folder`` *below its source's root* (so "Pictures" in ``~/Pictures`` does not match
  every photo): the library's distinct folders, matched in Python;
- every full-text field the library has recorded (``field_store.text_matches``: the trigram
  index, so Chinese and partial words work), on the query's longest word, then scored.

Each photo keeps its best match; :mod:`.matching` says how good a match is. A folder match
ranks just below a name match of the same quality: it labels many photos, a name one.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from huisou.core import field_store
from huisou.core.interfaces import SearchSignal, SignalMatch, SignalQuery

from .matching import Quality, needed, quality, query_words, snippet

#: Rows read from a scan per match wanted: the scan orders by words found and name length,
#: so the best matches come first; the rest only matter when thousands of names match.
OVERSCAN = 4
MIN_SCAN = 256
#: Most query words a scan tests (one ``instr`` each); a longer query is prose, not a name.
MAX_WORDS = 8
#: Folders per ``IN (...)`` query (SQLite's variable limit is far above).
CHUNK = 500
#: How much a folder match ranks below a name match of the same quality.
FOLDER_PENALTY = 0.5


class TextSignal(SearchSignal):
    """File name, folder and full-text fields against the query text."""

    name = "text"
    #: Twice CLIP's: a photo whose name or text is the query is the user's own label, so a
    #: clear match (rank 1 here) outranks CLIP's best guess that nothing names.
    weight = 2.0

    def match(self, query: SignalQuery) -> list[SignalMatch]:
        terms = query_words(query.text)[:MAX_WORDS]
        if not terms:
            return []
        cap = max(query.limit * OVERSCAN, MIN_SCAN)
        best: dict[int, tuple[float, str]] = {}
        for item_id, score, matched in self._all(query.catalog, terms, query.candidates, cap):
            if item_id not in best or score > best[item_id][0]:
                best[item_id] = (score, matched)
        ranked = sorted(best.items(), key=lambda pair: (-pair[1][0], pair[0]))
        return [SignalMatch(i, round(s, 6), m) for i, (s, m) in ranked[: query.limit]]

    def _all(
        self, catalog: Any, terms: list[str], allowed: frozenset[int] | None, cap: int
    ) -> Iterator[tuple[int, float, str]]:
        yield from _names(catalog.conn, terms, allowed, cap)
        yield from _folders(catalog, terms, allowed, cap)
        yield from _fields(catalog.conn, terms, allowed, cap)


def _names(
    conn: Any, terms: list[str], allowed: frozenset[int] | None, cap: int
) -> Iterator[tuple[int, float, str]]:
    """Photos whose file name (without extension) matches. One scan of the names with a
    ``LIKE`` per word (ASCII case-insensitive in SQLite, and 3x cheaper than ``instr(lower())``),
    longest word first so most names fail on the first test; a query of three words or more
    needs only some of them, so only its longest word is required here."""
    wanted = sorted(terms, key=len, reverse=True)[: 1 if len(terms) >= 3 else len(terms)]
    likes = " AND ".join(["name LIKE ? ESCAPE '\\'"] * len(wanted))
    rows = conn.execute(
        f"SELECT id, name FROM items WHERE {likes} AND status = 'indexed' ORDER BY length(name)",
        [f"%{_escaped(term)}%" for term in wanted],
    )
    kept = 0
    for item_id, name in rows:
        if allowed is not None and item_id not in allowed:
            continue
        name = name if isinstance(name, str) else bytes(name).decode("utf-8", "replace")
        stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
        match = quality(terms, stem)
        if match is not None:
            yield item_id, match.score, f"name: {name}"
        kept += 1
        if kept >= cap:
            break


def _escaped(term: str) -> str:
    """``term`` as literal text inside a ``LIKE`` pattern."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _folders(
    catalog: Any, terms: list[str], allowed: frozenset[int] | None, cap: int
) -> Iterator[tuple[int, float, str]]:
    """Photos in a folder whose path below its source's root matches, best folders first."""
    conn = catalog.conn
    least = needed(terms)
    matched: dict[str, tuple[float, str]] = {}
    for folder, relative, folded in FOLDERS.of(catalog):
        if sum(term in folded for term in terms) < least:
            continue  # cheap test first: most folders share no word with the query
        match = _folder_quality(terms, relative)
        if match is not None and match.score - FOLDER_PENALTY > matched.get(folder, (-1.0,))[0]:
            matched[folder] = (match.score - FOLDER_PENALTY, f"folder: {relative}")
    best = sorted(matched, key=lambda folder: -matched[folder][0])
    kept = 0
    for start in range(0, len(best), CHUNK):
        chunk = best[start : start + CHUNK]
        rows = conn.execute(
            f"SELECT id, folder FROM items WHERE folder IN ({','.join('?' * len(chunk))}) "
            "AND status = 'indexed'",
            chunk,
        )
        for item_id, folder in rows:
            if allowed is None or item_id in allowed:
                yield item_id, *matched[folder]
                kept += 1
                if kept >= cap:
                    return


class _FolderCache:
    """The library's distinct folders below their source roots, read once per change of the
    catalog (a scan of every item: too slow to repeat on every search of 100k photos).
    ``PRAGMA data_version`` moves when another connection commits, ``total_changes`` when
    this one writes; entries go with their catalog object."""

    def __init__(self) -> None:
        self._cache: weakref.WeakKeyDictionary[Any, tuple[tuple[int, int], list]] = (
            weakref.WeakKeyDictionary())

    def of(self, catalog: Any) -> list[tuple[str, str, str]]:
        conn = catalog.conn
        key = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        cached = self._cache.get(catalog)
        if cached is None or cached[0] != key:
            cached = (key, _read_folders(conn))
            self._cache[catalog] = cached
        return cached[1]


def _read_folders(conn: Any) -> list[tuple[str, str, str]]:
    """``(folder, path below its source's root, that path case-folded)`` per folder. The
    folders come from the ``items_folder`` index alone (40x faster than grouping by source
    too); a folder's root is the longest source root it lies under."""
    roots = sorted((str(r[0]).rstrip("/") for r in conn.execute("SELECT root FROM sources")),
                   key=len, reverse=True)
    out = []
    for (folder,) in conn.execute("SELECT DISTINCT folder FROM items"):
        if not isinstance(folder, str):
            continue
        root = next((r for r in roots if folder == r or folder.startswith(r + "/")), None)
        relative = folder[len(root):].strip("/") if root is not None else ""
        if relative:
            out.append((folder, relative, relative.casefold()))
    return out


FOLDERS = _FolderCache()


def _folder_quality(terms: list[str], relative: str) -> Quality | None:
    """A folder matches as its best segment, or as its whole path below the root (a query
    naming two levels, "2019 beach")."""
    segments = [quality(terms, part) for part in relative.split("/")]
    whole = quality(terms, relative) if "/" in relative else None
    found = [match for match in (*segments, whole) if match is not None]
    return max(found, key=lambda match: match.score) if found else None


def _fields(
    conn: Any, terms: list[str], allowed: frozenset[int] | None, cap: int
) -> Iterator[tuple[int, float, str]]:
    """Photos with a full-text field (caption, OCR text...) that matches: the trigram index
    finds values holding the longest query word, then every value is scored."""
    fields = [f.name for f in field_store.recorded_declarations(conn) if f.fulltext]
    if not fields:
        return
    longest = max(terms, key=len)
    for item_id, field, value in field_store.text_matches(conn, longest, fields, cap):
        if allowed is not None and item_id not in allowed:
            continue
        match = quality(terms, value)
        if match is not None:
            yield item_id, match.score, f"{field}: {snippet(terms, value)}"
