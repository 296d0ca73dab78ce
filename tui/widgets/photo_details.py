"""Everything about one result: preview, path, date, size, camera, place, score, actions."""

from __future__ import annotations

from pathlib import PurePath

from huisou.core.search import Hit
from huisou.tui.widgets.preview import Preview
from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


def describe(hit: Hit) -> Group:
    """Name and folder on one line each (a 255-character name must not push everything
    else off a phone screen; ``c`` copies the whole path), then the fields."""
    path = PurePath(hit.path)
    name = Text(path.name, style="bold", no_wrap=True, overflow="ellipsis")
    folder = Text(str(path.parent), style="dim", no_wrap=True, overflow="ellipsis")
    text = Text()
    rows = [
        ("score", f"{hit.score:.3f}"),
        ("taken", hit.taken_at or "unknown"),
        ("size", f"{hit.width}×{hit.height}" if hit.width and hit.height else "unknown"),
        ("camera", hit.camera_text() or "unknown"),
        ("place", f"{hit.gps['lat']:.5f}, {hit.gps['lon']:.5f}" if hit.gps else "no GPS"),
    ]
    for label, value in rows:
        text.append(f"{label:>6} ", style="dim")
        text.append(f"{value}\n")
    text.append("\no open · c copy path · m more like this", style="dim italic")
    return Group(name, folder, text)


class PhotoDetails(VerticalScroll):
    """Details of the highlighted hit; ``show(None)`` clears it."""

    DEFAULT_CSS = """
    PhotoDetails {
        height: 1fr;
        padding: 0 1;
    }
    PhotoDetails > #details-text {
        height: auto;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hit: Hit | None = None

    def compose(self) -> ComposeResult:
        protocol = getattr(self.app, "ctx", None) and self.app.ctx.image_protocol  # type: ignore[attr-defined]
        if protocol:
            from huisou.tui.widgets.graphic_preview import GraphicPreview

            yield GraphicPreview(protocol, id="preview")
        else:
            yield Preview(id="preview")
        yield Static(Text("No photo selected", style="dim"), id="details-text")

    def show(self, hit: Hit | None) -> None:
        self.hit = hit
        self.query_one("#preview").path = hit.path if hit else None  # type: ignore[attr-defined]
        text = describe(hit) if hit else Text("No photo selected", style="dim")
        self.query_one("#details-text", Static).update(text)
