"""The results as a list: one two-line entry per photo (score and name; date and folder),
with month or folder headings when browsing, and a mark on selected photos."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import PurePath

from huisou.core.search import Hit
from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

#: How much a hit stands out for its query (``Hit.confidence`` from core.relevance): the
#: mark shown beside its score, and its colour. The status line counts them by name.
CONFIDENCE_MARKS: dict[str, tuple[str, str]] = {
    "high": ("●", "bold green"),
    "medium": ("◐", "yellow"),
    "low": ("○", "dim"),
}


def confidence_mark(hit: Hit) -> Text:
    """``● `` for a high-confidence hit, …; empty when it was not judged (small library)."""
    mark = CONFIDENCE_MARKS.get(hit.confidence or "")
    return Text(f"{mark[0]} ", style=mark[1]) if mark else Text()


def short_folder(folder: PurePath) -> str:
    """The folder's own name (``Camera``): fits a phone screen; the details show the path."""
    return folder.name or str(folder)


def hit_prompt(rank: int, hit: Hit, *, scored: bool = True, selected: bool = False) -> Text:
    """``0.93  IMG_0412.jpg`` over ``2024-05-01 · Camera`` (dim); browsing has no score."""
    path = PurePath(hit.path)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("✓ " if selected else "", style="bold green")
    if scored:
        text.append(f"{hit.score:5.2f} ", style="bold")
        text.append_text(confidence_mark(hit))
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
        #: option index -> index into ``hits`` (headings have none)
        self._rows: dict[int, int] = {}

    def set_hits(
        self,
        hits: Sequence[Hit],
        groups: Sequence[tuple[str, Sequence[Hit]]] | None = None,
        *,
        scored: bool = True,
        selected: Collection[str] = (),
    ) -> None:
        """Show ``hits`` (in ``groups`` under a heading each, when given), first highlighted."""
        self.hits = list(hits)
        position = {id(hit): n for n, hit in enumerate(self.hits)}
        options: list[Option] = []
        self._rows = {}
        for label, members in groups if groups is not None else [("", self.hits)]:
            if label:
                heading = Text(f"{label} · {len(members)}", style="bold", no_wrap=True,
                               overflow="ellipsis")
                options.append(Option(heading, disabled=True))
            for hit in members:
                n = position[id(hit)]
                self._rows[len(options)] = n
                options.append(Option(
                    hit_prompt(n, hit, scored=scored, selected=hit.path in selected),
                    id=f"hit-{n}",
                ))
        self.clear_options()
        self.add_options(options)
        if self._rows:
            self.highlighted = min(self._rows)

    def refresh_marks(self, selected: Collection[str], scored: bool) -> None:
        """Redraw the selection marks without moving the highlight."""
        for option_index, n in self._rows.items():
            hit = self.hits[n]
            self.replace_option_prompt_at_index(
                option_index, hit_prompt(n, hit, scored=scored, selected=hit.path in selected)
            )

    @property
    def cursor(self) -> int | None:
        """Index into ``hits`` of the highlighted photo."""
        index = self.highlighted
        return self._rows.get(index) if index is not None else None

    @cursor.setter
    def cursor(self, n: int) -> None:
        for option_index, hit_index in self._rows.items():
            if hit_index == n:
                self.highlighted = option_index
                return

    @property
    def current(self) -> Hit | None:
        n = self.cursor
        return self.hits[n] if n is not None and 0 <= n < len(self.hits) else None
