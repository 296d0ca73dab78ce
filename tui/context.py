"""Shared services of one TUI session: config, plugin host, libraries, opener, thumbnails.

SQLite connections are not shared between threads that may run at once, so there are
separate :class:`~huisou.core.library.Library` objects, all on the same database file:

- ``library``: the UI thread's (catalog reads for the Library screen, quick writes);
- ``search_library``: used by search workers, one at a time under ``search_lock``;
- a fresh one per indexing run (:meth:`new_library`), owned by the indexing worker.

WAL mode lets searches read committed batches while the indexer writes.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from huisou.core.config import Config
from huisou.core.library import Library
from huisou.core.plugins import PluginHost, get_host
from huisou.tui.environment import Environment
from huisou.tui.opener import Opener, SystemOpener
from huisou.tui.thumbnails import ThumbnailCache


class TuiContext:
    """Owns the long-lived objects; screens reach it as ``self.app.ctx``."""

    def __init__(
        self,
        config: Config,
        host: PluginHost | None = None,
        *,
        opener: Opener | None = None,
        environment: Environment | None = None,
        image_protocol: str | None = None,
        top: int = 50,
        pick: bool = False,
        initial_query: str = "",
    ) -> None:
        self.config = config
        self.host = host or get_host(config.plugins_dir or None)
        self.opener: Opener = opener or SystemOpener()
        if environment is None:
            from huisou.tui.environment import detect

            environment = detect()
        self.environment = environment
        self.image_protocol = image_protocol
        self.top = top
        #: ``huisou pick``: Enter ends the UI with the picked paths as the app's result.
        self.pick = pick
        self.initial_query = initial_query
        from huisou.core.thumbstore import ThumbStore

        self.thumbnails = ThumbnailCache(self.host, store=ThumbStore(config.db_path))
        self.search_lock = threading.Lock()
        self._library: Library | None = None
        self._search_library: Library | None = None
        self._panels: list[tuple[str, Any]] | None = None

    @property
    def library(self) -> Library:
        """The UI thread's library (catalog reads)."""
        if self._library is None:
            self._library = Library(self.config, self.host)
        return self._library

    @property
    def search_library(self) -> Library:
        """The search workers' library; hold ``search_lock`` while using it."""
        if self._search_library is None:
            self._search_library = Library(self.config, self.host)
        return self._search_library

    def new_library(self) -> Library:
        """A library with its own connection, for a worker thread that writes."""
        return Library(self.config, self.host)

    def model_choice(self) -> tuple[str, str]:
        """``(backend, model)`` in use: configured, else the library's last, else defaults."""
        return self.library.model_choice()

    def panels(self) -> list[tuple[str, Any]]:
        """Plugin panels ``(name, factory)`` from ``register_tui_panels`` (asked once)."""
        if self._panels is None:
            self._panels = list(self.host.tui_panels())
        return self._panels

    def source_types(self) -> list[str]:
        return sorted(self.host.media_sources())

    def use_model(self, backend: str, model: str) -> None:
        """Make ``model`` the one in use: written to config.toml for every later command,
        and this session's libraries reopened with it (searches wait for the switch)."""
        from huisou.core.config import config_path
        from huisou.tui.settings import use_model

        use_model(config_path(), backend, model)
        with self.search_lock:
            self.config.backend, self.config.model = backend, model
            self.close_libraries()

    def close_libraries(self) -> None:
        for library in (self._search_library, self._library):
            if library is not None:
                with contextlib.suppress(Exception):
                    library.close()
        self._library = self._search_library = None

    def close(self) -> None:
        self.close_libraries()
        store = self.thumbnails.store
        if store is not None:
            store.close()

