"""Where relevant results end: an adaptive, per-query cutoff and a confidence per hit.

Why not a fixed cosine threshold: scores shift per model (a toy model spreads cosines over
−1…1, real CLIP over 0.1…0.35) and per query (short queries score lower). Two pieces of
evidence, both measured for *this* query on *this* library and model, decide instead:

1. **Stand-out from the library.** The query is scored against a fixed random sample of the
   library (the background). Hit scores become robust z-scores (median, MAD of the background).
   Relevant hits form a head that stands out: the cut is placed at the widest gap between
   consecutive z-scores among the hits above :data:`Z_FLOOR`.
2. **Better than saying nothing** (text queries). Every photo is also scored against
   :data:`REFERENCE_PROMPTS`, generic and meaningless texts. A hit is relevant only if the query
   beats the best reference prompt on it by more than reference prompts beat each other on the
   background (the margin threshold: the :data:`NULL_QUANTILE` quantile of leave-one-out
   margins, per model and library). A nonsense query does not beat "a photo" or "asdf" on
   any photo, so it returns nothing — even on a model that maps unknown words somewhere.

Confidence: ``high`` for relevant hits with a margin of at least twice the threshold (or, for
image queries, a z-score of at least twice the floor), ``medium`` for the other relevant
hits, ``low`` for the rest (shown only when the cutoff is off).

This module is pure numpy on arrays it is given: the search glue fetches the vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Generic and meaningless texts a real query must beat (English and Chinese, so Chinese-only
#: models get reference points in their own language too).
REFERENCE_PROMPTS: tuple[str, ...] = (
    "a photo",
    "an image",
    "a picture",
    "photo",
    "image",
    "a photo of something",
    "a picture of an object",
    "a photo of a thing",
    "something",
    "a scene",
    "a snapshot",
    "untitled",
    "IMG_0001",
    "misc",
    "asdf",
    "qwerty uiop",
    "lorem ipsum dolor",
    "zxcv bnm",
    "一张照片",
    "图片",
    "东西",
    "某物",
)
#: Background sample size: enough for a stable median/MAD, cheap to fetch per session.
BACKGROUND_SIZE = 2048
#: Below this many photos the library has no distribution to stand out from: nothing is
#: judged (every hit kept, confidence unknown).
MIN_BACKGROUND = 16
#: A hit must stand this many robust standard deviations above the library's median.
Z_FLOOR = 1.0
#: ... and at least this share of the best hit's z-score.
RELATIVE_FLOOR = 0.85
#: Quantile of the reference prompts' leave-one-out margins a query's margin must exceed.
NULL_QUANTILE = 0.99

CONFIDENCES = ("high", "medium", "low")


@dataclass(frozen=True)
class Calibration:
    """What one query is judged against: the background and the reference prompts' margins.

    ``center``/``scale`` are the median and robust spread (1.4826 x MAD) of the query's
    scores on the background sample; ``margin_threshold`` is None for image queries (no
    reference texts apply to them).
    """

    center: float
    scale: float
    margin_threshold: float | None
    background_size: int = BACKGROUND_SIZE


@dataclass(frozen=True)
class Judgement:
    """The verdict on a ranked candidate list: how many lead it and each one's confidence."""

    relevant: int
    confidences: list[str | None]
    z_scores: list[float]
    margins: list[float] | None


def calibrate(query: Any, background: Any, margin_threshold: float | None = None) -> Calibration:
    """Measure the query against the library sample (``background``: n x d unit vectors);
    ``margin_threshold`` (text queries) comes from :func:`null_margin_threshold`."""
    import numpy as np

    scores = background @ query
    center = float(np.median(scores)) if len(scores) else 0.0
    scale = 1.4826 * float(np.median(np.abs(scores - center))) if len(scores) else 1.0
    return Calibration(center, max(scale, 1e-6), margin_threshold, len(scores))


def null_margin_threshold(reference_scores: Any) -> float | None:
    """How far one reference prompt beats all the others on a photo, at the
    :data:`NULL_QUANTILE` quantile over prompts and photos (``reference_scores``: background
    photos x prompts): the margin chance alone gives. Independent of the query."""
    import numpy as np

    if reference_scores.shape[0] == 0 or reference_scores.shape[1] < 2:
        return None
    margins = []
    for k in range(reference_scores.shape[1]):
        others = np.delete(reference_scores, k, axis=1).max(axis=1)
        margins.append(reference_scores[:, k] - others)
    return float(np.quantile(np.concatenate(margins), NULL_QUANTILE))


def reference_margins(scores: Sequence[float], reference_scores: Any) -> list[float]:
    """Per hit: its query score minus its best reference-prompt score (``reference_scores``:
    hits x prompts)."""
    best = reference_scores.max(axis=1)
    return [float(s - b) for s, b in zip(scores, best, strict=True)]


def judge(
    scores: Sequence[float], calibration: Calibration, margins: Sequence[float] | None = None
) -> Judgement:
    """Decide which of the best-first ``scores`` are relevant; see the module docstring."""
    z = [(s - calibration.center) / calibration.scale for s in scores]
    if calibration.background_size < MIN_BACKGROUND:
        return Judgement(len(z), [None] * len(z), z, list(margins) if margins is not None else None)
    head = _head_length(z)
    threshold = calibration.margin_threshold
    confidences: list[str] = []
    for rank, z_score in enumerate(z):
        in_head = rank < head
        if margins is not None and threshold is not None:
            strong = margins[rank] >= 2 * max(threshold, 0.0)
            in_head = in_head and margins[rank] > threshold
        else:
            strong = z_score >= 2 * Z_FLOOR
        confidences.append(("high" if strong else "medium") if in_head else "low")
    relevant = sum(1 for c in confidences if c != "low")
    return Judgement(relevant, confidences, z, list(margins) if margins is not None else None)


def _head_length(z: Sequence[float]) -> int:
    """Number of leading hits that stand out: z at least :data:`Z_FLOOR` and at least
    :data:`RELATIVE_FLOOR` of the best hit's z (the best hit sets the scale of this query)."""
    if not z:
        return 0
    floor = max(Z_FLOOR, RELATIVE_FLOOR * z[0])
    return sum(1 for value in z if value >= floor)

class LibraryJudge:
    """Judges hits of one library and model; caches the background sample and the reference
    prompts' vectors between queries (the TUI keeps one per session)."""

    def __init__(self, library: Any) -> None:
        self.library = library
        self._background: Any = None
        self._background_key: tuple[str, int] | None = None
        self._threshold: float | None = None
        self._reference: Any = None

    def judge(self, query: Any, hits: Sequence[tuple[int, float]], *, text: bool) -> Judgement:
        """Judge best-first ``(item_id, score)`` hits of the unit query vector ``query``.

        A store that cannot return stored vectors gets no judgement (confidence unknown)."""
        try:
            return self._judge(query, hits, text=text)
        except NotImplementedError:
            return Judgement(len(hits), [None] * len(hits), [], None)

    def _judge(self, query: Any, hits: Sequence[tuple[int, float]], *, text: bool) -> Judgement:
        import numpy as np

        background = self.background()
        reference = self.reference() if text else None
        if reference is not None and self._threshold is None:
            self._threshold = null_margin_threshold(background @ reference.T)
        calibration = calibrate(query, background, self._threshold if text else None)
        margins = None
        if reference is not None:
            found_ids, matrix = self.library.store.fetch([item_id for item_id, _ in hits])
            rows = {int(i): row for row, i in enumerate(found_ids)}
            ref_scores = np.full((len(hits), len(reference)), np.inf, dtype=np.float32)
            for position, (item_id, _score) in enumerate(hits):
                if item_id in rows:
                    ref_scores[position] = matrix[rows[item_id]] @ reference.T
            margins = reference_margins([score for _, score in hits], ref_scores)
        return judge([score for _, score in hits], calibration, margins)

    def background(self) -> Any:
        """A fixed random sample of this model's vectors (drawn again when their count
        changes; the reference margin threshold with it)."""
        import numpy as np

        library = self.library
        model = library.backend.model_fingerprint
        key = (model, library.catalog.embedded_count(model))
        if self._background_key != key:
            sample = library.catalog.sample_embedded(model, BACKGROUND_SIZE)
            _found, matrix = library.store.fetch(sample)
            self._background = np.ascontiguousarray(matrix, dtype=np.float32)
            self._background_key = key
            self._threshold = None
        return self._background

    def reference(self) -> Any:
        """The reference prompts' vectors, embedded once per model and cached on disk."""
        import hashlib

        import numpy as np

        if self._reference is None:
            from huisou.core.config import data_dir

            backend = self.library.backend
            digest = hashlib.sha1("\n".join(REFERENCE_PROMPTS).encode()).hexdigest()[:10]
            path = data_dir() / "relevance" / f"{backend.model_fingerprint}-{digest}.npy"
            vectors = None
            try:
                vectors = np.load(path)
                if vectors.shape != (len(REFERENCE_PROMPTS), backend.dimensions):
                    vectors = None
            except (OSError, ValueError):
                vectors = None
            if vectors is None:
                vectors = backend.embed_texts(list(REFERENCE_PROMPTS))
                _save_quietly(path, vectors)
            self._reference = np.asarray(vectors, dtype=np.float32)
        return self._reference


def _save_quietly(path: Any, vectors: Any) -> None:
    """Cache the reference vectors; a read-only data dir only costs re-embedding next time."""
    import os

    import numpy as np

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)
    except OSError:
        pass
