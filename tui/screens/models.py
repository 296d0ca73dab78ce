"""Models: choose the one in use, download, install a directory, import, quantize.

Everything goes through the host's model API (``host.model_manager``), so a third-party
backend that manages models gets this screen for free; without a manager the screen shows
the model in use. The status line sits under the heading and the body scrolls, so progress
and errors stay visible on a 40x20 phone screen.
"""

from __future__ import annotations

from typing import Any

from huisou.tui import models_info
from huisou.tui.index_state import format_bytes
from huisou.tui.screens.base import AreaScreen
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker


def model_prompt(entry: models_info.ModelEntry) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    mark = "●" if entry.configured else " "
    text.append(f"{mark} {entry.name}", style="bold" if entry.configured else "")
    size = format_bytes(entry.size_bytes) if entry.size_bytes else ""
    if entry.installed:
        state = "installed" + ("" if entry.catalog else " (local)")
    elif entry.catalog:
        state = f"not downloaded · {size or 'size unknown'}"
    else:
        state = "missing: not installed"
    text.append(f"\n  {entry.tier + ' · ' if entry.tier else ''}{state}", style="dim")
    if entry.configured:
        text.append(" · in use", style="green")
    return text


class ModelsScreen(AreaScreen):
    AREA = "models"

    BINDINGS = [
        Binding("u", "use", "Use"),
        Binding("d", "download", "Download"),
        Binding("n", "install", "Install dir"),
        Binding("m", "import_model", "Import"),
        Binding("z", "quantize", "Quantize", show=False),
        Binding("r", "download", "Retry", show=False),
        Binding("escape", "cancel_download", "Cancel", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="models-body"):
            yield Static("", id="models-head")
            yield Static("", id="model-status")
            yield OptionList(id="model-list")
            yield Static("", id="model-description")

    def on_mount(self) -> None:
        self.query_one("#models-body").can_focus = False  # arrows move between models
        self.refresh_models()

    def on_screen_resume(self) -> None:
        self.refresh_models()
        self.query_one("#model-list").focus()

    def refresh_models(self, highlight: str | None = None) -> None:
        config = self.ctx.config
        backend, model = self.ctx.model_choice()
        self.entries = models_info.list_models(config, (backend, model))
        head = Text()
        head.append("Backend ", style="dim")
        head.append(backend, style="bold")
        head.append(" · model ", style="dim")
        head.append(model, style="bold")
        head.append(f"\nmodels folder {config.models_path}", style="dim")
        head.append("\nu use · d download · n install a folder · m import · z quantize",
                    style="dim")
        self.query_one("#models-head", Static).update(head)
        options = self.query_one("#model-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(Option(model_prompt(e), id=f"model-{i}")
                            for i, e in enumerate(self.entries))
        names = [e.name for e in self.entries]
        if highlight in names:
            options.highlighted = names.index(highlight)
        elif self.entries:
            configured = next((i for i, e in enumerate(self.entries) if e.configured), 0)
            options.highlighted = (highlighted if highlighted is not None
                                   and highlighted < len(self.entries) else configured)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        index = event.option_index
        if 0 <= index < len(self.entries):
            entry = self.entries[index]
            self.query_one("#model-description", Static).update(
                Text(entry.description, style="italic")
            )

    def set_status(self, text: str, style: str = "") -> None:
        status = self.query_one("#model-status", Static)
        status.update(Text(text, style=style))
        self.query_one("#models-body", VerticalScroll).scroll_to_widget(status, animate=False)

    @property
    def entry(self) -> models_info.ModelEntry | None:
        index = self.query_one("#model-list", OptionList).highlighted
        return self.entries[index] if index is not None and index < len(self.entries) else None

    # -- use ---------------------------------------------------------------------------------

    def action_use(self) -> None:
        """Write the highlighted model into config.toml and switch this session to it."""
        entry = self.entry
        if entry is None:
            return
        if not entry.installed:
            hint = "press d to download it" if entry.catalog else "press n to install it"
            self.set_status(f"{entry.name} is not installed: {hint}", "red")
            return
        backend = self.ctx.model_choice()[0]
        try:
            self.ctx.use_model(backend, entry.name)
        except Exception as exc:
            self.set_status(f"cannot use {entry.name}: {exc}", "red")
            return
        self.set_status(f"Now using {entry.name}: press 3 to index with it", "green")
        self.refresh_models(highlight=entry.name)

    # -- download ----------------------------------------------------------------------------

    def action_download(self) -> None:
        entry = self.entry
        if entry is None:
            return
        if entry.installed:
            self.set_status(f"{entry.name} is already installed (u uses it)")
            return
        if not entry.catalog:
            self.set_status(f"{entry.name} is not a catalog model: nothing to download; "
                            "n installs a model folder", "red")
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
            self._failed("Download failed", exc, "press r to retry")
            return
        self.app.call_from_thread(self.set_status, f"{name} downloaded (u uses it)", "green")
        self.app.call_from_thread(self.refresh_models, name)

    def _failed(self, what: str, exc: BaseException, hint: str = "") -> None:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        line = f"{what}: {reason}" + (f" — {hint}" if hint else "")
        self.app.call_from_thread(self.set_status, line, "red")

    # -- install, import, quantize -------------------------------------------------------------

    def action_install(self) -> None:
        from huisou.tui.screens.model_prompt import ModelDirScreen

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                self.set_status(f"Installing {answer[1]}…")
                self.install_worker("", answer[1])

        self.app.push_screen(ModelDirScreen("Install a model folder"), chosen)

    def action_import_model(self) -> None:
        from huisou.tui.screens.model_prompt import ModelDirScreen

        formats = models_info.import_formats(self.ctx.config)
        if not formats:
            self.set_status("This backend cannot import models; n installs a model folder",
                            "red")
            return

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                self.set_status(f"Importing {answer[1]} ({answer[0]})…")
                self.install_worker(*answer)

        self.app.push_screen(ModelDirScreen("Import a model", formats), chosen)

    @work(thread=True, exclusive=True, group="install", exit_on_error=False)
    def install_worker(self, fmt: str, folder: str) -> None:
        """Install (``fmt`` empty) or import a model folder; copies, never moves."""
        try:
            name = models_info.install_model(self.ctx.config, folder, fmt or None)
        except Exception as exc:
            self._failed("Import failed" if fmt else "Install failed", exc)
            return
        # the list first: once the status says "installed", the new model is highlighted
        self.app.call_from_thread(self.refresh_models, name)
        self.app.call_from_thread(self.set_status, f"Installed {name}: press u to use it",
                                  "green")

    def action_quantize(self) -> None:
        entry = self.entry
        if entry is None or not entry.installed:
            self.set_status("Quantize needs an installed model", "red")
            return
        self.set_status(f"Quantizing {entry.name} (int8; this takes a while)…")
        self.quantize_worker(entry.name)

    @work(thread=True, exclusive=True, group="install", exit_on_error=False)
    def quantize_worker(self, name: str) -> None:
        try:
            record: Any = models_info.quantize_model(self.ctx.config, name)
        except Exception as exc:
            self._failed("Quantize failed", exc)
            return
        used = isinstance(record, dict) and record.get("recommended")
        note = "int8 is used (precision auto)" if used else "int8 below the accuracy bar: fp32 kept"
        self.app.call_from_thread(self.set_status, f"{name} quantized: {note}", "green")
        self.app.call_from_thread(self.refresh_models, name)
