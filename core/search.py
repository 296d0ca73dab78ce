"""Search: a text or example-image query → backend → vector store KNN → catalog rows.

Queries can combine weighted terms in the spirit of rclip's query arithmetic:
``beach +sunset -people`` or ``"dog on a beach" +"at sunset" -"people" 2:"red car"``.
Each term's vector is multiplied by its weight (``-`` = -1, ``N:`` = N), summed and
re-normalised, so ``-people`` pushes away from photos of people.
"""

from __future__ import annotations

import io
import os
import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from huisou.core.errors import HuisouError, MediaError
from huisou.core.index_jobs import read_photo
from huisou.core.interfaces import MediaItem
from huisou.core.library import Library
from huisou.core.regular_files import open_regular

_WEIGHT = re.compile(r"^(?P<sign>[+-]?)(?:(?P<weight>\d+(?:\.\d+)?):)?(?P<text>.*)$", re.S)


@dataclass
class SearchFilters:
    """Catalog-side restrictions; all optional and combined with AND."""

    folder: str | None = None
    after: str | None = None
    before: str | None = None
    camera: str | None = None
    has_gps: bool | None = None

    def is_empty(self) -> bool:
        return not any(value is not None for value in asdict(self).values())


@dataclass
class Hit:
    """One result. ``score`` is the cosine similarity of query and photo (−1…1)."""

    item_id: int
    path: str
    score: float
    taken_at: str | None
    width: int | None
    height: int | None
    camera: str | None
    gps: list[float] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": round(self.score, 5),
            "taken_at": self.taken_at,
            "width": self.width,
            "height": self.height,
            "camera": self.camera,
            "gps": self.gps,
        }


def parse_query(query: str) -> list[tuple[float, str]]:
    """Split a query into ``(weight, text)`` terms.

    A plain query is one term of weight 1, however many words it has. Terms are introduced by
    ``+``/``-`` or a ``N:`` weight at the start of a (quoted) word; unquoted words following a
    term belong to it. Unbalanced quotes fall back to the literal text.
    """
    text = query.strip()
    if not text:
        raise HuisouError("empty query: type what the photo shows, e.g. 'dog on a beach'")
    try:
        words = shlex.split(text)
    except ValueError:
        return [(1.0, text)]
    if not any(_starts_term(word) for word in words[1:]) and not _starts_term(words[0]):
        return [(1.0, text)]
    terms: list[tuple[float, list[str]]] = []
    for word in words:
        match = _WEIGHT.match(word)
        assert match is not None
        if _starts_term(word) or not terms:
            weight = float(match["weight"] or 1.0)
            if match["sign"] == "-":
                weight = -weight
            terms.append((weight, [match["text"]] if match["text"] else []))
        else:
            terms[-1][1].append(word)
    parsed = [(weight, " ".join(words).strip()) for weight, words in terms]
    parsed = [(weight, text) for weight, text in parsed if text]
    if not parsed:
        raise HuisouError(f"query {query!r} has no text to search for")
    return parsed


def _starts_term(word: str) -> bool:
    return bool(re.match(r"^([+-]|\d+(\.\d+)?:)\S", word))


class Searcher:
    """Answers queries against one library (keeps the text encoder loaded between queries)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def query_vector(self, query: str | None = None, image: str | Path | None = None) -> Any:
        """The combined, normalised query vector."""
        import numpy as np

        backend = self.library.backend
        parts: list[Any] = []
        if query:
            terms = parse_query(query)
            vectors = backend.embed_texts([text for _, text in terms])
            weights = np.asarray([w for w, _ in terms], dtype=np.float32)[:, None]
            parts.append((vectors * weights).sum(axis=0))
        if image is not None:
            parts.append(self._image_vector(Path(image)))
        if not parts:
            raise HuisouError("nothing to search for: give a query text or --image PATH")
        vector = np.sum(parts, axis=0).astype(np.float32)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            raise HuisouError("the query terms cancel each other out")
        return vector / norm

    def _image_vector(self, path: Path) -> Any:
        library = self.library
        try:
            with open_regular(path) as fh:
                stat = os.fstat(fh.fileno())
                data = read_photo(fh, stat.st_size)
        except OSError as exc:
            raise HuisouError(f"cannot read query image {path}: {exc.strerror or exc}") from exc
        except MediaError as exc:  # a FIFO, a device, a file too large to be a photo
            raise HuisouError(f"cannot use {path} as a query image: {exc}") from exc
        item = MediaItem(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        try:
            decoded = library.host.load_image(item, io.BytesIO(data), library.backend.image_size)
        except MediaError as exc:
            raise HuisouError(f"cannot use {path} as a query image: {exc}") from exc
        if decoded is None:
            raise HuisouError(f"cannot use {path} as a query image: unsupported format")
        prepared = library.backend.prepare_image(decoded.image)
        return library.backend.embed_images([prepared])[0]

    def search(
        self,
        query: str | None = None,
        *,
        image: str | Path | None = None,
        top: int = 20,
        filters: SearchFilters | None = None,
        min_score: float | None = None,
    ) -> list[Hit]:
        if top < 1:
            raise HuisouError(f"--top must be at least 1, got {top}")
        library = self.library
        vector = self.query_vector(query, image)
        candidates = None
        if filters and not filters.is_empty():
            candidates = library.catalog.filter_ids(
                library.backend.model_fingerprint, **asdict(filters)
            )
            if not candidates:
                return []
        k = top
        model = library.backend.model_fingerprint
        for _attempt in range(4):
            pairs = library.store.search(vector, k, candidates)
            rows = library.catalog.items_by_ids([item_id for item_id, _ in pairs], model)
            # stale: vectors whose photo the catalog has forgotten, or whose id now names a
            # photo this model has not embedded (ids are reused; see Catalog.items_by_ids)
            stale = len(pairs) - len(rows)
            if stale == 0 or len(pairs) < k:
                break
            k += stale * 2  # ask again so stale vectors never cost the user results
        hits: list[Hit] = []
        for item_id, score in pairs[: top + len(pairs) - len(rows)]:
            row = rows.get(item_id)
            if row is None or (min_score is not None and score < min_score):
                continue
            camera = (
                " ".join(part for part in (row["camera_make"], row["camera_model"]) if part) or None
            )
            gps = [row["gps_lat"], row["gps_lon"]] if row["gps_lat"] is not None else None
            hits.append(
                Hit(
                    item_id,
                    row["path"],
                    float(score),
                    row["taken_at"],
                    row["width"],
                    row["height"],
                    camera,
                    gps,
                )
            )
        return hits
