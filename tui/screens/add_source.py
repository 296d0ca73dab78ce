"""Add a photo source: a folder (path typed, ``~`` allowed) or a plugin source type.

The catalog write runs on a worker: if a cron job holds the write lock, the dialog says it is
waiting instead of freezing the UI; SQLite's busy timeout makes it wait, never corrupt.
"""

from __future__ import annotations

import os

from huisou.core.errors import HuisouError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

PLACEHOLDERS = {
    "folder": "folder path, e.g. ~/Pictures",
    "android": "leave empty for the camera roll",
}


def resolve_root(type_id: str, raw: str, cls: type, termux: bool) -> str:
    """Validate and normalise a root as ``huisou sources add`` does; raises HuisouError."""
    root = os.path.expanduser(raw.strip())
    if type_id == "folder":
        if not root:
            raise HuisouError("type the folder that holds your photos")
        if not os.path.isdir(root):
            raise HuisouError(f"not a folder: {root}")
        try:
            os.scandir(root).close()
        except PermissionError as exc:
            hint = " (run termux-setup-storage and allow access)" if termux else ""
            raise HuisouError(f"cannot read {root}: permission denied{hint}") from exc
        except OSError as exc:  # EIO from a dropped network share, ELOOP...
            raise HuisouError(f"cannot read {root}: {exc.strerror or exc}") from exc
        root = os.path.abspath(root)
    if hasattr(cls, "resolve_root"):
        root = cls.resolve_root(root)
    return root


class AddSourceScreen(ModalScreen[int | None]):
    """Dismisses with the new source id, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, type_id: str = "folder") -> None:
        super().__init__()
        self.type_id = type_id

    def compose(self) -> ComposeResult:
        types = self.app.ctx.source_types()  # type: ignore[attr-defined]
        if self.type_id not in types and types:
            self.type_id = "folder" if "folder" in types else types[0]
        with Vertical(id="dialog"):
            yield Static("Add photos", id="dialog-title")
            yield Select(
                [(t, t) for t in types], value=self.type_id, allow_blank=False,
                id="source-type", compact=True,
            )
            yield Input(placeholder=PLACEHOLDERS.get(self.type_id, "root"), id="source-root")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Add", id="add", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#source-root", Input).focus()

    @on(Select.Changed, "#source-type")
    def _type_changed(self, event: Select.Changed) -> None:
        self.type_id = str(event.value)
        self.query_one("#source-root", Input).placeholder = PLACEHOLDERS.get(self.type_id, "root")

    @on(Input.Submitted, "#source-root")
    @on(Button.Pressed, "#add")
    def action_add(self) -> None:
        ctx = self.app.ctx  # type: ignore[attr-defined]
        raw = self.query_one("#source-root", Input).value
        try:
            cls = ctx.host.get_source_class(self.type_id)
            root = resolve_root(self.type_id, raw, cls, ctx.environment.termux)
        except HuisouError as exc:
            self.show_error(str(exc))
            return
        self.show_error("Adding… (waiting for the library if another huisou is writing)")
        self.add_worker(self.type_id, root)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error(self, message: str) -> None:
        self.query_one("#dialog-error", Static).update(message)

    @work(thread=True, exclusive=True, group="add-source", exit_on_error=False)
    def add_worker(self, type_id: str, root: str) -> None:
        library = self.app.ctx.new_library()  # type: ignore[attr-defined]
        try:
            source_id = library.catalog.add_source(type_id, root, {})
        except Exception as exc:
            self.app.call_from_thread(self.show_error, f"cannot add {root}: {exc}")
            return
        finally:
            library.close()
        self.app.call_from_thread(self.dismiss, source_id)
