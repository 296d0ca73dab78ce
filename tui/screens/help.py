"""Keys and where things are; opened with ``?`` (Termux has no F-keys) or F1."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# huisou keys

**Everywhere**: `1`–`5` switch area (Search, Library, Index, Models, Plugins) ·
`?` this help · `ctrl+p` command palette (every action is there) · `ctrl+q` quit.
Taps and clicks work too; nothing needs dragging.

**Search**: type to search (results follow as you type) · `Enter` runs it and shows the
best photo · `↓` to the results · `Esc` back to the query · `/` focus the query ·
with no query the library is shown by month, newest first (`t` by folder) ·
`g` list or thumbnail grid · `s` sort by score or date · `f` filters (date range, folder,
camera; they apply to browsing too) · `Enter` details (side by side at 100+ columns,
where Enter opens the photo) · `o` open with the system viewer · `O` open the folder ·
`c` copy the path · `m` more like this (from the photo's stored vector: works after the
file is gone) · `space` select several · `w` write the selected paths to
huisou-selection.txt. Beside each score, how much the photo stands out for the query:
`●` high, `◐` medium, `○` low (the status line counts them; a library of fewer than 16
photos is not judged). Dates or places the query named are shown under the status line.

**Details**: `←`/`→` previous and next result · `o` open · `c` copy path · `m` more
like this · `space` select · `Esc` back.

**Library**: `a` add a folder or camera roll · `i` index now · `f` failures with
reasons · `x` forget a source (photos stay on disk).

**Index**: `s` start · `Esc` cancel (everything indexed so far is kept; start again to
resume) · `f` failures so far · `r` retry failed photos.

**Models**: `u` use the highlighted model · `d` download it · `n` install a model folder ·
`m` import one · `z` quantize · `r` retry a failed download.

**Picking** (`huisou pick [QUERY] | xargs -d '\\n' …`): `space` selects, `Enter` prints
the selected paths (or the highlighted one) and quits.

Press `Esc` to close this help.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("question_mark", "app.pop_screen", "Close", show=False),
        Binding("q", "app.pop_screen", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Markdown(HELP)
