"""Search filters: date range, folder and camera, as small inputs that validate as you type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from huisou.core.search import SearchFilters
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Input

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def parse_filters(after: str, before: str, folder: str, camera: str) -> SearchFilters:
    """Build filters from the four inputs; raises ValueError naming a bad date."""
    for label, value in (("from", after), ("to", before)):
        if value.strip() and not _DATE.match(value.strip()):
            raise ValueError(f"{label} date {value.strip()!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    end = before.strip()
    if end:  # "to 2023" includes all of 2023: compare against the next period's start
        end = _next_period(end)
    return SearchFilters(
        folder=folder.strip() or None,
        after=after.strip() or None,
        before=end or None,
        camera=camera.strip() or None,
    )


def _next_period(value: str) -> str:
    parts = value.split("-")
    if len(parts) == 1:
        return f"{int(parts[0]) + 1:04d}"
    if len(parts) == 2:
        year, month = int(parts[0]), int(parts[1])
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return f"{year:04d}-{month:02d}"
    return value + "T99"  # same day: any time of that day sorts before "…T99"


class FilterBar(Grid):
    """Four inputs; posts :class:`FilterBar.Changed` with valid filters."""

    DEFAULT_CSS = """
    FilterBar {
        grid-size: 2;
        grid-gutter: 0 1;
        height: auto;
        padding: 0 1;
    }
    FilterBar Input {
        width: 1fr;
    }
    """

    @dataclass
    class Changed(Message):
        filters: SearchFilters

    @dataclass
    class Invalid(Message):
        reason: str

    def compose(self) -> ComposeResult:
        yield Input(placeholder="from YYYY-MM-DD", id="filter-after", compact=True)
        yield Input(placeholder="to YYYY-MM-DD", id="filter-before", compact=True)
        yield Input(placeholder="folder", id="filter-folder", compact=True)
        yield Input(placeholder="camera", id="filter-camera", compact=True)

    def _value(self, name: str) -> str:
        return self.query_one(f"#filter-{name}", Input).value

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            filters = parse_filters(
                self._value("after"), self._value("before"), self._value("folder"),
                self._value("camera"),
            )
        except ValueError as exc:
            self.post_message(self.Invalid(str(exc)))
            return
        self.post_message(self.Changed(filters))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
