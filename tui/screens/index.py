"""Indexing with visible progress: a thread worker runs the core's event generator.

The worker passes its ``cancelled_event`` into :class:`~huisou.core.indexer.Indexer`, so Esc
stops the run after the batch in flight; everything committed stays (the next run resumes).
Progress goes through a one-slot mailbox (:class:`~huisou.tui.index_state.LatestBox`): the
UI always draws the newest state and never replays a backlog on a slow phone.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from huisou.core.errors import HuisouError, ModelNotAvailable
from huisou.tui.index_state import (
    CANCELLED,
    DONE,
    FAILED,
    SCANNING,
    Failure,
    IndexState,
    LatestBox,
)
from huisou.tui.messages import IndexTick
from huisou.tui.screens.base import AreaScreen
from huisou.tui.widgets.index_progress import IndexProgress
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.worker import Worker, get_current_worker


class IndexScreen(AreaScreen):
    AREA = "index"

    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("escape", "cancel", "Cancel"),
        Binding("f", "failures", "Failed"),
        Binding("r", "retry_failed", "Retry failed", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.box = LatestBox()
        self.state = IndexState()
        self.ticks = 0
        #: Set while no indexing thread is alive (a cancelled thread finishes its batch first).
        self.idle = threading.Event()
        self.idle.set()
        self.worker: Worker[None] | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="index-body"):
            yield IndexProgress(id="index-progress")

    # -- actions -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self.idle.is_set()

    def action_start(self, retry_failed: bool = False) -> None:
        if self.running:
            self.notify("Indexing is already running (Esc cancels)")
            return
        self.idle.clear()
        self.choice = self.ctx.model_choice()  # read on the UI thread's connection
        self.worker = self.index_worker(retry_failed)

    def action_retry_failed(self) -> None:
        self.action_start(retry_failed=True)

    def action_cancel(self) -> None:
        if not self.running:
            self.app.switch_mode("search")
            return
        self.workers.cancel_group(self, "index")
        self.publish(replace(self.state, message="Cancelling after this batch…"))

    def action_failures(self) -> None:
        from huisou.tui.screens.failures import FailuresScreen

        failures = list(self.state.failures)
        if not failures:
            failures = [
                Failure(f["path"], f["status"], f["error"] or "")
                for f in self.ctx.library.catalog.failures()
            ]
        self.app.push_screen(FailuresScreen(failures))

    # -- the worker ----------------------------------------------------------------------------

    def publish(self, state: IndexState) -> None:
        """Hand a state to the UI; posts a wake-up only when the UI has read the last one."""
        if self.box.put(state):
            self.post_message(IndexTick())

    @work(thread=True, exclusive=True, group="index", exit_on_error=False,
          description="Indexing photos")
    def index_worker(self, retry_failed: bool = False) -> None:
        worker = get_current_worker()
        state = IndexState(phase=SCANNING, message="Starting…")
        self.publish(state)
        library = None
        try:
            library = self.ctx.new_library()
            sources = library.sources()
            if not sources:  # before any model download: nothing to index needs no model
                state = IndexState(
                    phase=FAILED, message="No photo sources yet: press a to add a folder"
                )
                return
            state = self._fetch_model_if_needed(state, worker.cancelled_event)
            if state.phase == FAILED:
                return
            from huisou.core.indexer import Indexer

            indexer = Indexer(
                library, sources, cancel=worker.cancelled_event, retry_failed=retry_failed
            )
            for event in indexer.run():
                state = state.apply(event)
                self.publish(state)
        except ModelNotAvailable as exc:
            state = IndexState(phase=FAILED, message=f"No model yet: {exc}")
        except HuisouError as exc:
            state = IndexState(phase=FAILED, message=str(exc), failures=state.failures)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if "locked" in str(exc):
                reason = "The library stayed locked by another huisou process; try again later"
            state = IndexState(phase=FAILED, message=reason, failures=state.failures)
        finally:
            if library is not None:
                library.close()
            if state.phase not in (DONE, CANCELLED, FAILED):
                state = replace(state, phase=CANCELLED, message="Cancelled; start again to resume")
            self.publish(state)
            self.idle.set()

    def _fetch_model_if_needed(self, state: IndexState, cancel: threading.Event) -> IndexState:
        """Download the configured CLIP model first, showing bytes, when it is missing."""
        from huisou.tui import models_info

        config = self.ctx.config
        backend, model = self.choice
        if backend != "onnx-clip" or models_info.is_installed(config, model):
            return state
        entries = models_info.list_models(config, (backend, model))
        if model not in {e.name for e in entries if e.size_bytes} or not models_info.downloader(config):
            return state  # let the backend report what is missing
        state = IndexState(phase=SCANNING, message=f"Downloading model {model}…",
                           model_bytes=(0, None))
        self.publish(state)

        def progress(done: int, total: int | None) -> None:
            self.publish(replace(state, model_bytes=(done, total)))

        try:
            models_info.download_model(config, model, progress, cancel)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return IndexState(
                phase=FAILED, message=f"Model download failed: {reason} — press s to retry"
            )
        return IndexState(phase=SCANNING, message="Model ready; looking for photos…")

    # -- UI side -------------------------------------------------------------------------------

    def on_index_tick(self, message: IndexTick) -> None:
        state = self.box.take()
        if state is None:
            return
        self.ticks += 1
        finished = state.phase in (DONE, CANCELLED, FAILED) and self.state.phase != state.phase
        self.state = state
        self.query_one(IndexProgress).update_state(state)
        if finished:
            severity = "error" if state.phase == FAILED else "information"
            self.notify(state.message, severity=severity)
            search = self.app.area("search")  # type: ignore[attr-defined]
            if search is not None and state.phase != FAILED:
                search.refresh_results()  # the new photos show up in the open search
