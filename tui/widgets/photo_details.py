"""Everything about one result: preview, path, date and its source, size, camera, place,
score, any other catalog fields, actions."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from huisou.core.search import Hit
from huisou.tui.widgets.preview import Preview
from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

#: Catalog columns shown elsewhere (or internal): the rest are listed as extra fields.
_SHOWN = {
    "id", "source_id", "path", "folder", "name", "size", "mtime_ns", "content_hash", "status",
    "error", "width", "height", "taken_at", "taken_at_source", "camera_make", "camera_model",
    "gps_lat", "gps_lon", "orientation", "indexed_at", "updated_at", "first_seen_at",
    "last_seen_at", "inode", "device", "group_key", "depends_sig",
}


def _bytes(size: int | None) -> str:
    if not size:
        return ""
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"


def _field_text(value: Any) -> str:
    """A plugin field's value for people: tags joined, a place as coordinates."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict) and {"lat", "lon"} <= set(value):
        return f"{value['lat']:.5f}, {value['lon']:.5f}"
    return str(value)


def describe(hit: Hit, item: dict[str, Any] | None = None,
             position: tuple[int, int] | None = None,
             fields: dict[str, Any] | None = None) -> Group:
    """Name and folder on one line each (a 255-character name must not push everything
    else off a phone screen; ``c`` copies the whole path), then the fields. ``item`` is the
    catalog row (date source, file size, plugin fields) when the photo is still known."""
    item = item or {}
    path = PurePath(hit.path)
    name = Text(path.name, style="bold", no_wrap=True, overflow="ellipsis")
    folder = Text(str(path.parent), style="dim", no_wrap=True, overflow="ellipsis")
    text = Text()
    taken = hit.taken_at or "unknown"
    if item.get("taken_at_source"):
        taken += f" ({item['taken_at_source']})"
    pixels = f"{hit.width}×{hit.height}" if hit.width and hit.height else "unknown"
    rows = []
    if position is not None:
        rows.append(("photo", f"{position[0] + 1} of {position[1]} · ←/→"))
    if hit.score:
        judged = f" · {hit.confidence} confidence" if hit.confidence else ""
        rows.append(("score", f"{hit.score:.3f}{judged}"))
    rows += [
        ("taken", taken),
        ("size", " · ".join(v for v in (pixels, _bytes(item.get("size"))) if v)),
        ("camera", hit.camera_text() or "unknown"),
        ("place", f"{hit.gps['lat']:.5f}, {hit.gps['lon']:.5f}" if hit.gps else "no GPS"),
    ]
    rows += [(key[:6], str(value)) for key, value in item.items()
             if key not in _SHOWN and value not in (None, "")]
    rows += [(name, _field_text(value)) for name, value in sorted((fields or {}).items())]
    for label, value in rows:
        text.append(f"{label:>6} ", style="dim")
        text.append(f"{value}\n")  # a long plugin value (recognised text) wraps
    text.append("\no open · O folder · c copy path · m more like this", style="dim italic")
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

    def show(self, hit: Hit | None, position: tuple[int, int] | None = None) -> None:
        self.hit = hit
        self.query_one("#preview").path = hit.path if hit else None  # type: ignore[attr-defined]
        if hit is None:
            self.query_one("#details-text", Static).update(Text("No photo selected", style="dim"))
            return
        item, fields = None, hit.fields
        ctx = getattr(self.app, "ctx", None)
        if ctx is not None:
            try:
                item = ctx.library.catalog.item_by_path(hit.path)
                if item is not None and fields is None:
                    fields = _plugin_fields(ctx, item["id"])
            except Exception:  # a busy library: show what the hit carries
                item = None
        self.query_one("#details-text", Static).update(describe(hit, item, position, fields))


def _plugin_fields(ctx: Any, item_id: int) -> dict[str, Any]:
    """The values plugins gave this photo (rating, tags, recognised text...)."""
    from huisou.core import field_store

    values = field_store.values_of(ctx.library.catalog.conn, [item_id], ctx.host.fields())
    return values.get(item_id, {})
