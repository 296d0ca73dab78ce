"""Plugins: every registered plugin, its version, the hooks it implements and its problems."""

from __future__ import annotations

from huisou.tui.screens.base import AreaScreen
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


def plugins_text(infos: list, panels: list[str] | None = None) -> Text:
    text = Text()
    if panels:
        text.append("Panels: ", style="bold")
        text.append(", ".join(panels) + " (open them from the command palette, ctrl+p)\n\n")
    for info in infos:
        text.append(info.name, style="bold")
        version = f" {info.version}" if info.version else ""
        text.append(f"{version}{' (built-in)' if info.builtin else ''}\n", style="dim")
        if info.hooks:
            text.append("  " + ", ".join(info.hooks) + "\n")
        for error in info.errors:
            text.append(f"  ! {error}\n", style="red")
    if not infos:
        text.append("No plugins registered.", style="dim")
    return text


class PluginsScreen(AreaScreen):
    AREA = "plugins"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="plugins-body"):
            yield Static("", id="plugins-text")

    def on_mount(self) -> None:
        self.refresh_plugins()

    def on_screen_resume(self) -> None:
        self.refresh_plugins()

    def refresh_plugins(self) -> None:
        infos = self.ctx.host.plugin_infos(include_builtins=True)
        panels = [name for name, _ in self.ctx.panels()]
        self.query_one("#plugins-text", Static).update(plugins_text(infos, panels))
