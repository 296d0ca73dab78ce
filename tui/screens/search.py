"""Search as you type, or browse without a query: results as a list or a thumbnail grid.

Queries are debounced and run on a worker. With no query the screen browses the library by
month (newest first) or by folder, under the same filters. At 100+ columns the details pane
sits beside the results; below that, Enter pushes a
:class:`~huisou.tui.screens.details.DetailsScreen` (left/right go through the results).
Space selects photos; ``c`` copies, ``w`` writes their paths to a file, and ``huisou pick``
prints them when the UI closes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from huisou.core.errors import HuisouError, ModelNotAvailable
from huisou.core.search import Hit, Searcher, SearchFilters
from huisou.tui import browse
from huisou.tui.messages import SearchDone, SearchFailed
from huisou.tui.screens.base import AreaScreen
from huisou.tui.widgets.filter_bar import FilterBar
from huisou.tui.widgets.first_run import FirstRunGuide, guide_text
from huisou.tui.widgets.graphic_grid import GraphicGrid
from huisou.tui.widgets.photo_details import PhotoDetails
from huisou.tui.widgets.query_input import QueryInput
from huisou.tui.widgets.result_list import CONFIDENCE_MARKS, ResultList
from huisou.tui.widgets.thumb_grid import GridHighlighted, GridSelected, ThumbGrid
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.worker import get_current_worker


def filter_summary(filters: SearchFilters) -> str:
    """``from 2024-05 · to 2024-06 · folder Camera · camera pixel``; empty without filters."""
    parts = []
    if filters.after:
        parts.append(f"from {filters.after}")
    if filters.before:
        parts.append(f"before {filters.before.split('T')[0]}")
    if filters.folder:
        parts.append(f"folder {PurePath(filters.folder).name or filters.folder}")
    if filters.camera:
        parts.append(f"camera {filters.camera}")
    parts += [condition.text for condition in filters.where]
    return " · ".join(parts)


def confidence_summary(hits: Sequence[Hit]) -> str:
    """``● 2 high · ○ 7 low``: how many hits stand out for the query (core.relevance), with
    the marks the results carry; empty when the library is too small to judge."""
    counts = Counter(hit.confidence for hit in hits if hit.confidence)
    return " · ".join(f"{CONFIDENCE_MARKS[level][0]} {counts[level]} {level}"
                      for level in CONFIDENCE_MARKS if counts[level])


def search_notes(library: Any, searcher: Searcher, text: str | None) -> list[str]:
    """The lines the CLI prints on stderr around a search, for the status area: the model's
    language notice, the searcher's notice, what it understood (dates, place)."""
    notes = []
    if text:
        try:
            backend_id, model = library.model_choice()
            notice = library.host.language_notice(text, backend_id, model,
                                                  library.config.models_path)
        except Exception:  # a broken model manager must not cost the results
            notice = None
        if notice:
            notes.append(notice)
    if searcher.notice:
        notes.append(f"note: {searcher.notice}")
    if searcher.understood is not None:
        notes.append(searcher.understood.describe())
    return notes


#: Seconds of typing pause before a query runs.
DEBOUNCE = 0.25


class SearchScreen(AreaScreen):
    AREA = "search"
    AUTO_FOCUS = None  # refresh_guide places the focus: the guide on a first run
    BINDINGS = [
        Binding("slash", "focus_query", "Query", key_display="/", show=False),
        Binding("escape", "back", "Back", show=False),
        Binding("down", "focus_results", "Results", show=False),
        Binding("o", "open_photo", "Open"),
        Binding("c", "copy_path", "Copy path", show=False),
        Binding("m", "more_like_this", "More like", show=False),
        Binding("f", "toggle_filters", "Filters"),
        Binding("g", "toggle_grid", "Grid"),
        Binding("s", "toggle_sort", "Sort", show=False),
        Binding("t", "toggle_grouping", "Month/folder", show=False),
        Binding("space", "toggle_selected", "Select", show=False),
        Binding("w", "write_selection", "Write paths", show=False),
        Binding("O", "open_folder", "Open folder", show=False),
        Binding("a", "app.add_source", "Add", show=False),
        Binding("i", "app.start_index", "Index", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.generation = 0
        self.filters = SearchFilters()
        #: "More like this": the photo whose stored vector is the query (None: the text).
        self.like_path: str | None = None
        self._timer: Timer | None = None
        #: The next query is a refresh of the same one (keep the highlighted photo).
        self._refreshing = False
        #: Generations whose results keep the highlight / open the first result (Enter).
        self._keep_place: int | None = None
        self._open_first: int | None = None
        self.last_hits: list[Hit] = []
        self.last_seconds = 0.0
        #: "list" or "grid"; "score" or "date"; "month" or "folder" (browsing)
        self.view = "list"
        self.sort = "score"
        self.grouping = "month"
        self.browsing = False
        #: Selected paths, in the order they were selected.
        self.selected: dict[str, None] = {}
        self.shown: list[Hit] = []

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="search-main"):
            with Vertical(id="search-left"):
                yield QueryInput(placeholder="Describe a photo… (e.g. red car at night)", id="query")
                yield FilterBar(id="filters")
                yield Static("", id="filter-sign")
                yield Static("", id="search-status")
                yield Static("", id="search-note")
                yield FirstRunGuide(id="guide")
                yield ResultList(id="results")
                protocol = self.ctx.image_protocol
                # Real pixels where the terminal has a graphics protocol, as in the preview.
                yield GraphicGrid(protocol, id="grid") if protocol else ThumbGrid(id="grid")
            yield PhotoDetails(id="details")

    def on_mount(self) -> None:
        self.query_one("#filters").display = False
        self.query_one("#filter-sign").display = False
        self.query_one("#search-note").display = False
        self.query_one("#grid").display = False
        if self.ctx.initial_query:
            self.query_one("#query", Input).value = self.ctx.initial_query
        self.refresh_guide(place_focus=True)
        self.schedule_search(delay=0)  # the timeline, or the initial query's results

    def on_screen_resume(self) -> None:
        self.refresh_guide(place_focus=True)
        if self.is_mounted and not self.query_one("#query", Input).value.strip():
            self._refreshing = True  # keep the photo the user was looking at
            self.schedule_search(delay=0)  # browsing: show what was added or indexed since

    def on_resize(self) -> None:
        # A phone in portrait: a borderless query box saves two of ~18 rows.
        self.query_one("#query", QueryInput).compact = self.size.width < 60

    # -- state ---------------------------------------------------------------------------

    @property
    def wide(self) -> bool:
        return self.has_class("-wide")

    def refresh_guide(self, place_focus: bool = False) -> None:
        """Show the first-run guide while the library has no sources and no query is typed.

        With ``place_focus`` (arriving on the screen) the guide takes the focus while it is
        shown, so the keys it names (a, i, 1-5) act instead of being typed into the search
        box; otherwise the search box gets it.
        """
        from huisou.tui.models_info import configured_model

        ctx = self.ctx
        catalog = ctx.library.catalog
        has_sources = bool(catalog.sources())
        # Until something is indexed there is nothing to search: the guide (and its keys)
        # stay, with the steps already done ticked.
        empty = not has_sources or not catalog.status_counts().get("indexed")
        guide = self.query_one("#guide", FirstRunGuide)
        show = empty and not self.query_one("#query", Input).value.strip()
        if show:
            try:
                model = configured_model(ctx.config, ctx.model_choice())
            except Exception:
                model = None
            backend = ctx.model_choice()[0]
            guide.update(
                guide_text(model, backend, ctx.source_types(), ctx.environment.storage_hint,
                           has_sources=has_sources)
            )
        guide.display = show
        self.query_one("#results").display = not show and self.view == "list"
        self.query_one("#grid").display = not show and self.view == "grid"
        self.set_class(show, "-first-run")
        if place_focus and show:
            guide.focus()
        elif place_focus and self.focused in (None, guide):
            self.query_one("#query", Input).focus()

    def set_status(self, text: str, *, error: bool = False, one_line: bool = False) -> None:
        """Up to two lines (a search's counts and query); ``one_line`` cuts a hint that
        would take a row of results from a phone screen."""
        status = self.query_one("#search-status", Static)
        status.set_class(error, "-error")
        status.set_class(one_line, "-one-line")
        status.update(text)

    # -- querying ------------------------------------------------------------------------

    @on(Input.Changed, "#query")
    def _query_changed(self, event: Input.Changed) -> None:
        self.like_path = None
        self.schedule_search()

    @on(Input.Submitted, "#query")
    def _query_submitted(self, event: Input.Submitted) -> None:
        """Enter runs the query now and shows its best result (details or side pane)."""
        self.schedule_search(delay=0)
        if not self.ctx.pick:
            self._open_first = self.generation
        self.results_view.focus()

    @on(FilterBar.Changed)
    def _filters_changed(self, event: FilterBar.Changed) -> None:
        self.filters = event.filters
        self.refresh_filter_sign()
        self.schedule_search()

    def refresh_filter_sign(self) -> None:
        """One line naming the active filters while their bar is hidden: hidden filters
        still restrict every result, so the user must see that they are on."""
        sign = self.query_one("#filter-sign", Static)
        active = filter_summary(self.filters)
        sign.display = bool(active) and not self.query_one("#filters").display
        sign.update(Text.assemble(("filtered: ", "bold"), active, (" · f to change", "dim")))

    @on(FilterBar.Invalid)
    def _filters_invalid(self, event: FilterBar.Invalid) -> None:
        self.set_status(event.reason, error=True)

    def schedule_search(self, delay: float = DEBOUNCE) -> None:
        """(Re)start the debounce timer; only the last query of a typing burst runs."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if delay <= 0:
            self.run_query()
        else:
            self._timer = self.set_timer(delay, self.run_query)

    def run_query(self) -> None:
        self._timer = None
        text = self.query_one("#query", Input).value.strip()
        self.generation += 1
        if self._refreshing:
            self._keep_place = self.generation
        self._refreshing = False
        self.refresh_guide()
        if not text and self.like_path is None:
            self.workers.cancel_group(self, "search")
            self.browsing = True
            self.show_notes(())
            if self.has_class("-first-run"):
                self.show_hits([])
                self.set_status("")
            else:
                self.set_status("loading the library…")
                self.browse_worker(self.generation, self.filters)
            return
        self.browsing = False
        label = f"like {PurePath(self.like_path).name}" if self.like_path else text
        self.set_status(f"searching “{label}”…")
        query = None if self.like_path else text  # "more like this" is the photo alone
        self.search_worker(self.generation, query, self.like_path, self.filters, label)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def browse_worker(self, generation: int, filters: SearchFilters) -> None:
        """The library's photos by date (no model is run, only the catalog is read)."""
        worker = get_current_worker()
        ctx = self.ctx
        with ctx.search_lock:
            if worker.is_cancelled:
                return
            started = time.perf_counter()
            try:
                hits = browse.browse(ctx.search_library, filters)
            except ModelNotAvailable as exc:
                self.post_message(SearchFailed(generation, str(exc), "no-model"))
                return
            except Exception as exc:  # a locked or damaged library: one line, not a crash
                kind = "locked" if "locked" in str(exc) else "error"
                self.post_message(SearchFailed(generation, f"{type(exc).__name__}: {exc}", kind))
                return
        if not worker.is_cancelled:
            self.post_message(SearchDone(generation, "", hits, time.perf_counter() - started))

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def search_worker(
        self, generation: int, text: str | None, like: str | None, filters: SearchFilters,
        label: str,
    ) -> None:
        """Run a query; ``like`` is a catalog path whose *stored* vector is the query (no
        decode: "more like this" works for a photo deleted since it was indexed)."""
        worker = get_current_worker()
        ctx = self.ctx
        with ctx.search_lock:  # one search at a time on the search connection
            if worker.is_cancelled:
                return
            started = time.perf_counter()
            searcher = Searcher(ctx.search_library)
            try:
                hits = searcher.search(
                    text, top=ctx.top, filters=filters, like=[like] if like else ()
                )
                notes = search_notes(ctx.search_library, searcher, text)
            except ModelNotAvailable as exc:
                self.post_message(SearchFailed(generation, str(exc), "no-model"))
                return
            except HuisouError as exc:
                self.post_message(SearchFailed(generation, str(exc), "error"))
                return
            except Exception as exc:  # sqlite "database is locked" after the busy timeout
                kind = "locked" if "locked" in str(exc) else "error"
                self.post_message(SearchFailed(generation, f"{type(exc).__name__}: {exc}", kind))
                return
        if not worker.is_cancelled:
            self.post_message(SearchDone(generation, label, hits, time.perf_counter() - started,
                                         notes))

    def on_search_done(self, message: SearchDone) -> None:
        if message.generation != self.generation:
            return  # a newer query is on its way
        self.show_hits(message.hits, keep_place=message.generation == self._keep_place)
        if message.generation == self._open_first and message.hits and not self.wide:
            self.action_show_details()
        count = len(message.hits)
        self.last_seconds = message.seconds
        plural = "s" if count != 1 else ""
        self.show_notes(message.notes)
        if self.browsing:
            order = "by month" if self.grouping == "month" else "by folder"
            self.set_status(f"{count} photo{plural} {order} · t month/folder · g grid"
                            if count else "no indexed photos yet: press i to index",
                            one_line=True)
        else:
            judged = confidence_summary(message.hits)
            judged = f" ({judged})" if judged else ""
            self.set_status(f"{count} result{plural}{judged} for “{message.label}”"
                            if count else f"nothing found for “{message.label}”")

    def show_notes(self, notes: Sequence[str]) -> None:
        """What the search understood of the query and why it may disappoint (a language
        the model does not know, a place that could not be looked up); hidden when none."""
        note = self.query_one("#search-note", Static)
        note.display = bool(notes)
        note.update("\n".join(notes))

    def on_search_failed(self, message: SearchFailed) -> None:
        if message.generation != self.generation:
            return
        self.show_notes(())
        if message.kind == "no-model":
            self.set_status(f"No model yet: {message.message} — press 4 for Models", error=True)
        elif message.kind == "locked":
            self.set_status("The library is busy (another huisou is writing); retrying…")
            self.schedule_search(delay=1.0)
        else:
            self.set_status(message.message, error=True)

    def show_hits(self, hits: list[Hit], keep_place: bool = False) -> None:
        """Show new results in the chosen order and view; a refresh of the same query
        (``keep_place``) keeps the photo the user is looking at highlighted."""
        current = self.current_hit
        keep = current.path if current and keep_place else None
        self.last_hits = list(hits)
        self._draw()
        paths = [hit.path for hit in self.shown]
        if keep in paths:
            self.results_view.cursor = paths.index(keep)
        self.query_one("#details", PhotoDetails).show(self.current_hit)

    def _draw(self) -> None:
        """Put ``last_hits`` into both views in display order (groups when browsing)."""
        order = "date" if self.browsing else self.sort
        hits = browse.sort_hits(self.last_hits, order)
        groups = None
        if self.browsing:
            groups = (browse.by_month(hits) if self.grouping == "month"
                      else browse.by_folder(hits))
            hits = [hit for _label, members in groups for hit in members]
        elif order == "date":
            groups = browse.by_month(hits)
        self.shown = hits
        scored = not self.browsing
        self.query_one("#results", ResultList).set_hits(
            hits, groups, scored=scored, selected=self.selected)
        self.grid.set_hits(hits, scored=scored, selected=self.selected)

    @property
    def grid(self) -> ThumbGrid | GraphicGrid:
        """The thumbnail grid (half blocks, or pixels in a graphics-capable terminal)."""
        return self.query_one("#grid")  # type: ignore[return-value]

    @property
    def results_view(self) -> ResultList | ThumbGrid | GraphicGrid:
        """The list or the grid, whichever is shown."""
        if self.view == "grid":
            return self.grid
        return self.query_one("#results", ResultList)

    def refresh_results(self) -> None:
        """Run the current query again (new photos were indexed); no-op without a query."""
        if self.query_one("#query", Input).value.strip() or self.like_path:
            self._refreshing = True
            self.schedule_search(delay=0)

    # -- results -------------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#results")
    @on(GridHighlighted, "#grid")
    def _highlighted(self, event: object) -> None:
        self.query_one("#details", PhotoDetails).show(self.current_hit)

    @on(OptionList.OptionSelected, "#results")
    @on(GridSelected, "#grid")
    def _selected(self, event: object) -> None:
        if self.ctx.pick:
            self.action_finish_pick()
        elif self.wide:
            self.action_open_photo()
        else:
            self.action_show_details()

    @property
    def current_hit(self) -> Hit | None:
        return self.results_view.current

    def action_show_details(self) -> None:
        from huisou.tui.screens.details import DetailsScreen

        cursor = self.results_view.cursor
        if cursor is not None and self.shown:
            self.app.push_screen(DetailsScreen(self.shown, cursor))

    def move_to(self, index: int) -> None:
        """Highlight result ``index`` (details screens go through the results with arrows)."""
        self.results_view.cursor = index
        self.query_one("#details", PhotoDetails).show(self.current_hit)

    # -- views, order, selection -------------------------------------------------------------

    def action_toggle_grid(self) -> None:
        """One key switches list and grid; the highlighted photo stays highlighted."""
        cursor = self.results_view.cursor
        self.view = "grid" if self.view == "list" else "list"
        self.refresh_guide()
        if cursor is not None:
            self.results_view.cursor = cursor
        self.results_view.focus()

    def action_toggle_sort(self) -> None:
        if self.browsing:
            self.notify("Browsing is by date; sorting applies to search results")
            return
        self.sort = "date" if self.sort == "score" else "score"
        self._draw()
        self.notify(f"Sorted by {self.sort}")

    def action_toggle_grouping(self) -> None:
        self.grouping = "folder" if self.grouping == "month" else "month"
        if not self.browsing:
            self.query_one("#query", Input).value = ""  # back to browsing the library
            self.like_path = None
        self.schedule_search(delay=0)

    def action_toggle_selected(self) -> None:
        hit = self.current_hit
        if hit is None:
            return
        if hit.path in self.selected:
            del self.selected[hit.path]
        else:
            self.selected[hit.path] = None
        scored = not self.browsing
        self.query_one("#results", ResultList).refresh_marks(self.selected, scored)
        self.grid.refresh_marks(self.selected, scored)
        cursor = self.results_view.cursor
        if cursor is not None and cursor + 1 < len(self.shown):
            self.move_to(cursor + 1)
        self.set_status(f"{len(self.selected)} selected · c copy · w write paths")

    def picked_paths(self) -> list[str]:
        """The selected paths, or the highlighted one when nothing is selected."""
        if self.selected:
            return list(self.selected)
        hit = self.current_hit
        return [hit.path] if hit else []

    def action_write_selection(self) -> None:
        """Write the picked paths, one a line, to ``huisou-selection.txt`` here."""
        import os

        paths = self.picked_paths()
        if not paths:
            self.notify("No photo selected", severity="warning")
            return
        target = os.path.abspath("huisou-selection.txt")
        try:
            with open(target, "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.writelines(path + "\n" for path in paths)
        except OSError as exc:
            self.notify(f"cannot write {target}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"Wrote {len(paths)} path{'s' if len(paths) != 1 else ''} to {target}")

    def action_finish_pick(self) -> None:
        """``huisou pick``: close the UI; the CLI prints the picked paths."""
        self.app.exit(self.picked_paths())

    def action_open_folder(self, hit: Hit | None = None) -> None:
        hit = hit or self.current_hit
        if hit is None:
            self.notify("No photo selected", severity="warning")
            return
        self.action_open_photo(hit, folder=True)

    def action_focus_query(self) -> None:
        self.query_one("#query", Input).focus()

    def action_focus_results(self) -> None:
        self.results_view.focus()

    def action_back(self) -> None:
        focused = self.focused
        if isinstance(focused, Input):
            (self.query_one("#guide") if self.has_class("-first-run") else self.results_view).focus()
        else:
            self.query_one("#query", Input).focus()

    def action_toggle_filters(self) -> None:
        bar = self.query_one("#filters")
        bar.display = not bar.display
        self.refresh_filter_sign()
        if bar.display:
            self.query_one("#filter-after", Input).focus()

    def action_open_photo(self, hit: Hit | None = None, folder: bool = False) -> None:
        hit = hit or self.current_hit
        if hit is None:
            self.notify("No photo selected", severity="warning")
            return
        target = str(PurePath(hit.path).parent) if folder else hit.path
        try:
            self.ctx.opener(target)
        except OSError as exc:
            self.notify(f"cannot open {target}: {exc}", severity="error")
            return
        self.notify(f"Opening {PurePath(target).name}")

    def action_copy_path(self, hit: Hit | None = None) -> None:
        """Copy the selected photos' paths (one a line), else the highlighted one's.

        The terminal copies (OSC 52): it works over SSH and in Termux, where no clipboard
        program can reach the user's clipboard."""
        paths = [hit.path] if hit else self.picked_paths()
        if not paths:
            self.notify("No photo selected", severity="warning")
            return
        self.app.copy_to_clipboard("\n".join(paths))
        self.notify(f"Copied {paths[0]}" if len(paths) == 1 else f"Copied {len(paths)} paths")

    def action_more_like_this(self, hit: Hit | None = None) -> None:
        hit = hit or self.current_hit
        if hit is None:
            self.notify("No photo selected", severity="warning")
            return
        self.like_path = hit.path
        self.schedule_search(delay=0)
        self.results_view.focus()
