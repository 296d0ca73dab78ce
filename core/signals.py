"""Running the search signals of one query: asking each, checking what it says, ranking it.

Kept apart from :mod:`huisou.core.search` (which owns CLIP's side) and :mod:`huisou.core.fusion`
(the pure rule) because plugins' code runs here: a signal that raises, returns the wrong type
or ids it was not allowed is reported once by name and left out, and the search goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from huisou.core.fusion import Ranked, ranked
from huisou.core.interfaces import SearchSignal, SignalMatch, SignalQuery


def run_signals(
    host: Any,
    signals: Sequence[SearchSignal],
    query: SignalQuery,
    weights: Mapping[str, float],
) -> dict[str, list[Ranked]]:
    """Each signal with a positive weight asked once: ``name -> ranked matches`` for the
    signals that found something, in registration order."""
    out: dict[str, list[Ranked]] = {}
    for signal in signals:
        if weights.get(signal.name, 0.0) <= 0:
            continue
        try:
            found = signal.match(query)
            problem = _problem(found, query)
        except Exception as exc:  # a plugin's bug must not cost the user the search
            found, problem = [], f"raised {type(exc).__name__}: {exc}"
        if problem:
            host.report_once(signal.name, "search signal", problem)
            continue
        if found:
            out[signal.name] = ranked([(m.item_id, m.score, m.matched) for m in found])
    return out


def _problem(found: Any, query: SignalQuery) -> str | None:
    """What breaks the ``SearchSignal.match`` contract in ``found``, or None."""
    if not isinstance(found, list) or not all(isinstance(m, SignalMatch) for m in found):
        return f"match() must return a list of SignalMatch, got {type(found).__name__}"
    if len(found) > query.limit:
        return f"match() returned {len(found)} matches, more than the limit {query.limit}"
    if query.candidates is not None:
        outside = [m.item_id for m in found if m.item_id not in query.candidates]
        if outside:
            return f"match() returned photo id {outside[0]}, which the filters exclude"
    return None


def signal_text(terms: Sequence[tuple[float, str]]) -> str:
    """What signals are asked for: the query's positive terms (``beach +sunset -people``
    asks for ``beach sunset``)."""
    return " ".join(text for weight, text in terms if weight > 0)
