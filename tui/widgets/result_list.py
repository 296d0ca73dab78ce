"""The search results: one two-line entry per photo (score and name; date and folder)."""

from __future__ import annotations

from pathlib import PurePath

from huisou.core.search import Hit
from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option


def short_folder(folder: PurePath) -> str:
    """The folder's own name (``Camera``): fits a phone screen; the details show the path."""
    return folder.name or str(folder)


def hit_prompt(rank: int, hit: Hit) -> Text:
    """``0.93  IMG_0412.jpg`` over ``2024-05-01 · Camera`` (dim)."""
    path = PurePath(hit.path)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{hit.score:5.2f} ", style="bold")
    text.append(path.name)
    text.append("\n")
    date = (hit.taken_at or "")[:10] or "no date"
    text.append(f"  {date} · {short_folder(path.parent)}", style="dim")
    return text


class ResultList(OptionList):
    """An ``OptionList`` that remembers the :class:`Hit` behind each option."""

    DEFAULT_CSS = """
    ResultList {
        height: 1fr;
        border: none;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hits: list[Hit] = []

    def set_hits(self, hits: list[Hit]) -> None:
        self.hits = list(hits)
        self.clear_options()
        self.add_options(
            Option(hit_prompt(rank, hit), id=f"hit-{rank}") for rank, hit in enumerate(hits)
        )
        if hits:
            self.highlighted = 0

    @property
    def current(self) -> Hit | None:
        index = self.highlighted
        if index is None or not (0 <= index < len(self.hits)):
            return None
        return self.hits[index]
