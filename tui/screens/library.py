"""Sources with their counts, library totals and the failures list; add or forget sources."""

from __future__ import annotations

from datetime import datetime

from huisou.tui.index_state import Failure
from huisou.tui.screens.base import AreaScreen
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

STATUS_ORDER = ("indexed", "unreadable", "unsupported", "skipped")


def summary_text(counts: dict[str, int], storage_hint: str | None) -> Text:
    total = sum(counts.values())
    text = Text()
    if storage_hint:
        text.append(storage_hint + "\n", style="bold yellow")
    text.append(f"{total} photos", style="bold")
    parts = [f"{counts[s]} {s}" for s in STATUS_ORDER if counts.get(s)]
    parts += [f"{n} {s}" for s, n in sorted(counts.items()) if s not in STATUS_ORDER and n]
    if parts:
        text.append(" · " + " · ".join(parts))
    return text


def source_prompt(record: object, counts: dict[str, int]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{record.root or '(default)'}\n")  # type: ignore[attr-defined]
    indexed = counts.get("indexed", 0)
    failed = counts.get("unreadable", 0) + counts.get("unsupported", 0)
    when = record.last_indexed_at  # type: ignore[attr-defined]
    stamp = datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M") if when else "never"
    text.append(
        f"  {record.type} · {indexed} indexed · {failed} failed · last {stamp}",  # type: ignore[attr-defined]
        style="dim",
    )
    return text


class LibraryScreen(AreaScreen):
    AREA = "library"

    BINDINGS = [
        Binding("a", "app.add_source", "Add"),
        Binding("i", "app.start_index", "Index"),
        Binding("f", "failures", "Failed"),
        Binding("x", "forget", "Forget", show=False),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="library-body"):
            yield Static("", id="library-summary")
            yield OptionList(id="source-list")
            yield Static("", id="library-hint")

    def on_mount(self) -> None:
        self.query_one("#library-body").can_focus = False  # arrows move between sources
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.action_refresh()
        self.query_one("#source-list").focus()

    def action_refresh(self) -> None:
        catalog = self.ctx.library.catalog
        sources = catalog.sources()
        self.sources = sources
        self.query_one("#library-summary", Static).update(
            summary_text(catalog.status_counts(), self.ctx.environment.storage_hint)
        )
        options = self.query_one("#source-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for record in sources:
            options.add_option(
                Option(source_prompt(record, catalog.source_counts(record.id)),
                       id=f"source-{record.id}")
            )
        if sources:
            options.highlighted = min(highlighted or 0, len(sources) - 1)
        hint = (
            "a add a folder · i index · f failures · x forget the highlighted source"
            if sources else "No photo sources yet. Press a to add a folder."
        )
        self.query_one("#library-hint", Static).update(Text(hint, style="dim"))

    def action_failures(self) -> None:
        from huisou.tui.screens.failures import FailuresScreen

        failures = [
            Failure(f["path"], f["status"], f["error"] or "")
            for f in self.ctx.library.catalog.failures()
        ]
        self.app.push_screen(FailuresScreen(failures))

    def action_forget(self) -> None:
        options = self.query_one("#source-list", OptionList)
        if options.highlighted is None or not self.sources:
            self.notify("No source selected", severity="warning")
            return
        record = self.sources[options.highlighted]
        from huisou.tui.screens.confirm import ConfirmScreen

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.forget_worker(record.id, record.root)

        self.app.push_screen(
            ConfirmScreen(f"Forget {record.root}? Its photos stay on disk; only the index "
                          "entries are removed."),
            done,
        )

    @work(thread=True, exclusive=True, group="library-write", exit_on_error=False)
    def forget_worker(self, source_id: int, root: str) -> None:
        """Writes wait for the database lock (a cron job may be indexing): off the UI thread."""
        get_current_worker()
        library = self.ctx.new_library()
        try:
            removed = library.remove_source(source_id)
        except Exception as exc:
            self.app.call_from_thread(
                self.notify, f"cannot forget {root}: {exc}", severity="error"
            )
            return
        finally:
            library.close()
        self.app.call_from_thread(self.notify, f"Forgot {root} ({removed} entries)")
        self.app.call_from_thread(self.action_refresh)
