"""One photo full screen (a phone in portrait): left/right go through the results.

Esc goes back to the results with the photo last shown highlighted.
"""

from __future__ import annotations

from collections.abc import Sequence

from huisou.core.search import Hit
from huisou.tui.widgets.photo_details import PhotoDetails
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer


class DetailsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("left", "step(-1)", "Prev", key_display="←"),
        Binding("right", "step(1)", "Next", key_display="→"),
        Binding("o", "open_photo", "Open"),
        Binding("c", "copy_path", "Copy path"),
        Binding("m", "more_like_this", "More like"),
        Binding("O", "open_folder", "Folder", show=False),
        Binding("space", "toggle_selected", "Select", show=False),
    ]

    def __init__(self, hits: Sequence[Hit] | Hit, index: int = 0) -> None:
        super().__init__()
        self.hits = [hits] if isinstance(hits, Hit) else list(hits)
        self.index = index

    @property
    def hit(self) -> Hit:
        return self.hits[self.index]

    def compose(self) -> ComposeResult:
        yield PhotoDetails(id="details")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        self.query_one(PhotoDetails).show(self.hit, position=(self.index, len(self.hits)))

    def action_step(self, delta: int) -> None:
        index = self.index + delta
        if 0 <= index < len(self.hits):
            self.index = index
            self.show()
            search = self._search()
            if search is not None and len(search.shown) == len(self.hits):
                search.move_to(index)

    def _search(self):  # noqa: ANN202 - the SearchScreen below this one, if any
        from huisou.tui.screens.search import SearchScreen

        return next((s for s in reversed(self.app.screen_stack) if isinstance(s, SearchScreen)),
                    None)

    def action_open_photo(self) -> None:
        self._search().action_open_photo(self.hit)

    def action_open_folder(self) -> None:
        self._search().action_open_folder(self.hit)

    def action_copy_path(self) -> None:
        self._search().action_copy_path(self.hit)

    def action_toggle_selected(self) -> None:
        search = self._search()
        search.move_to(self.index)
        search.action_toggle_selected()
        self.show()

    def action_more_like_this(self) -> None:
        search = self._search()
        self.app.pop_screen()
        search.action_more_like_this(self.hit)
