"""A library: one catalog database plus the backend and vector store chosen by the config.

This is the object the CLI, the TUI and scripts hold. Heavy pieces (the embedding backend and
the vector store) are built on first use, so ``huisou status`` never loads a model.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from huisou.core.catalog import Catalog, SourceRecord
from huisou.core.config import DEFAULT_BACKEND, DEFAULT_MODEL, Config, data_dir
from huisou.core.errors import HuisouError, PluginError
from huisou.core.interfaces import EmbeddingBackend, MediaSource, StoreLocation, VectorStore
from huisou.core.plugins import PluginHost, get_host

log = logging.getLogger(__name__)

#: Store preference when ``store = "auto"``: sqlite-vec in the library file, then numpy.
AUTO_STORES: tuple[str, ...] = ("sqlite-vec", "numpy")


class Library:
    """Catalog + plugins + lazily created backend and store for one database file."""

    def __init__(
        self, config: Config, host: PluginHost | None = None, *, readonly: bool = False
    ) -> None:
        self.config = config
        #: read-only libraries never write or create anything (search, status, info, doctor)
        self.readonly = readonly
        self.host = host or get_host(config.plugins_dir or None)
        self._catalog: Catalog | None = None
        self._backend: EmbeddingBackend | None = None
        self._store: VectorStore | None = None
        self._lock = threading.RLock()
        self.notices: list[str] = []

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(
                self.config.db_path, readonly=self.readonly, private_dir=data_dir()
            )
        return self._catalog

    @property
    def backend(self) -> EmbeddingBackend:
        """The embedding backend; constructing it loads no model yet."""
        if self._backend is not None:  # lock-free: decode threads ask for it per photo
            return self._backend
        with self._lock:
            if self._backend is None:
                backend_id, model, options = self.backend_args()
                cls = self.host.get_backend_class(backend_id)
                self._backend = cls(model=model, **options)
            return self._backend

    def backend_args(self) -> tuple[str, str, dict[str, Any]]:
        """``(backend id, model, keyword options)`` the backend is built from, so an
        executor on another machine can build the same one."""
        backend_id, model = self.model_choice()
        options = {
            "precision": self.config.precision,
            "threads": self.config.effective_threads,
            "models_dir": str(self.config.models_path),
        }
        return backend_id, model, options

    def model_choice(self) -> tuple[str, str]:
        """``(backend, model)``: the configured ones, else the library's last used, else the
        defaults — so a library indexed with ``--model X`` is searched with X."""
        backend, model = self.config.backend, self.config.model
        if not (backend and model):
            last = self.catalog.last_model()
            if last and (not backend or backend == last[0]):
                backend, model = backend or last[0], model or last[1]
        return backend or DEFAULT_BACKEND, model or DEFAULT_MODEL

    @property
    def store(self) -> VectorStore:
        """The vector store for the current backend's vector space."""
        with self._lock:
            if self._store is None:
                self._store = self._open_store(self.backend)
            return self._store

    def _open_store(self, backend: EmbeddingBackend) -> VectorStore:
        location = StoreLocation(
            # a library that does not exist yet has no folder to put a sidecar in
            db_path=str(self.config.db_path) if self.catalog.exists else ":memory:",
            namespace=backend.model_fingerprint,
            dimensions=backend.dimensions,
            connection=self.catalog.conn,
            options=dict(self.config.extra.get("store_options", {})),
        )
        wanted = AUTO_STORES if self.config.store == "auto" else (self.config.store,)
        reasons: list[str] = []
        for store_id in wanted:
            try:
                cls = self.host.get_store_class(store_id)
                store = cls(location)
            except HuisouError as exc:
                reasons.append(f"{store_id}: {exc}")
                continue
            if reasons:
                notice = f"using vector store {store_id!r} ({'; '.join(reasons)})"
                self.notices.append(notice)
                log.warning("%s", notice)
            if not self.readonly:
                self.catalog.ensure_model(
                    backend.model_fingerprint,
                    backend.backend_id,
                    backend.model,
                    backend.dimensions,
                    store_id,
                )
            return store
        raise PluginError("no vector store could be opened: " + "; ".join(reasons))

    def source_for(self, record: SourceRecord) -> MediaSource:
        cls = self.host.get_source_class(record.type)
        return cls(record.root, **record.options)

    def sources(self) -> list[tuple[SourceRecord, MediaSource]]:
        return [(record, self.source_for(record)) for record in self.catalog.sources()]

    def remove_source(self, source_id: int) -> int:
        """Forget a source, its catalog entries and their vectors in the current model's store.

        Without a usable model (not downloaded yet) there is no store to clean; vectors of
        other models' stores stay until those are opened, and search skips ids the catalog
        no longer has.
        """
        try:
            store: VectorStore | None = self.store
        except HuisouError:
            store = None
        return self.catalog.remove_source(source_id, store.delete if store else None)

    def release_models(self) -> None:
        """Free encoder memory (after indexing, after a search session)."""
        if self._backend is not None:
            self._backend.release()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._backend is not None:
            self._backend.release()
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
