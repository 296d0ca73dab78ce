"""The one-line area switcher at the top of every main screen (tap a name or press 1–5)."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

#: (mode, long label, short label) in key order 1..5.
AREAS: tuple[tuple[str, str, str], ...] = (
    ("search", "Search", "Search"),
    ("library", "Library", "Lib"),
    ("index", "Index", "Index"),
    ("models", "Models", "Models"),
    ("plugins", "Plugins", "Plug"),
)


class NavBar(Widget):
    """Shows the areas with the current one highlighted; every label is clickable."""

    DEFAULT_CSS = """
    NavBar {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self, current: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.current = current

    def render(self) -> Text:
        long = self.size.width >= 52
        text = Text(no_wrap=True, overflow="crop")
        for number, (mode, label, short) in enumerate(AREAS, start=1):
            name = label if long else short
            style = "bold reverse" if mode == self.current else ""
            text.append(" ")
            text.append(f"{number} {name}", style=style)
        if self.size.width >= 60:
            text.append("   ? help", style="dim")
        return text

    def on_click(self, event: object) -> None:
        x = getattr(event, "x", 0)
        long = self.size.width >= 52
        position = 0
        for mode, label, short in AREAS:
            width = 1 + 2 + len(label if long else short)
            if position <= x < position + width:
                self.app.switch_mode(mode)
                return
            position += width
