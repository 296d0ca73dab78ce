"""Search filters: date range, folder, camera and a ``where`` expression on any field, as
small inputs that validate as you type."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from huisou.core.fields import Field
from huisou.core.search import SearchFilters
from huisou.core.where import WhereError, compile_where, known_fields
from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def resolve_folder(value: str, roots: Sequence[str]) -> str | None:
    """The absolute folder a typed value means: an absolute path (``~`` allowed), a source's
    own name (``Camera``), a folder inside a source (``2024/trip``), else relative to the
    current directory. The catalog stores absolute folders, so a relative value never
    matched anything before."""
    value = os.path.expanduser(value.strip())
    if not value:
        return None
    if os.path.isabs(value):
        return os.path.normpath(value)
    for root in roots:
        if os.path.basename(root.rstrip("/")) == value.rstrip("/"):
            return root
    for root in roots:
        inside = os.path.normpath(os.path.join(root, value))
        if os.path.isdir(inside):
            return inside
    return os.path.abspath(value)


def parse_filters(
    after: str,
    before: str,
    folder: str,
    camera: str,
    roots: Sequence[str] = (),
    where: str = "",
    fields: Mapping[str, Field] | None = None,
) -> SearchFilters:
    """Build filters from the inputs; raises ValueError naming a bad date or expression.

    ``roots`` are the library's source folders, against which a relative folder resolves;
    ``where`` is a ``--where`` expression over ``fields`` (``huisou fields``).
    """
    for label, value in (("from", after), ("to", before)):
        if value.strip() and not _DATE.match(value.strip()):
            raise ValueError(f"{label} date {value.strip()!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    end = before.strip()
    if end:  # "to 2023" includes all of 2023: compare against the next period's start
        end = _next_period(end)
    conditions = ()
    if where.strip():
        try:
            conditions = (compile_where(where.strip(), fields or {}),)
        except WhereError as exc:
            raise ValueError(exc.describe(where.strip(), "where")) from None
    return SearchFilters(
        folder=resolve_folder(folder, roots),
        after=after.strip() or None,
        before=end or None,
        camera=camera.strip() or None,
        where=conditions,
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


class SourceFolderSuggester(Suggester):
    """Completes a folder filter with the library's source folders (full path or name),
    read when asked, so a source added a minute ago is offered too."""

    def __init__(self, roots: Callable[[], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.roots = roots

    async def get_suggestion(self, value: str) -> str | None:
        names = [os.path.basename(r.rstrip("/")) for r in self.roots()]
        for candidate in (*self.roots(), *names):
            if candidate.lower().startswith(value.lower()) and candidate != value:
                return candidate
        return None


class FieldNameSuggester(Suggester):
    """Completes the word being typed in a ``where`` expression with a field name, so the
    fields plugins add (rating, tags, ocr_text...) are offered as the user types."""

    def __init__(self, names: Callable[[], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.names = names

    async def get_suggestion(self, value: str) -> str | None:
        match = re.search(r"[a-z_][a-z0-9_]*$", value)
        if not match:
            return None
        word = match.group()
        for name in sorted(self.names()):
            if name.startswith(word) and name != word:
                return value[: match.start()] + name
        return None


class FilterBar(Grid):
    """Five inputs; posts :class:`FilterBar.Changed` with valid filters."""

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
    FilterBar #filter-where {
        column-span: 2;
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
        yield Input(placeholder="folder (a source's name or path)", id="filter-folder",
                    compact=True, suggester=SourceFolderSuggester(lambda: self.roots))
        yield Input(placeholder="camera", id="filter-camera", compact=True)
        yield Input(placeholder="where: rating >= 3 and tags has family", id="filter-where",
                    compact=True, suggester=FieldNameSuggester(lambda: list(self.fields)))

    @property
    def roots(self) -> list[str]:
        """The source folders: suggested while typing a folder, and relative paths' bases."""
        ctx = getattr(self.app, "ctx", None)
        if ctx is None:
            return []
        return [s.root for s in ctx.library.catalog.sources() if s.root and os.path.isabs(s.root)]

    @property
    def fields(self) -> dict[str, Field]:
        """Every field a filter may name: declared by the plugins, or recorded by the library
        for a plugin since removed."""
        ctx = getattr(self.app, "ctx", None)
        if ctx is None:
            return {}
        from huisou.core import field_store

        recorded = field_store.recorded_declarations(ctx.library.catalog.conn)
        return known_fields(ctx.host.fields(), recorded)

    def _value(self, name: str) -> str:
        return self.query_one(f"#filter-{name}", Input).value

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            filters = parse_filters(
                self._value("after"), self._value("before"), self._value("folder"),
                self._value("camera"), self.roots, self._value("where"),
                self.fields if self._value("where").strip() else None,
            )
        except ValueError as exc:
            self.post_message(self.Invalid(str(exc)))
            return
        self.post_message(self.Changed(filters))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
