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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from huisou.core import field_store
from huisou.core.collapse import collapse as collapse_hits
from huisou.core.errors import HuisouError, MediaError
from huisou.core.feedback import rocchio, stored_vectors
from huisou.core.fusion import (
    CLIP,
    CLIP_WEIGHT,
    Contribution,
    Ranked,
    fuse,
    ranked,
    unknown_weights,
    weights_for,
)
from huisou.core.index_jobs import read_photo
from huisou.core.interfaces import MediaItem, SearchSignal, SignalQuery
from huisou.core.library import Library
from huisou.core.query_understanding import Understood, understand
from huisou.core.regular_files import open_regular
from huisou.core.relevance import LibraryJudge
from huisou.core.signals import run_signals, signal_text
from huisou.core.where import Condition, shorthands

#: ``min_score`` value asking for the adaptive cutoff of :mod:`huisou.core.relevance`.
AUTO = "auto"
#: Candidates the adaptive cutoff looks at beyond ``top`` (the gap may lie further down).
JUDGED_CANDIDATES = 64
#: Orders of ``search(sort=...)``: best match first, or newest first (taken-at).
SORTS = ("score", "date")

_WEIGHT = re.compile(r"^(?P<sign>[+-]?)(?:(?P<weight>\d+(?:\.\d+)?):)?(?P<text>.*)$", re.S)


@dataclass
class SearchFilters:
    """Catalog-side restrictions; all optional and combined with AND. The named ones are
    shorthands for ``where`` conditions (compiled ``--where`` expressions)."""

    folder: str | None = None
    after: str | None = None
    before: str | None = None
    camera: str | None = None
    has_gps: bool | None = None
    weekdays: tuple[int, ...] | None = None
    where: tuple[Condition, ...] = ()

    def is_empty(self) -> bool:
        return not self.conditions()

    def conditions(self) -> list[Condition]:
        """Every restriction as a compiled condition, shorthands first."""
        return [*shorthands(folder=self.folder, after=self.after, before=self.before,
                            camera=self.camera, has_gps=self.has_gps, weekdays=self.weekdays),
                *self.where]


@dataclass
class Hit:
    """One result. ``score`` is the cosine similarity of query and photo (−1…1)."""

    item_id: int
    path: str
    score: float
    taken_at: str | None
    width: int | None
    height: int | None
    camera: dict[str, str | None] | None
    gps: dict[str, float] | None
    #: ``high``/``medium``/``low`` from :mod:`huisou.core.relevance` (None: not judged)
    confidence: str | None = None
    #: With collapsing: paths of the near-duplicates and burst frames this hit stands for.
    similar: list[str] | None = None
    #: The fused score that ordered the hits when a search signal matched (None: CLIP alone)
    fused: float | None = None
    #: What each ranking (CLIP, each signal) gave this hit, for ``--explain``.
    explain: tuple[Contribution, ...] | None = None
    #: Plugin fields' values (``rating``, ``tags``...); the built-ins are the other attributes.
    fields: dict[str, Any] | None = None

    def camera_text(self) -> str | None:
        """Make and model for people ("Canon Canon EOS 40D"), None when unknown."""
        if not self.camera:
            return None
        return " ".join(part for part in (self.camera["make"], self.camera["model"]) if part)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": round(self.score, 5),
            "confidence": self.confidence,
            "taken_at": self.taken_at,
            "width": self.width,
            "height": self.height,
            "camera": self.camera,
            "gps": self.gps,
            "fields": self.fields or {},
            **({"similar": self.similar} if self.similar is not None else {}),
        }

    def explain_json(self) -> dict[str, Any]:
        """``--explain``: the fused score (None: CLIP alone ordered the hits) and each
        ranking's contribution to this hit, CLIP's first."""
        return {
            "fused": round(self.fused, 6) if self.fused is not None else None,
            "contributions": [part.to_json() for part in self.explain or ()],
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
        #: Why the last search found nothing (None when it found something): see ``why_empty``.
        self.why_empty: str | None = None
        self.judge = LibraryJudge(library)
        #: What the last search understood of its query (dates, place), for the CLI and TUI.
        self.understood: Understood | None = None
        #: Why the last search could not understand part of its query (one line), if so.
        self.notice: str | None = None
        #: Fusion weight per ranking name in the last search that ran signals.
        self.weights: dict[str, float] = {CLIP: CLIP_WEIGHT}

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
        min_score: float | str | None = None,
        literal: bool = False,
        like: Sequence[str] = (),
        unlike: Sequence[str] = (),
        collapse: bool = False,
        sort: str = "score",
    ) -> list[Hit]:
        """Best-first hits. ``min_score``: a cosine floor, :data:`AUTO` for the adaptive
        cutoff, or None for the plain top ``top`` (each hit still gets a confidence).
        Unless ``literal``, dates in the query become a taken-at filter (:attr:`understood`).
        ``like``/``unlike``: catalog paths whose stored vectors steer the query (Rocchio);
        ``collapse``: near-duplicates and bursts fold into their best hit's ``similar``.
        ``sort="date"``: the hits that pass the cutoff, newest first (with no cutoff, the top
        ``top`` by score, newest first). Each hit carries its plugin fields' values."""
        if top < 1:
            raise HuisouError(f"--top must be at least 1, got {top}")
        if sort not in SORTS:
            raise HuisouError(f"--sort must be one of {', '.join(SORTS)}, got {sort!r}")
        self.why_empty = None
        self.understood = None
        self.notice = None
        said, own_filters = query, filters
        if query and not literal:
            understood = understand(query)
            self.notice = understood.notice
            if understood.has_filter:
                self.understood = understood
                filters = _narrowed(filters or SearchFilters(), understood)
                query = understood.text or None
        library = self.library
        only_filters = self.understood is not None and not (query or image is not None or like)
        vector = None
        if not only_filters:
            vector = self.query_vector(query, image) if (query or image is not None) else None
            if like or unlike:
                vector = rocchio(
                    vector,
                    stored_vectors(library, like) if like else None,
                    stored_vectors(library, unlike) if unlike else None,
                )
            elif vector is None:
                vector = self.query_vector(query, image)  # the one-line "nothing to search"
        self.why_empty = self._missing_vectors()
        if self.why_empty:
            return []
        if only_filters:
            return self._with_fields(self._by_filters(filters, top))
        candidates = None
        conditions = filters.conditions() if filters else []
        if conditions:
            candidates = library.catalog.ids_where(library.backend.model_fingerprint, conditions)
        if self.understood is not None and self.understood.place is not None:
            candidates = self._in_place(self.understood, candidates)
        wanted = max(top, JUDGED_CANDIDATES)
        verbatim = self._verbatim_matches(said, own_filters, wanted) if self.understood else {}
        if candidates is not None and not candidates and not verbatim:
            self.why_empty = "no indexed photo matches the filters" + (
                " and the understood time or place" if self.understood else "")
            return []
        nearest, rows = self._nearest(vector, wanted, candidates) if candidates != [] else ([], {})
        matches = self._signal_matches(query, candidates, wanted) if query and candidates != [] \
            else {}
        matches = _verbatim_first(verbatim, matches)
        pairs = self._with_matched(vector, nearest, rows, matches) if matches else nearest
        text_only = bool(query) and image is None and not like
        judged = self.judge.judge(vector, pairs, text=text_only)
        hits: list[Hit] = []
        below: list[float] = []
        for hit in self._ranked(nearest, pairs, rows, judged.confidences, matches):
            if min_score == AUTO and hit.confidence == "low":
                below.append(hit.score)
                continue
            if isinstance(min_score, float) and hit.score < min_score:
                below.append(hit.score)
                continue
            hits.append(hit)
        if not hits:
            self.why_empty = _why_none(min_score, below)
        if collapse:
            hits = self._collapsed(hits, rows)
        if sort == "date":
            hits = _newest_first(hits if min_score is not None else hits[:top])
        return self._with_fields(hits[:top])

    def _with_fields(self, hits: list[Hit]) -> list[Hit]:
        """``hits`` with their plugin fields' values (one query for all of them)."""
        library = self.library
        values = field_store.values_of(
            library.catalog.conn, [hit.item_id for hit in hits], library.host.fields()
        )
        for hit in hits:
            hit.fields = values.get(hit.item_id, {})
        return hits

    def _signal_matches(
        self, query: str, candidates: list[int] | None, limit: int
    ) -> dict[str, list[Ranked]]:
        """What every search signal finds for the query's text (``name -> ranked``)."""
        library = self.library
        signals = library.host.search_signals()
        if not signals:
            return {}
        self.weights = self._weights(signals)
        text = signal_text(parse_query(query))
        if not text:
            return {}
        allowed = frozenset(candidates) if candidates is not None else None
        asked = SignalQuery(text, library.catalog, allowed, limit)
        return run_signals(library.host, signals, asked, self.weights)

    def _verbatim_matches(
        self, said: str | None, filters: SearchFilters | None, limit: int
    ) -> dict[str, list[Ranked]]:
        """What signals find for the query as typed, within the user's own filters only: a
        time or place understood in it ("北京" in "北京南站", a station printed on a ticket)
        must not hide the photo whose name or printed text is those very words."""
        if not said:
            return {}
        conditions = filters.conditions() if filters else []
        candidates = self.library.catalog.ids_where(
            self.library.backend.model_fingerprint, conditions) if conditions else None
        return self._signal_matches(said, candidates, limit)

    def _weights(self, signals: Sequence[SearchSignal]) -> dict[str, float]:
        """Fusion weights: the signals' own, overridden by ``[search.weights]``; a name there
        that nothing has is said once (a typo must not silently do nothing)."""
        defaults = {signal.name: float(signal.weight) for signal in signals}
        configured = self.library.config.search_weights
        unknown = unknown_weights(defaults, configured)
        if unknown:
            known = ", ".join([CLIP, *defaults])
            said = (f"config [search.weights] names {', '.join(map(repr, unknown))}, which no "
                    f"installed signal has (known: {known}); ignored")
            self.notice = f"{self.notice}; {said}" if self.notice else said
        return weights_for(defaults, configured)

    def _with_matched(
        self, vector: Any, pairs: list[tuple[int, float]], rows: dict[int, dict[str, Any]],
        matches: dict[str, list[Ranked]],
    ) -> list[tuple[int, float]]:
        """``pairs`` plus the photos signals found beyond CLIP's nearest, with their cosine
        (one store search restricted to them); ``rows`` gains their catalog rows. Photos
        without a vector of this model are dropped (a signal reads the whole catalog)."""
        listed = {item_id for item_id, _ in pairs}
        extra = sorted({m.item_id for found in matches.values() for m in found} - listed)
        if not extra:
            return pairs
        library = self.library
        known = library.catalog.items_by_ids(extra, library.backend.model_fingerprint)
        if not known:
            return pairs
        rows.update(known)
        more = library.store.search(vector, len(known), sorted(known))
        merged = pairs + [(item_id, score) for item_id, score in more if item_id in known]
        return sorted(merged, key=lambda pair: -pair[1])

    def _ranked(
        self, nearest: list[tuple[int, float]], pairs: list[tuple[int, float]],
        rows: dict[int, dict[str, Any]], confidences: Sequence[str | None],
        matches: dict[str, list[Ranked]],
    ) -> list[Hit]:
        """Hits best first: by cosine when no signal matched (``score`` order, as before
        signals existed), else by the fused score of :mod:`huisou.core.fusion`, where CLIP's
        ranking is its ``nearest`` (photos only signals found get nothing from CLIP). A photo
        a signal matched is never judged ``low``: the adaptive cutoff reads CLIP alone."""
        clip = ranked([(item_id, score, None) for item_id, score in nearest])
        if not matches:
            return [
                _hit(rows[item_id], float(score), confidence,
                     explain=(Contribution(CLIP, entry.rank, float(score), self.weights[CLIP]),))
                for (item_id, score), confidence, entry in zip(pairs, confidences, clip,
                                                              strict=True)
            ]
        cosine = dict(pairs)
        confidence_of = dict(zip((item_id for item_id, _ in pairs), confidences, strict=True))
        hits = []
        for fused in fuse({CLIP: clip, **matches}, self.weights):
            if fused.item_id not in cosine:
                continue  # a signal's photo without a vector of this model
            score = float(cosine[fused.item_id])
            explain = fused.contributions
            if all(part.signal != CLIP for part in explain):  # beyond CLIP's nearest
                explain = (Contribution(CLIP, None, score, self.weights[CLIP]), *explain)
            confidence = _with_signals(confidence_of[fused.item_id], explain)
            hits.append(_hit(rows[fused.item_id], score, confidence, fused=fused.fused,
                             explain=explain))
        return hits

    def _collapsed(self, hits: list[Hit], rows: dict[int, dict[str, Any]]) -> list[Hit]:
        """Fold near-duplicates and burst frames into their best-ranked hit."""
        ids = [hit.item_id for hit in hits]
        try:
            found, matrix = self.library.store.fetch(ids)
            vectors = {int(i): matrix[row] for row, i in enumerate(found)}
        except NotImplementedError:  # groups still collapse
            vectors = {}
        groups = {item_id: rows[item_id]["group_key"] for item_id in ids}
        by_id = {hit.item_id: hit for hit in hits}
        folded = []
        for representative, members in collapse_hits(ids, vectors, groups):
            hit = by_id[representative]
            hit.similar = [by_id[m].path for m in members]
            folded.append(hit)
        return folded

    def _in_place(self, understood: Understood, candidates: list[int] | None) -> list[int]:
        """The ``candidates`` (None: all photos) taken in the understood place."""
        import numpy as np
        from huisou.core.places import gazetteer

        positions = self.library.catalog.positions(self.library.backend.model_fingerprint)
        if candidates is not None:
            allowed = set(candidates)
            positions = [p for p in positions if p[0] in allowed]
        coords = np.asarray([(lat, lon) for _, lat, lon in positions], dtype=np.float64)
        inside = gazetteer().inside(understood.place, coords.reshape(-1, 2))
        return [p[0] for p, keep in zip(positions, inside, strict=True) if keep]

    def _by_filters(self, filters: SearchFilters, top: int) -> list[Hit]:
        """A query that was only a time or place ("去年", "in Beijing"): those photos,
        newest first."""
        library = self.library
        conditions = filters.conditions()
        ids = (library.catalog.ids_where(library.backend.model_fingerprint, conditions)
               if conditions else None)
        if self.understood is not None and self.understood.place is not None:
            ids = self._in_place(self.understood, ids)
        rows = library.catalog.items_by_ids(ids or [])
        if not rows:
            self.why_empty = "no indexed photo was taken at the understood time or place" + (
                " and matches the filters" if len(conditions) > len(_understood_conditions(
                    self.understood)) else "")
        hits = _newest_first([_hit(row, 0.0, None) for row in rows.values()])
        return hits[:top]

    def _nearest(
        self, vector: Any, k: int, candidates: list[int] | None
    ) -> tuple[list[tuple[int, float]], dict[int, dict[str, Any]]]:
        """Up to ``k`` nearest ``(id, score)`` pairs whose photo the catalog knows, and rows."""
        library = self.library
        model = library.backend.model_fingerprint
        wanted = k
        for _attempt in range(4):
            pairs = library.store.search(vector, wanted, candidates)
            rows = library.catalog.items_by_ids([item_id for item_id, _ in pairs], model)
            # stale: vectors whose photo the catalog has forgotten, or whose id now names a
            # photo this model has not embedded (ids are reused; see Catalog.items_by_ids)
            stale = len(pairs) - len(rows)
            if stale == 0 or len(pairs) < wanted:
                break
            wanted += stale * 2  # ask again so stale vectors never cost the user results
        known = [(item_id, score) for item_id, score in pairs if item_id in rows]
        return known[:k], rows

    def _missing_vectors(self) -> str | None:
        """Why no photo can match at all, before searching: an empty library, or no vectors
        of this model and precision (``huisou models quantize`` switches ``auto`` to int8,
        whose vectors a library indexed at fp32 does not have)."""
        catalog = self.library.catalog
        counts = catalog.status_counts()
        if not counts:
            return "the library is empty: add photos with `huisou index FOLDER`"
        backend = self.library.backend
        model = backend.model_fingerprint
        models = {row["fingerprint"]: row for row in catalog.models()}
        if models.get(model, {}).get("vectors"):
            return None
        if not counts.get("indexed"):
            failed = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            return f"no photo of the library could be indexed ({failed}): see `huisou status`"
        reason = (
            f"no vectors for model {backend.model!r} with these settings ({model}): "
            "run `huisou index` to embed the photos"
        )
        others = [row for row in models.values() if row["vectors"] and row["fingerprint"] != model]
        same_name = [row for row in others if row["name"] == backend.model]
        if same_name:
            row = same_name[0]
            reason += (
                f"; the library has {row['vectors']} vectors of this model made with another "
                f"precision or other model files ({row['fingerprint']}): search those with the "
                "--precision they were indexed with (fp32 unless it was int8 then)"
            )
        elif others:
            listed = ", ".join(f"{row['name']} ({row['vectors']})" for row in others)
            reason += f"; the library has vectors of: {listed} (choose one with --model)"
        return reason


def _why_none(min_score: float | str | None, below: list[float]) -> str:
    """Why a search that had candidates returned none of them."""
    if not below:
        return "no matches"
    if min_score == AUTO:
        return (
            f"none of the {len(below)} closest photos stands out for this query "
            f"(best {max(below):.3f}; --min-score off lists them anyway)"
        )
    return (
        f"all {len(below)} closest photos score below --min-score {min_score:g} "
        f"(best {max(below):.3f})"
    )


def _narrowed(filters: SearchFilters, understood: Understood) -> SearchFilters:
    """``filters`` and the understood dates and days of the week, as conditions like any
    ``--where`` (so "去年" and ``--where 'taken_at >= 2023'`` meet in one query)."""
    return replace(filters, where=(*filters.where, *_understood_conditions(understood)))


def _understood_conditions(understood: Understood | None) -> list[Condition]:
    if understood is None:
        return []
    return shorthands(after=understood.after, before=understood.before,
                      weekdays=understood.weekdays)


def _newest_first(hits: list[Hit]) -> list[Hit]:
    """By taken-at, newest first; undated photos last (stable: best score first among equals)."""
    dated = sorted((hit for hit in hits if hit.taken_at), key=lambda hit: hit.taken_at or "",
                   reverse=True)
    return dated + [hit for hit in hits if not hit.taken_at]


def _with_signals(confidence: str | None, parts: Sequence[Contribution]) -> str | None:
    """A photo's confidence once signals had their say: a photo a signal matched is kept by
    the adaptive cutoff. ``high`` when it is a signal's best match (rank 1) or CLIP says so,
    else ``medium``; a photo no signal matched keeps CLIP's verdict, and where nothing is
    judged (too small a library, a store without stored vectors) nothing is."""
    found = [part for part in parts if part.signal != CLIP and part.weight > 0]
    if not found or confidence is None:
        return confidence
    if confidence == "high" or any(part.rank == 1 for part in found):
        return "high"
    return "medium"


def _hit(
    row: dict[str, Any], score: float, confidence: str | None, *, fused: float | None = None,
    explain: tuple[Contribution, ...] | None = None,
) -> Hit:
    camera = (
        {"make": row["camera_make"], "model": row["camera_model"]}
        if row["camera_make"] or row["camera_model"]
        else None
    )
    gps = (
        {"lat": row["gps_lat"], "lon": row["gps_lon"]}
        if row["gps_lat"] is not None and row["gps_lon"] is not None
        else None
    )
    return Hit(
        row["id"],
        row["path"],
        score,
        row["taken_at"],
        row["width"],
        row["height"],
        camera,
        gps,
        confidence,
        fused=fused,
        explain=explain,
    )


def _verbatim_first(
    verbatim: dict[str, list[Ranked]], understood: dict[str, list[Ranked]]
) -> dict[str, list[Ranked]]:
    """Per signal, the matches of the query as typed, then those of its understood text not
    already listed (ranks renumbered: scores of two queries do not compare)."""
    if not verbatim:
        return understood
    out: dict[str, list[Ranked]] = {}
    for name in dict.fromkeys([*verbatim, *understood]):
        first = verbatim.get(name, [])
        seen = {entry.item_id for entry in first}
        rest = [entry for entry in understood.get(name, []) if entry.item_id not in seen]
        out[name] = [Ranked(entry.item_id, position, entry.score, entry.matched)
                     for position, entry in enumerate([*first, *rest], start=1)]
    return out
