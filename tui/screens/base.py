"""The frame shared by the five area screens: navigation bar on top, footer at the bottom."""

from __future__ import annotations

from huisou.tui.widgets.nav_bar import NavBar
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class AreaScreen(Screen):
    """Subclasses set ``AREA`` and implement ``compose_body``."""

    AREA = "search"

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA, id="nav")
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:  # pragma: no cover - abstract
        yield from ()

    @property
    def ctx(self):  # noqa: ANN201 - TuiContext, imported lazily to avoid a cycle
        return self.app.ctx  # type: ignore[attr-defined]
