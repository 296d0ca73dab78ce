"""A plugin's panel (``register_tui_panels``) shown as a screen of its own; Esc goes back.

A factory may return a Textual ``Screen`` (pushed as is), a ``Widget`` (framed here) or
anything else (shown as text), so a small plugin needs no Textual knowledge at all.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static


class PanelScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, name: str, content: Any) -> None:
        super().__init__()
        self.panel_name = name
        self.content = content

    def compose(self) -> ComposeResult:
        yield Static(f" {self.panel_name}", id="panel-title")
        with VerticalScroll(id="panel-body"):
            if isinstance(self.content, Widget):
                yield self.content
            else:
                yield Static(str(self.content))
        yield Footer(compact=True)


def open_panel(app: Any, name: str, factory: Any) -> None:
    """Build the panel now (factories are lazy by contract) and show it; errors are one line."""
    try:
        content = factory()
    except Exception as exc:  # a plugin's bug must not take the TUI down
        app.notify(f"panel {name!r} failed: {type(exc).__name__}: {exc}", severity="error")
        return
    app.push_screen(content if isinstance(content, Screen) else PanelScreen(name, content))
