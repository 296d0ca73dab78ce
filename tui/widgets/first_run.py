"""The first-run guide shown instead of results while the library is empty."""

from __future__ import annotations

from huisou.tui.index_state import format_bytes
from huisou.tui.models_info import ModelEntry
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


def guide_text(
    model: ModelEntry | None, backend: str, source_types: list[str], storage_hint: str | None,
    *, has_sources: bool = False,
) -> Text:
    """What to do first: add photos, index them, and what the model download costs; a step
    already done is ticked."""
    text = Text()
    text.append("Welcome to huisou (慧搜)\n", style="bold")
    text.append("Find photos by describing them, fully offline.\n\n")
    if storage_hint:
        text.append(storage_hint + "\n\n", style="bold yellow")
    text.append("✓ " if has_sources else "1. ", style="bold green" if has_sources else "bold")
    text.append("Add photos: press ")
    text.append("a", style="bold")
    text.append(" for a folder")
    if "android" in source_types:
        text.append(" or the phone's camera roll")
    text.append(".\n")
    text.append("2. ", style="bold")
    text.append("Index them: press ")
    text.append("i", style="bold")
    text.append(" (Esc cancels; it resumes where it stopped).\n")
    text.append("3. ", style="bold")
    text.append("Type what a photo shows, e.g. ")
    text.append("dog on a beach", style="italic")
    text.append(".\n\n")
    if model is not None and backend != "onnx-clip":
        text.append(f"Model: {model.name} (backend {backend}).", style="dim")
    elif model is not None:
        if model.installed:
            text.append(f"Model {model.name} is installed.", style="dim")
        else:
            size = format_bytes(model.size_bytes) if model.size_bytes else "size unknown"
            text.append(
                f"Indexing first downloads the model {model.name} ({size}); "
                "press 4 to choose another.",
                style="dim",
            )
    return text


class FirstRunGuide(VerticalScroll):
    """Scrolls, because the guide is taller than a phone screen with the keyboard up."""

    DEFAULT_CSS = """
    FirstRunGuide {
        padding: 1 1;
    }
    FirstRunGuide > Static {
        height: auto;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("")

    def update(self, text: Text) -> None:
        self.query_one(Static).update(text)
