"""One photo full screen, for narrow terminals (a phone in portrait). Esc goes back."""

from __future__ import annotations

from huisou.core.search import Hit
from huisou.tui.widgets.photo_details import PhotoDetails
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer


class DetailsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "open_photo", "Open"),
        Binding("c", "copy_path", "Copy path"),
        Binding("m", "more_like_this", "More like"),
    ]

    def __init__(self, hit: Hit) -> None:
        super().__init__()
        self.hit = hit

    def compose(self) -> ComposeResult:
        yield PhotoDetails(id="details")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(PhotoDetails).show(self.hit)

    def _search(self):  # noqa: ANN202 - the SearchScreen below this one
        from huisou.tui.screens.search import SearchScreen

        return next(s for s in reversed(self.app.screen_stack) if isinstance(s, SearchScreen))

    def action_open_photo(self) -> None:
        self._search().action_open_photo(self.hit)

    def action_copy_path(self) -> None:
        self._search().action_copy_path(self.hit)

    def action_more_like_this(self) -> None:
        search = self._search()
        self.app.pop_screen()
        search.action_more_like_this(self.hit)
