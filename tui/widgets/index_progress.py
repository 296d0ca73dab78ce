"""The indexing progress panel: bar, counts, rate, ETA, current file and failures so far."""

from __future__ import annotations

from pathlib import PurePath

from huisou.tui.index_state import (
    DONE,
    FAILED,
    IDLE,
    SCANNING,
    IndexState,
    format_bytes,
    format_eta,
)
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static


def progress_text(state: IndexState) -> Text:
    text = Text()
    text.append(state.message or "Not indexing. Press s to start.", style="bold")
    text.append("\n")
    if state.model_bytes is not None:
        got, total = state.model_bytes
        text.append(f"model download {format_bytes(got)} / {format_bytes(total)}\n")
    if state.phase != IDLE:
        total = "?" if state.total is None else str(state.total)
        text.append(f"{state.done} / {total} photos")
        if state.rate:
            text.append(f" · {state.rate:.1f}/s")
        text.append(f" · ETA {format_eta(state.eta_seconds)}\n")
        if state.current:
            text.append("now ", style="dim")
            text.append(PurePath(state.current).name + "\n")
        failed = max(state.failed, len(state.failures))
        text.append(
            f"{failed} failed" + (" · f to list" if failed else "") + "\n",
            style="bold red" if failed else "dim",
        )
    for warning in state.warnings[-3:]:
        text.append(f"! {warning}\n", style="yellow")
    if state.running:
        text.append("Esc cancels (nothing indexed is lost)", style="dim italic")
    return text


class IndexProgress(Vertical):
    """Draws an :class:`IndexState`; ``update_state`` is its only input."""

    DEFAULT_CSS = """
    IndexProgress {
        height: auto;
        padding: 0 1;
    }
    IndexProgress ProgressBar {
        width: 1fr;
    }
    IndexProgress #progress-bar Bar {
        width: 1fr;
    }
    IndexProgress #progress-bar.-failed Bar > .bar--bar,
    IndexProgress #progress-bar.-failed Bar > .bar--complete {
        color: $error;
    }
    IndexProgress > #progress-text {
        height: auto;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.state = IndexState()

    def compose(self) -> ComposeResult:
        bar = ProgressBar(total=1, show_eta=False, id="progress-bar")
        bar.display = False  # idle: nothing is busy, so no (animated) bar
        yield bar
        yield Static(progress_text(self.state), id="progress-text")

    def update_state(self, state: IndexState) -> None:
        """Busy animation only while scanning; a failed run keeps the real fraction in red
        (a full green bar would say it succeeded)."""
        self.state = state
        bar = self.query_one(ProgressBar)
        bar.display = state.phase != IDLE
        bar.set_class(state.phase == FAILED, "-failed")
        if state.running and (state.phase == SCANNING or state.total is None):
            bar.update(total=None, progress=0)
        elif state.phase == DONE and not state.total:
            bar.update(total=1, progress=1)  # nothing new to index: complete
        else:
            bar.update(total=max(state.total or 0, 1), progress=state.done)
        self.query_one("#progress-text", Static).update(progress_text(state))
