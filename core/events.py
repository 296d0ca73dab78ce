"""Typed progress events of an indexing run, consumed alike by the CLI and the TUI.

Every event turns into one JSON object (``to_json``) with an ``event`` key; that is the
``huisou index --json`` line protocol, so field names here are a public contract.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass
class Event:
    name: ClassVar[str] = "event"

    def to_json(self) -> dict[str, Any]:
        return {"event": self.name, **asdict(self)}


@dataclass
class ScanStarted(Event):
    name: ClassVar[str] = "scan_started"
    sources: list[str]


@dataclass
class SourceWarning(Event):
    """A problem with a whole directory or source (permission denied, storage missing)."""

    name: ClassVar[str] = "warning"
    source: str
    message: str


@dataclass
class ScanFinished(Event):
    name: ClassVar[str] = "scan_finished"
    seen: int
    new: int
    changed: int
    unchanged: int
    gone: int
    to_embed: int


@dataclass
class ItemFailed(Event):
    name: ClassVar[str] = "item_failed"
    path: str
    status: str
    reason: str


@dataclass
class BatchDone(Event):
    """A batch was committed: everything counted in ``done`` survives a crash from now on."""

    name: ClassVar[str] = "batch_done"
    done: int
    total: int
    path: str
    rate: float
    eta_seconds: float | None
    failed: int


@dataclass
class Finished(Event):
    name: ClassVar[str] = "finished"
    indexed: int = 0
    unchanged: int = 0
    moved: int = 0
    removed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    failures: list[dict[str, str]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data.pop("failures")
        return data
