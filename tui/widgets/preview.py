"""A photo thumbnail: half-block colours everywhere, a graphics protocol where available.

The decode runs in a thread worker and lands in the app's LRU cache; the widget redraws
from the cache, so moving through results never blocks on Pillow.
"""

from __future__ import annotations

from huisou.tui.messages import ThumbnailReady
from huisou.tui.thumbnails import halfblock
from rich.text import Text
from textual import work
from textual.reactive import reactive
from textual.widget import Widget
from textual.worker import get_current_worker


class Preview(Widget):
    """Shows ``path`` scaled into the widget's box; empty when ``path`` is None."""

    DEFAULT_CSS = """
    Preview {
        height: 10;
        width: 1fr;
        content-align: center middle;
    }
    """

    path: reactive[str | None] = reactive(None)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        #: ``(path, message)`` of the last failed decode. Keyed by path because a worker of
        #: a photo left behind may finish after the next one is selected.
        self._error: tuple[str, str] | None = None
        #: ``(path, width, height)`` of the last picture drawn (see :attr:`settled`).
        self._drawn: tuple[str, int, int] | None = None

    def _box(self) -> tuple[int, int]:
        return max(1, self.size.width), max(1, self.size.height)

    def watch_path(self, _old: str | None, _new: str | None) -> None:
        self._request()
        self.refresh()

    def on_resize(self) -> None:
        self._request()

    def _request(self) -> None:
        if self.path is None or not self.is_mounted:
            return
        width, height = self._box()
        cache = self.app.ctx.thumbnails  # type: ignore[attr-defined]
        if cache.get(self.path, width, height * 2) is None:
            self._error = None  # decode again (a resize, or a photo fixed on disk)
            self._decode(self.path, width, height * 2)

    @work(thread=True, exclusive=True, group="thumbnail", exit_on_error=False)
    def _decode(self, path: str, width: int, height: int) -> None:
        worker = get_current_worker()
        try:
            self.app.ctx.thumbnails.load(path, width, height)  # type: ignore[attr-defined]
        except Exception as exc:  # an unreadable photo shows a line, not a crash
            self._error = (path, f"no preview: {type(exc).__name__}: {exc}")
        if not worker.is_cancelled:
            self.post_message(ThumbnailReady(path, width, height))

    def on_thumbnail_ready(self, message: ThumbnailReady) -> None:
        message.stop()
        self.refresh()

    @property
    def settled(self) -> bool:
        """The current photo is drawn at the current size (or its error is shown)."""
        if self.path is None or (self._error is not None and self._error[0] == self.path):
            return True
        return self._drawn == (self.path, *self._box())

    def render(self) -> Text:
        if self.path is None:
            return Text("")
        if self._error is not None and self._error[0] == self.path:
            return Text(self._error[1], style="dim")
        width, height = self._box()
        image = self.app.ctx.thumbnails.get(self.path, width, height * 2)  # type: ignore[attr-defined]
        if image is None:
            return Text("loading preview…", style="dim")
        self._drawn = (self.path, width, height)
        return halfblock(image, width, height)
