"""Hook specifications: the whole plugin API of huisou in one small module.

Every hook is a plain function whose docstring is its contract; ``docs/plugin-hooks.md`` has
one section per hook and a test keeps the two in step. ``register_*`` hooks receive a
``register`` callback (as in llm and datasette) so the host can grow keyword options later
without breaking existing plugins.

Threads: ``register_*`` hooks run once, on the thread that first builds the plugin host.
``load_image`` runs on decode-pool threads, concurrently. The index lifecycle hooks run on the
indexing thread (the CLI's main thread or a TUI worker), never per photo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

import pluggy

if TYPE_CHECKING:  # pragma: no cover - types only
    import click
    from huisou.core.events import Finished
    from huisou.core.interfaces import DecodedImage, IndexRun, MediaItem

PROJECT_NAME = "huisou"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorator for plugin functions: ``from huisou import hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_media_sources(register: Callable[..., None]) -> None:
    """Register :class:`~huisou.core.interfaces.MediaSource` subclasses: ``register(cls)``."""


@hookspec
def register_embedding_backends(register: Callable[..., None]) -> None:
    """Register :class:`~huisou.core.interfaces.EmbeddingBackend` subclasses: ``register(cls)``."""


@hookspec
def register_vector_stores(register: Callable[..., None]) -> None:
    """Register :class:`~huisou.core.interfaces.VectorStore` subclasses: ``register(cls)``."""


@hookspec
def register_metadata_extractors(register: Callable[..., None]) -> None:
    """Register :class:`~huisou.core.interfaces.MetadataExtractor` instances: ``register(obj)``."""


@hookspec
def register_fields(register: Callable[..., None]) -> None:
    """Declare the fields this plugin's sources and extractors give photos:
    ``register(name, type, description, fulltext=False)``; see :mod:`huisou.core.fields`."""


@hookspec
def register_search_signals(register: Callable[..., None]) -> None:
    """Register :class:`~huisou.core.interfaces.SearchSignal` instances: ``register(obj)``."""


@hookspec
def register_executors(register: Callable[..., None]) -> None:
    """Register :class:`~huisou.core.interfaces.Executor` subclasses: ``register(cls)``.
    ``huisou index --executor ID`` picks one by ``executor_id``; ``local`` is built in."""


@hookspec(firstresult=True)
def load_image(item: MediaItem, fp: BinaryIO, size_hint: int) -> DecodedImage | None:
    """Decode one photo, or return None to let the next plugin try.

    ``size_hint`` is the smallest side the embedding backend needs, so a decoder may use a
    reduced-size decode (JPEG draft). Raise :class:`~huisou.core.errors.UnreadableMedia` for a
    corrupt file and :class:`~huisou.core.errors.UnsupportedMedia` for a known format that
    cannot be decoded here. The built-in Pillow decoder is ``trylast``.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``huisou`` command group."""


@hookspec
def register_tui_panels(register: Callable[..., None]) -> None:
    """Register extra TUI screens: ``register(name, factory)``; imported only by the TUI."""


@hookspec
def before_index(run: IndexRun) -> None:
    """Called once before an indexing run starts, on the indexing thread."""


@hookspec
def items_indexed(run: IndexRun, paths: list[str]) -> None:
    """Called after each committed batch with the paths it embedded (never per photo)."""


@hookspec
def items_failed(run: IndexRun, failures: list[tuple[str, str, str]]) -> None:
    """Called after each batch that recorded failures: ``(path, status, reason)`` tuples."""


@hookspec
def after_index(run: IndexRun, summary: Finished) -> None:
    """Called once when an indexing run finishes or is cancelled, with its summary."""


@hookspec
def items_moved(run: IndexRun, moves: list[tuple[str, str]]) -> None:
    """Called after each committed batch that moved or renamed photos: ``(old, new)`` paths."""


@hookspec
def items_removed(run: IndexRun, paths: list[str]) -> None:
    """Called once per run with the paths of photos that left the library (deleted files)."""


@hookspec
def on_index_error(run: IndexRun, error: BaseException) -> None:
    """Called when an indexing run aborts with an exception (per-photo errors never get here)."""


#: Names of every hook, for docs and tests; keep in the order above.
HOOK_NAMES: tuple[str, ...] = (
    "register_media_sources",
    "register_embedding_backends",
    "register_vector_stores",
    "register_metadata_extractors",
    "register_fields",
    "register_search_signals",
    "register_executors",
    "load_image",
    "register_commands",
    "register_tui_panels",
    "before_index",
    "items_indexed",
    "items_failed",
    "after_index",
    "items_moved",
    "items_removed",
    "on_index_error",
)
