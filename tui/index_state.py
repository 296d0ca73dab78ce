"""The indexing state the Index screen shows, folded from the core's progress events.

Kept free of Textual so it can be tested alone. The worker thread folds every event into one
:class:`IndexState` and hands the UI a *snapshot*; the UI only ever draws the newest snapshot,
so a slow terminal skips intermediate states instead of replaying a backlog.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from huisou.core.events import (
    BatchDone,
    Finished,
    ItemFailed,
    ScanFinished,
    ScanStarted,
    SourceWarning,
)

IDLE, SCANNING, INDEXING, DONE, CANCELLED, FAILED = (
    "idle", "scanning", "indexing", "done", "cancelled", "failed",
)


@dataclass(frozen=True)
class Failure:
    path: str
    status: str
    reason: str


@dataclass
class IndexState:
    """Everything the progress widget draws; ``failures`` and ``warnings`` accumulate."""

    phase: str = IDLE
    done: int = 0
    total: int | None = None
    rate: float = 0.0
    eta_seconds: float | None = None
    current: str = ""
    failed: int = 0
    scanned: int = 0
    unchanged: int = 0
    failures: tuple[Failure, ...] = ()
    warnings: tuple[str, ...] = ()
    message: str = ""
    summary: Finished | None = None
    model_bytes: tuple[int, int | None] | None = None  # (received, total) while downloading

    @property
    def running(self) -> bool:
        return self.phase in (SCANNING, INDEXING)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)

    def apply(self, event: Any) -> IndexState:
        """Return the state after ``event`` (events from :mod:`huisou.core.events`)."""
        if isinstance(event, ScanStarted):
            return replace(
                IndexState(), phase=SCANNING, message="Looking for photos…",
                warnings=self.warnings,
            )
        if isinstance(event, SourceWarning):
            return replace(self, warnings=(*self.warnings, f"{event.source}: {event.message}"))
        if isinstance(event, ScanFinished):
            return replace(
                self, phase=INDEXING, total=event.to_embed, scanned=event.seen,
                unchanged=event.unchanged,
                message=f"{event.seen} photos found, {event.to_embed} to index",
            )
        if isinstance(event, ItemFailed):
            if event.status == "skipped":
                return self
            failure = Failure(event.path, event.status, event.reason)
            return replace(self, failures=(*self.failures, failure), current=event.path)
        if isinstance(event, BatchDone):
            return replace(
                self, done=event.done, total=event.total, rate=event.rate,
                eta_seconds=event.eta_seconds, current=event.path, failed=event.failed,
            )
        if isinstance(event, Finished):
            phase = CANCELLED if event.cancelled else DONE
            if event.cancelled:
                message = f"Cancelled: {event.indexed} indexed; start again to resume"
            else:
                message = (
                    f"Done: {event.indexed} indexed, {event.unchanged} unchanged, "
                    f"{event.failed} failed in {event.seconds:.1f}s"
                )
            return replace(
                self, phase=phase, summary=event, failed=event.failed, eta_seconds=None,
                message=message,
            )
        return self


class LatestBox:
    """A one-slot mailbox between the worker thread and the UI.

    ``put`` replaces whatever the UI has not read yet and returns True only when the slot was
    empty, so the worker posts one wake-up message per UI read, never a queue of them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: IndexState | None = None
        self._pending = False

    def put(self, value: IndexState) -> bool:
        with self._lock:
            self._value = value
            was_empty = not self._pending
            self._pending = True
            return was_empty

    def take(self) -> IndexState | None:
        with self._lock:
            self._pending = False
            return self._value


def format_eta(seconds: float | None) -> str:
    """``"1h 02m"``, ``"3m 05s"``, ``"12s"`` or ``"–"``."""
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_bytes(size: int | None) -> str:
    if size is None:
        return "? MB"
    if size >= 1_000_000_000:
        return f"{size / 1e9:.1f} GB"
    return f"{size / 1e6:.0f} MB"

