"""Preview through a terminal graphics protocol (Kitty TGP or Sixel) via ``textual-image``.

Used only when :func:`huisou.tui.thumbnails.graphics_protocol` detected support before the
app started; everywhere else :class:`~huisou.tui.widgets.preview.Preview` draws half blocks.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget
from textual.worker import get_current_worker

#: Pixel box of decoded thumbnails handed to the terminal.
PIXELS = 512


class GraphicPreview(Widget):
    DEFAULT_CSS = """
    GraphicPreview {
        height: 10;
        width: 1fr;
        align: center middle;
    }
    GraphicPreview > * {
        width: auto;
        height: 100%;
    }
    """

    path: reactive[str | None] = reactive(None)

    def __init__(self, protocol: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.protocol = protocol
        #: The path whose pixels were last handed to the terminal (see :attr:`settled`).
        self._shown: str | None = None

    @property
    def settled(self) -> bool:
        """The current photo's pixels (or none, for an unreadable one) are on screen."""
        return self.path is None or self._shown == self.path

    def compose(self) -> ComposeResult:
        from textual_image import widget

        cls = widget.SixelImage if self.protocol == "sixel" else widget.TGPImage
        yield cls(id="graphic")

    def watch_path(self, _old: str | None, new: str | None) -> None:
        if not self.is_mounted:
            return
        if new is None:
            self.query_one("#graphic").image = None  # type: ignore[attr-defined]
            return
        self._decode(new)

    @work(thread=True, exclusive=True, group="thumbnail", exit_on_error=False)
    def _decode(self, path: str) -> None:
        worker = get_current_worker()
        try:
            image = self.app.ctx.thumbnails.load(path, PIXELS, PIXELS)  # type: ignore[attr-defined]
        except Exception:
            image = None
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, path, image)

    def _show(self, path: str, image: object) -> None:
        if path == self.path:
            self.query_one("#graphic").image = image  # type: ignore[attr-defined]
            self._shown = path
