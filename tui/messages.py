"""Messages shared across screens (widget-local messages live in their widget class)."""

from __future__ import annotations

from dataclasses import dataclass, field

from huisou.core.search import Hit
from textual.message import Message


@dataclass
class IndexTick(Message):
    """The indexing worker has put a newer state in the mailbox; read it with ``take()``.

    Ticks are coalesced twice: the worker posts one only when the mailbox was empty, and a
    queued tick is replaced by a newer one (``can_replace``).
    """

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, IndexTick)


@dataclass
class SearchDone(Message):
    generation: int
    label: str
    hits: list[Hit]
    seconds: float
    #: Lines about the query: language notice, what was understood (dates, place).
    notes: list[str] = field(default_factory=list)


@dataclass
class SearchFailed(Message):
    generation: int
    message: str
    kind: str  # "no-model", "error"


@dataclass
class LibraryChanged(Message):
    """Sources were added or removed, or an indexing run finished: refresh views."""


@dataclass
class ThumbnailReady(Message):
    path: str
    width: int
    height: int
