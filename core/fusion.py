"""Fusing the CLIP ranking with every search signal's ranking: weighted reciprocal-rank fusion.

The rule: a photo's fused score is ``Σ_s w_s / (k + rank_s)`` over the rankings ``s`` that
list it (CLIP's nearest neighbours and each signal's matches), with ``k`` = :data:`RRF_K`,
CLIP's weight :data:`CLIP_WEIGHT` and each signal's ``weight`` (both overridden by the config
table ``[search.weights]``). A ranking that does not list a photo adds nothing for it.

Why ranks and not scores: a cosine, a full-text match quality and a face distance live on
unrelated scales; only the order within each signal is comparable (Cormack et al., 2009).
Ties (equal scores within one ranking) share the better rank, so photos a signal cannot tell
apart get the same boost and CLIP orders them. Equal fused scores keep the order in which the
rankings list them (CLIP's first), so the result is deterministic.

This module is pure: the search glue (:mod:`huisou.core.search`) runs the signals and shows
the cosine as ``score``; ``fused`` is what orders hits when any signal matched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The ``k`` of reciprocal-rank fusion: how flat the reward for rank is (60, as in the paper;
#: the first and the tenth place then differ by 13 %, so one signal alone cannot bury CLIP).
RRF_K = 60
#: The name of the CLIP ranking in weights, ``--explain`` and JSON.
CLIP = "clip"
CLIP_WEIGHT = 1.0
#: Inclusive bounds of a weight in ``[search.weights]`` (0 turns a signal off).
WEIGHT_BOUNDS = (0.0, 100.0)


@dataclass(frozen=True)
class Ranked:
    """One photo in one ranking: its 1-based rank, the ranking's own score, matched text."""

    item_id: int
    rank: int
    score: float
    matched: str | None = None


@dataclass(frozen=True)
class Contribution:
    """What one ranking gave one photo (``--explain``)."""

    signal: str
    #: None: the ranking did not list the photo (CLIP beyond its nearest), so it gave nothing
    rank: int | None
    score: float
    weight: float
    matched: str | None = None

    @property
    def value(self) -> float:
        return 0.0 if self.rank is None else self.weight / (RRF_K + self.rank)

    def to_json(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "rank": self.rank,
            "score": round(self.score, 5),
            "weight": self.weight,
            "contribution": round(self.value, 6),
            "matched": self.matched,
        }


@dataclass(frozen=True)
class Fused:
    """A photo's place after fusion: its fused score and every ranking's contribution."""

    item_id: int
    fused: float
    contributions: tuple[Contribution, ...]


def ranked(scored: Sequence[tuple[int, float, str | None]]) -> list[Ranked]:
    """Best-first ``(item_id, score, matched)`` as ranks; equal scores share the better rank
    (1, 1, 3: standard competition ranking). A repeated id keeps its first (best) place."""
    out: list[Ranked] = []
    seen: set[int] = set()
    previous: float | None = None
    rank = 0
    for position, (item_id, score, matched) in enumerate(scored, start=1):
        if item_id in seen:
            continue
        seen.add(item_id)
        if previous is None or score != previous:
            rank = position
            previous = score
        out.append(Ranked(item_id, rank, score, matched))
    return out


def fuse(rankings: Mapping[str, Sequence[Ranked]], weights: Mapping[str, float]) -> list[Fused]:
    """Weighted reciprocal-rank fusion of ``rankings`` (name -> ranked photos), best first.

    A ranking whose weight is 0 or missing is ignored. Ties keep first-listed order: the
    rankings in their mapping order, each best first."""
    totals: dict[int, float] = {}
    parts: dict[int, list[Contribution]] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 0.0)
        if weight <= 0:
            continue
        for entry in ranking:
            part = Contribution(name, entry.rank, entry.score, weight, entry.matched)
            totals[entry.item_id] = totals.get(entry.item_id, 0.0) + part.value
            parts.setdefault(entry.item_id, []).append(part)
    order = {item_id: position for position, item_id in enumerate(totals)}
    best = sorted(totals, key=lambda item_id: (-totals[item_id], order[item_id]))
    return [Fused(item_id, totals[item_id], tuple(parts[item_id])) for item_id in best]


def weights_for(defaults: Mapping[str, float], configured: Mapping[str, float]) -> dict[str, float]:
    """Each ranking's weight: CLIP's and the signals' ``defaults``, overridden by the config's
    ``[search.weights]``. Names the config gives that no ranking has are left out (the caller
    says so: see :func:`unknown_weights`)."""
    weights = {CLIP: CLIP_WEIGHT, **defaults}
    for name, value in configured.items():
        if name in weights:
            weights[name] = float(value)
    return weights


def unknown_weights(defaults: Mapping[str, float], configured: Mapping[str, float]) -> list[str]:
    """Names in ``[search.weights]`` that are neither ``clip`` nor an installed signal."""
    return sorted(set(configured) - set(defaults) - {CLIP})


def check_weight(value: Any) -> str | None:
    """Why ``value`` is not a usable weight (None: it is), as the end of a sentence."""
    low, high = WEIGHT_BOUNDS
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not low <= value <= high:
        return f"must be a number from {low:g} to {high:g} (0 turns it off), got {value!r}"
    return None
