"""Ask for a model directory (and, to import, the upstream format it is in)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static


class ModelDirScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with ``(format, absolute directory)`` (format "" to install), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, formats: Sequence[str] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.formats = list(formats)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="dialog-title")
            if self.formats:
                yield Select([(f, f) for f in self.formats], value=self.formats[0],
                             allow_blank=False, id="model-format", compact=True)
            yield Input(placeholder="model directory, e.g. ~/Downloads/model", id="model-dir")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#model-dir", Input).focus()

    @on(Input.Submitted, "#model-dir")
    @on(Button.Pressed, "#ok")
    def action_ok(self) -> None:
        raw = self.query_one("#model-dir", Input).value.strip()
        folder = os.path.abspath(os.path.expanduser(raw)) if raw else ""
        if not folder or not os.path.isdir(folder):
            self.query_one("#dialog-error", Static).update(
                "type the directory that holds the model" if not raw
                else f"not a directory: {folder}")
            return
        fmt = str(self.query_one("#model-format", Select).value) if self.formats else ""
        self.dismiss((fmt, folder))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
