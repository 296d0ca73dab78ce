"""Models: the CLIP catalog (size, installed, configured) and downloads with progress.

Without the CLIP plugin's catalog (e.g. a third-party backend) the screen shows the
configured backend and model only.
"""

from __future__ import annotations

from huisou.tui import models_info
from huisou.tui.index_state import format_bytes
from huisou.tui.screens.base import AreaScreen
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker


def model_prompt(entry: models_info.ModelEntry) -> Text:
    text = Text(no_wrap=False)
    mark = "●" if entry.configured else " "
    text.append(f"{mark} {entry.name}", style="bold" if entry.configured else "")
    size = format_bytes(entry.size_bytes) if entry.size_bytes else "size unknown"
    state = "installed" if entry.installed else f"not downloaded · {size}"
    text.append(f"\n  {entry.tier + ' · ' if entry.tier else ''}{state}", style="dim")
    if entry.configured:
        text.append(" · in use", style="green")
    return text


class ModelsScreen(AreaScreen):
    AREA = "models"

    BINDINGS = [
        Binding("d", "download", "Download"),
        Binding("r", "download", "Retry", show=False),
        Binding("escape", "cancel_download", "Cancel", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="models-body"):
            yield Static("", id="models-head")
            yield OptionList(id="model-list")
            yield Static("", id="model-description")
            yield Static("", id="model-status")

    def on_mount(self) -> None:
        self.refresh_models()

    def on_screen_resume(self) -> None:
        self.refresh_models()

    def refresh_models(self) -> None:
        config = self.ctx.config
        backend, model = self.ctx.model_choice()
        self.entries = models_info.list_models(config, (backend, model))
        head = Text()
        head.append("Backend ", style="dim")
        head.append(backend, style="bold")
        head.append(" · model ", style="dim")
        head.append(model, style="bold")
        head.append(f"\nmodels folder {config.models_path}", style="dim")
        if models_info.downloader(config) is None:
            head.append("\nDownloads: use 'huisou models download NAME' (no downloader here)",
                        style="dim")
        self.query_one("#models-head", Static).update(head)
        options = self.query_one("#model-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(Option(model_prompt(e), id=f"model-{i}") for i, e in enumerate(self.entries))
        if self.entries:
            configured = next((i for i, e in enumerate(self.entries) if e.configured), 0)
            options.highlighted = highlighted if highlighted is not None else configured

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        index = event.option_index
        if 0 <= index < len(self.entries):
            entry = self.entries[index]
            self.query_one("#model-description", Static).update(
                Text(entry.description, style="italic")
            )

    def set_status(self, text: str, style: str = "") -> None:
        self.query_one("#model-status", Static).update(Text(text, style=style))

    def action_download(self) -> None:
        options = self.query_one("#model-list", OptionList)
        if options.highlighted is None:
            return
        entry = self.entries[options.highlighted]
        if entry.installed:
            self.set_status(f"{entry.name} is already installed")
            return
        if models_info.downloader(self.ctx.config) is None:
            self.set_status("No downloader available in this installation", "red")
            return
        self.set_status(f"Downloading {entry.name}…")
        self.download_worker(entry.name)

    def action_cancel_download(self) -> None:
        self.workers.cancel_group(self, "download")

    @work(thread=True, exclusive=True, group="download", exit_on_error=False)
    def download_worker(self, name: str) -> None:
        worker = get_current_worker()

        def progress(done: int, total: int | None) -> None:
            line = f"Downloading {name}: {format_bytes(done)} / {format_bytes(total)} (Esc cancels)"
            self.app.call_from_thread(self.set_status, line)

        try:
            models_info.download_model(self.ctx.config, name, progress, worker.cancelled_event)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.app.call_from_thread(
                self.set_status, f"Download failed: {reason} — press r to retry", "red"
            )
            return
        self.app.call_from_thread(self.set_status, f"{name} downloaded", "green")
        self.app.call_from_thread(self.refresh_models)
