"""The list of photos that could not be indexed, each with its reason."""

from __future__ import annotations

from huisou.tui.index_state import Failure
from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class FailuresScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, failures: list[Failure]) -> None:
        super().__init__()
        self.failures = failures

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            count = len(self.failures)
            yield Static(
                Text(f"{count} photo{'s' if count != 1 else ''} could not be indexed "
                     "(Esc to close)", style="bold"),
                id="dialog-title",
            )
            options = OptionList(id="failure-list")
            for number, failure in enumerate(self.failures):
                path = Text(failure.path, no_wrap=True, overflow="ellipsis")
                reason = Text(f"  {failure.status}: {failure.reason}", style="red")
                options.add_option(Option(Group(path, reason), id=f"failure-{number}"))
            if not self.failures:
                options.add_option(Option(Text("No failures.", style="dim"), disabled=True))
            yield options
