"""What crosses the executor seam: pure work items out, pure results back.

Why a seam of plain data: the indexer (one process, one writer, the catalog connection) plans
and commits; an executor (:class:`~huisou.core.interfaces.Executor`: threads here, Ray actors
on other machines) reads, hashes, decodes, extracts and embeds. Everything here pickles, so a
work item can travel to another process and its result come back; nothing holds a library, a
connection or a lock. Results name their item by ``key`` (its place in the run's plan), so the
writer, not the executor, knows what to do with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from huisou.core.extraction import Contribution
from huisou.core.interfaces import MediaItem

if TYPE_CHECKING:  # pragma: no cover - types only
    import numpy as np


@dataclass(frozen=True)
class WorkItem:
    """One file to read, and what the plan expects of it."""

    #: The item's place in the plan; every result for it carries the same key.
    key: int
    source_id: int
    #: ``MediaSource.type_id``: the provider name of the fields the source attached.
    source_type: str
    #: Path, size and mtime as the scan saw them (and the source's own fields).
    item: MediaItem
    #: The stored hash of a changed file: same bytes give :class:`Same`, not an embedding.
    old_hash: str | None = None
    #: Whether bytes equal to a vanished photo's make a :class:`MoveCandidate`.
    allow_move: bool = True
    #: Set for an unchanged photo read again for its fields only (``Job.refresh``): the names
    #: of the image extractors to run; nothing is embedded.
    refresh: frozenset[str] | None = None
    #: The stored vector of a refreshed photo, for its image extractors.
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: The file's bytes, when the writer ships them (executors whose workers cannot open the
    #: path); None: the executor opens ``item.path`` itself.
    data: bytes | None = field(default=None, compare=False, repr=False)

    def shipped(self, data: bytes) -> WorkItem:
        """This item with its bytes attached."""
        return WorkItem(self.key, self.source_id, self.source_type, self.item, self.old_hash,
                        self.allow_move, self.refresh, self.vector, data)


#: ``(plugin, hook, message)``: a plugin's problem met by an executor, reported by the writer
#: (``host.report_once``), since an executor on another machine has no host to report to.
Problem = tuple[str, str, str]


@dataclass
class Embedded:
    """A photo read, decoded and embedded: everything its catalog row needs."""

    key: int
    content_hash: str
    vector: np.ndarray
    #: What the source, the byte extractors and the image extractors said, unmerged: the
    #: writer applies the priority rule (:func:`huisou.core.extraction.merge`).
    contributions: list[Contribution]
    #: Width, height, format and orientation as decoded.
    decoded_metadata: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Refreshed:
    """An unchanged photo read again for its fields only (see ``WorkItem.refresh``)."""

    key: int
    contributions: list[Contribution]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Failed:
    key: int
    content_hash: str | None
    status: str
    reason: str


@dataclass
class Same:
    """Changed mtime, same bytes: only the stat (and the hash's spelling) is updated."""

    key: int
    content_hash: str


@dataclass
class MoveCandidate:
    """Bytes equal to a vanished photo's: the writer decides whether it is a move (the first
    claim on that photo) or a copy (read again with moves off)."""

    key: int
    content_hash: str
    gone_id: int


Result = Embedded | Refreshed | Failed | Same | MoveCandidate


@dataclass(frozen=True)
class BackendSpec:
    """How to build the run's embedding backend in another process: the class is found by
    ``backend_id`` in that process's plugin host, then ``cls(model=model, **options)``."""

    backend_id: str
    model: str | None
    options: dict[str, Any]
    #: The vector space the run writes; a worker whose backend differs refuses to work.
    fingerprint: str
