"""The results grid in real pixels, for terminals with a graphics protocol (Kitty, Sixel).

Same keys, cells, labels and messages as the half-block
:class:`~huisou.tui.widgets.thumb_grid.ThumbGrid`, but each thumbnail is a ``textual-image``
widget (the protocol detected before the app started, as for the preview pane). Only one
screenful of cells exists: a fixed pool of widgets that the cursor pages through, so a
library of 2,000 photos costs what the visible dozen cost and the terminal holds only the
images on screen.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Sequence
from typing import Any, ClassVar

from huisou.core.search import Hit
from huisou.tui.widgets.thumb_grid import (
    CELL_WIDTH,
    GRID_BINDINGS,
    ROW_HEIGHT,
    THUMB_ROWS,
    GridHighlighted,
    GridSelected,
    cell_label,
)
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import get_current_worker

#: Pixel box of the thumbnails handed to the terminal: the stored thumbnail's size, so
#: the grid reads ``library.thumbs.db`` and never decodes a photo that has one.
PIXELS = 192


def image_widget_class(protocol: str) -> type[Widget]:
    """The ``textual-image`` widget class drawing with ``protocol`` (``tgp`` or ``sixel``)."""
    from textual_image import widget

    return widget.SixelImage if protocol == "sixel" else widget.TGPImage


class GraphicCell(Vertical):
    """One result: its thumbnail in pixels over the name and date/folder lines."""

    DEFAULT_CSS = f"""
    GraphicCell {{
        width: {CELL_WIDTH - 1};
        height: {ROW_HEIGHT};
        margin-right: 1;
    }}
    GraphicCell > Center {{
        height: {THUMB_ROWS};
    }}
    GraphicCell > Center > * {{
        width: auto;
        height: {THUMB_ROWS};
    }}
    GraphicCell > .label {{
        height: 2;
    }}
    """

    def __init__(self, image_cls: type[Widget], slot: int) -> None:
        super().__init__()
        self.image_cls = image_cls
        #: Position in the pool (row-major on screen); the hit shown is page start + slot.
        self.slot = slot
        #: Path whose pixels the image widget holds (None: none yet or an empty cell).
        self.shown: str | None = None

    def compose(self) -> ComposeResult:
        with Center():
            yield self.image_cls()
        yield Static("", classes="label")

    @property
    def picture(self) -> Any:
        return self.query_one(Center).children[0]

    def show(self, path: str | None, image: Any, label: Text) -> None:
        """Put ``image`` (a PIL image, or None while loading) and the label in the cell;
        an unchanged picture is not sent to the terminal again."""
        if path != self.shown or (image is not None and self.picture.image is None):
            self.picture.image = image
            self.shown = path if image is not None else None
        self.query_one(".label", Static).update(label)

    def on_click(self) -> None:
        grid = self.parent.parent if self.parent is not None else None
        if isinstance(grid, GraphicGrid):
            grid.click_slot(self.slot)

    def on_unmount(self) -> None:
        with contextlib.suppress(Exception):  # free the image held by the terminal
            self.picture.image = None


class GraphicGrid(Widget, can_focus=True):
    """Arrow keys move the cursor cell and page the screenful; Enter selects."""

    DEFAULT_CSS = """
    GraphicGrid {
        height: 1fr;
    }
    GraphicGrid > Horizontal {
        height: auto;
    }
    """

    BINDINGS: ClassVar[list[Binding]] = GRID_BINDINGS
    Highlighted = GridHighlighted
    Selected = GridSelected

    def __init__(self, protocol: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.protocol = protocol
        self.hits: list[Hit] = []
        self.scored = True
        self.selected: Collection[str] = ()
        self._cursor = 0
        self._top_row = 0
        self._shape = (0, 0)  # columns, rows of the pool
        self._failed: set[str] = set()
        self._queue: list[str] = []
        self._loading = False
        self._lock = threading.Lock()

    # -- data (the same interface as ThumbGrid) ----------------------------------------------

    def set_hits(self, hits: Sequence[Hit], *, scored: bool = True,
                 selected: Collection[str] = ()) -> None:
        self.hits = list(hits)
        self.scored = scored
        self.selected = selected
        self._cursor = 0
        self._top_row = 0
        self._fill()

    def refresh_marks(self, selected: Collection[str], scored: bool) -> None:
        self.selected = selected
        self.scored = scored
        self._fill()

    @property
    def columns(self) -> int:
        return max(1, self._shape[0])

    @property
    def cursor(self) -> int | None:
        return self._cursor if self.hits else None

    @cursor.setter
    def cursor(self, n: int) -> None:
        if self.hits:
            self._cursor = max(0, min(n, len(self.hits) - 1))
            self._page_to_cursor()
            self._fill()

    @property
    def current(self) -> Hit | None:
        return self.hits[self._cursor] if self.hits else None

    # -- keys --------------------------------------------------------------------------------

    def action_move(self, rows: int, cols: int) -> None:
        if not self.hits:
            return
        self.cursor = self._cursor + rows * self.columns + cols
        self.post_message(self.Highlighted(self, self._cursor))

    def action_select(self) -> None:
        if self.hits:
            self.post_message(self.Selected(self, self._cursor))

    def click_slot(self, slot: int) -> None:
        n = self._top_row * self.columns + slot
        if 0 <= n < len(self.hits):
            self.focus()
            self.cursor = n
            self.post_message(self.Highlighted(self, n))

    def on_mouse_scroll_down(self) -> None:
        self.action_move(1, 0)

    def on_mouse_scroll_up(self) -> None:
        self.action_move(-1, 0)

    def on_focus(self) -> None:
        self._fill()

    def on_blur(self) -> None:
        self._fill()

    # -- the pool of cells ---------------------------------------------------------------------

    def on_resize(self) -> None:
        width, height = self.size
        shape = (max(1, (width + 1) // CELL_WIDTH), max(1, height // ROW_HEIGHT))
        if width and height and shape != self._shape:
            self._shape = shape
            self.call_later(self._rebuild)

    async def _rebuild(self) -> None:
        columns, rows = self._shape
        image_cls = image_widget_class(self.protocol)
        await self.remove_children()
        await self.mount_all(
            Horizontal(*(GraphicCell(image_cls, r * columns + c) for c in range(columns)))
            for r in range(rows)
        )
        self._page_to_cursor()
        self._fill()

    def _page_to_cursor(self) -> None:
        row, rows = self._cursor // self.columns, max(1, self._shape[1])
        if row < self._top_row:
            self._top_row = row
        elif row >= self._top_row + rows:
            self._top_row = row - rows + 1

    def _cells(self) -> list[GraphicCell]:
        return list(self.query(GraphicCell))

    def visible_paths(self) -> list[str]:
        start = self._top_row * self.columns
        return [hit.path for hit in self.hits[start:start + len(self._cells())]]

    def _fill(self) -> None:
        """Show the page's hits in the pool; thumbnails not in memory are loaded by a worker."""
        if not self.is_mounted:
            return
        thumbnails = self.app.ctx.thumbnails  # type: ignore[attr-defined]
        start = self._top_row * self.columns
        for cell in self._cells():
            n = start + cell.slot
            if n >= len(self.hits):
                cell.display = False
                cell.show(None, None, Text(""))
                continue
            cell.display = True
            hit = self.hits[n]
            image = thumbnails.get(hit.path, PIXELS, PIXELS)
            if image is None and hit.path not in self._failed:
                self._request(hit.path)
            lines = [cell_label(hit, line, scored=self.scored,
                                selected=hit.path in self.selected,
                                on_cursor=n == self._cursor and self.has_focus)
                     for line in (THUMB_ROWS, THUMB_ROWS + 1)]
            if hit.path in self._failed:
                lines[0] = Text("unreadable", style="dim")
            cell.show(hit.path, image, Text("\n").join(lines))

    @property
    def settled(self) -> bool:
        """Every cell on screen holds its photo's pixels (or shows it unreadable) and
        nothing is loading."""
        with self._lock:
            if self._loading or self._queue:
                return False
        start = self._top_row * self.columns
        for cell in self._cells():
            n = start + cell.slot
            if n < len(self.hits):
                path = self.hits[n].path
                if cell.shown != path and path not in self._failed:
                    return False
        return bool(self._cells()) or not self.hits

    def _request(self, path: str) -> None:
        with self._lock:
            if path in self._queue:
                return
            self._queue.append(path)
            start = not self._loading
            self._loading = True
        if start:
            self._load_queue()

    @work(thread=True, group="grid-thumbnails", exit_on_error=False)
    def _load_queue(self) -> None:
        """One thread reads the wanted thumbnails (from the store, else a decode)."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            with self._lock:
                if not self._queue:
                    self._loading = False
                    return
                path = self._queue.pop()
            try:
                self.app.ctx.thumbnails.load(path, PIXELS, PIXELS)  # type: ignore[attr-defined]
            except Exception:  # an unreadable photo is drawn as such
                self._failed.add(path)
            self.app.call_from_thread(self._fill)
