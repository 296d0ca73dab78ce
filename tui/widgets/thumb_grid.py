"""The results as a grid of thumbnails with score, date and folder under each.

A :class:`~textual.scroll_view.ScrollView` that draws only the rows on screen (Textual's line
API), so 2,000 results cost what the visible dozen cost. Thumbnails are colour half blocks
(two pixels per cell: every terminal, Termux included) from the app's thumbnail cache; the
missing ones are decoded by a worker and the grid redraws when they land.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, ClassVar

from huisou.core.search import Hit
from huisou.tui.thumbnails import halfblock
from huisou.tui.widgets.result_list import confidence_mark
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import get_current_worker

#: Cell size: columns (including one of gap) and thumbnail rows (two pixels each).
CELL_WIDTH = 19
THUMB_ROWS = 6
#: Thumbnail rows, a name line, a date/folder line, and a gap row.
ROW_HEIGHT = THUMB_ROWS + 3


#: Keys of both grids (half-block and graphics): arrows move the cursor cell, Enter selects.
GRID_BINDINGS: list[Binding] = [
    Binding("up", "move(-1, 0)", show=False),
    Binding("down", "move(1, 0)", show=False),
    Binding("left", "move(0, -1)", show=False),
    Binding("right", "move(0, 1)", show=False),
    Binding("pageup", "move(-3, 0)", show=False),
    Binding("pagedown", "move(3, 0)", show=False),
    Binding("enter", "select", show=False),
]


@dataclass
class GridHighlighted(Message):
    """The cursor moved to result ``index`` (posted by either grid)."""

    grid: Widget
    index: int

    @property
    def control(self) -> Widget:
        return self.grid


@dataclass
class GridSelected(Message):
    """Enter on result ``index``."""

    grid: Widget
    index: int

    @property
    def control(self) -> Widget:
        return self.grid


def cell_label(hit: Hit, line: int, *, scored: bool, selected: bool, on_cursor: bool) -> Text:
    """Line ``THUMB_ROWS`` (mark, score, name) or ``THUMB_ROWS + 1`` (date, folder) of a
    cell, cut to the cell's width; reversed on the cursor cell."""
    inner = CELL_WIDTH - 1
    if line == THUMB_ROWS:
        mark = "✓ " if selected else ""
        score = f"{hit.score:.2f} " if scored else ""
        text = Text(f"{mark}{score}", no_wrap=True)
        if scored:
            text.append_text(confidence_mark(hit))
        text.append(PurePath(hit.path).name)
        style = Style(reverse=True, bold=True) if on_cursor else Style(bold=bool(mark))
    else:
        date = (hit.taken_at or "")[:10] or "no date"
        text = Text(f"{date} · {PurePath(hit.path).parent.name}", no_wrap=True)
        style = Style(reverse=True) if on_cursor else Style(dim=True)
    text.truncate(inner, overflow="ellipsis", pad=True)
    text.stylize_before(style)  # under the confidence mark's colour
    return text


@dataclass
class _Cache:
    """Rendered half-block lines of one thumbnail at the grid's cell size."""

    lines: list[list[Segment]]


class ThumbGrid(ScrollView, can_focus=True):
    """Arrow keys move the cursor cell; Enter selects it (posts :class:`ThumbGrid.Selected`)."""

    DEFAULT_CSS = """
    ThumbGrid {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS: ClassVar[list[Binding]] = GRID_BINDINGS
    Highlighted = GridHighlighted
    Selected = GridSelected

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hits: list[Hit] = []
        self.scored = True
        self.selected: Collection[str] = ()
        self._cursor = 0
        self._rendered: dict[str, _Cache] = {}
        self._wanted: set[str] = set()
        #: Photos whose thumbnail could not be made (unreadable): drawn as such, not waited for.
        self._failed: set[str] = set()
        self._queue: list[str] = []
        self._loading = False
        self._lock = threading.Lock()

    # -- data --------------------------------------------------------------------------------

    def set_hits(self, hits: Sequence[Hit], *, scored: bool = True,
                 selected: Collection[str] = ()) -> None:
        self.hits = list(hits)
        self.scored = scored
        self.selected = selected
        self._cursor = 0
        self._update_size()
        self.scroll_to(y=0, animate=False)
        self.refresh()

    def refresh_marks(self, selected: Collection[str], scored: bool) -> None:
        self.selected = selected
        self.scored = scored
        self.refresh()

    @property
    def columns(self) -> int:
        return max(1, (self.scrollable_content_region.width + 1) // CELL_WIDTH)

    @property
    def cursor(self) -> int | None:
        return self._cursor if self.hits else None

    @cursor.setter
    def cursor(self, n: int) -> None:
        if self.hits:
            self._cursor = max(0, min(n, len(self.hits) - 1))
            self._scroll_to_cursor()
            self.refresh()

    @property
    def current(self) -> Hit | None:
        return self.hits[self._cursor] if self.hits else None

    def _update_size(self) -> None:
        rows = -(-len(self.hits) // self.columns)
        self.virtual_size = Size(self.scrollable_content_region.width, rows * ROW_HEIGHT)

    def on_resize(self) -> None:
        self._rendered.clear()
        self._update_size()
        self._scroll_to_cursor()

    # -- keys --------------------------------------------------------------------------------

    def action_move(self, rows: int, cols: int) -> None:
        if not self.hits:
            return
        self.cursor = self._cursor + rows * self.columns + cols
        self.post_message(self.Highlighted(self, self._cursor))

    def action_select(self) -> None:
        if self.hits:
            self.post_message(self.Selected(self, self._cursor))

    def on_click(self, event: Any) -> None:
        row = (event.y + int(self.scroll_offset.y)) // ROW_HEIGHT
        col = event.x // CELL_WIDTH
        n = row * self.columns + col
        if col < self.columns and 0 <= n < len(self.hits):
            self.cursor = n
            self.post_message(self.Highlighted(self, n))

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:  # hidden or not laid out yet: on_resize scrolls once it has a size
            return
        top = (self._cursor // self.columns) * ROW_HEIGHT
        y = self.scroll_offset.y
        if top < y:
            self.scroll_to(y=top, animate=False)
        elif top + ROW_HEIGHT > y + height:
            self.scroll_to(y=top + ROW_HEIGHT - height, animate=False)

    def visible_paths(self) -> list[str]:
        """Paths of the photos whose cells are (at least partly) on screen."""
        height = self.scrollable_content_region.height
        if height <= 0 or not self.display:
            return []
        top = int(self.scroll_offset.y)
        first, last = top // ROW_HEIGHT, (top + height - 1) // ROW_HEIGHT
        start, end = first * self.columns, (last + 1) * self.columns
        return [hit.path for hit in self.hits[start:end]]

    @property
    def settled(self) -> bool:
        """Every thumbnail on screen has been drawn (or found unreadable) and none is loading:
        what the user sees will not change by itself (tests and benchmarks wait for it)."""
        with self._lock:
            if self._loading or self._queue:
                return False
        done = self._rendered.keys() | self._failed
        return all(path in done for path in self.visible_paths())

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        absolute = y + int(self.scroll_offset.y)
        row, line = divmod(absolute, ROW_HEIGHT)
        segments: list[Segment] = []
        for col in range(self.columns):
            n = row * self.columns + col
            if n >= len(self.hits):
                break
            segments += self._cell_line(n, line)
            segments.append(Segment(" "))
        return Strip(segments).adjust_cell_length(width).crop(0, width)

    def _cell_line(self, n: int, line: int) -> list[Segment]:
        hit = self.hits[n]
        inner = CELL_WIDTH - 1
        on_cursor = n == self._cursor and self.has_focus
        if line < THUMB_ROWS:
            lines = self._thumbnail(hit.path)
            if lines is None:
                sign = "unreadable" if hit.path in self._failed else "…"
                text = sign if line == THUMB_ROWS // 2 else ""
                return [Segment(text.center(inner), Style(dim=True))]
            return lines[line] if line < len(lines) else [Segment(" " * inner)]
        if line > THUMB_ROWS + 1:
            return [Segment(" " * inner)]
        text = cell_label(hit, line, scored=self.scored, selected=hit.path in self.selected,
                          on_cursor=on_cursor)
        return list(text.render(self.app.console))

    def _thumbnail(self, path: str) -> list[list[Segment]] | None:
        cached = self._rendered.get(path)
        if cached is not None:
            return cached.lines
        inner = CELL_WIDTH - 1
        image = self.app.ctx.thumbnails.get(path, inner, THUMB_ROWS * 2)  # type: ignore[attr-defined]
        if image is None:
            if path not in self._wanted:
                self._wanted.add(path)
                self._request(path)
            return None
        text = halfblock(image, inner, THUMB_ROWS)
        console = self.app.console
        lines = [list(part.render(console)) for part in text.split("\n")]
        pad_top = (THUMB_ROWS - len(lines)) // 2
        blank = [Segment(" " * inner)]
        lines = [blank] * pad_top + lines + [blank] * (THUMB_ROWS - pad_top - len(lines))
        self._rendered[path] = _Cache(lines)
        return lines

    def _request(self, path: str) -> None:
        with self._lock:
            self._queue.append(path)
            start = not self._loading
            self._loading = True
        if start:
            self._load_queue()

    @work(thread=True, group="grid-thumbnails", exit_on_error=False)
    def _load_queue(self) -> None:
        """One thread decodes the wanted thumbnails, the last asked for (on screen) first."""
        worker = get_current_worker()
        size = (CELL_WIDTH - 1, THUMB_ROWS * 2)
        while not worker.is_cancelled:
            with self._lock:
                if not self._queue:
                    self._loading = False
                    return
                path = self._queue.pop()
            try:
                self.app.ctx.thumbnails.load(path, *size)  # type: ignore[attr-defined]
            except Exception:  # an unreadable photo is drawn as such
                self._failed.add(path)
            self.app.call_from_thread(self.refresh)
