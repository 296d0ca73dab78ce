"""The contracts plugins implement: media sources, embedding backends, vector stores, metadata.

The docstrings here *are* the contract; ``huisou.testing`` has a contract test suite per ABC
that a plugin's own tests subclass. This module imports nothing heavy: numpy and Pillow types
appear only in annotations.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TypedDict

from huisou.core.regular_files import open_regular

if TYPE_CHECKING:  # pragma: no cover - types only
    import numpy as np
    from huisou.core.models import ModelManager
    from PIL import Image


@dataclass(frozen=True)
class MediaItem:
    """One candidate photo as a source sees it, from a ``stat`` alone (no ``open``).

    ``path`` is the catalog key: an absolute path for file sources, or a URI for others.
    ``group`` ties items that belong together (a burst series) without merging them.
    ``fields`` are values the source already knows (a sidecar's date, a description), for
    fields declared with ``register_fields``; they win over extractors' values (see
    :data:`SOURCE_PRIORITY`). ``depends_on`` names files (sidecars) whose change re-extracts
    the photo's fields without re-embedding it; they are never indexed as photos.
    """

    path: str
    size: int
    mtime_ns: int
    group: str | None = None
    fields: Mapping[str, Any] | None = field(default=None, compare=False)
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class OptionSpec:
    """A declared option of a source or backend, so CLI, TUI and docs can list it."""

    name: str
    help: str
    default: Any = None
    multiple: bool = False


class MediaSource(ABC):
    """Finds photos. Subclasses are registered through ``register_media_sources``.

    Contract:
    - ``scan`` yields every candidate file under the source with a stat only; it never opens
      files (the catalog decides what changed, so unchanged files cost no ``open()``).
    - ``scan`` checks ``cancel`` often and stops quietly when it is set.
    - A directory that cannot be read is reported through ``self.warnings``, listed in
      ``self.unreadable`` (so the indexer does not mistake its photos for deleted ones) and
      skipped. A source that cannot be read at all raises
      :class:`~huisou.core.errors.MediaError` from ``scan``; the run then changes nothing.
    - ``open`` returns a readable binary file for an item; the caller closes it.
    - ``explain_exclusion`` tells why a path is not a candidate (for ``huisou info``).
    - Sources never modify or delete the user's files.
    """

    #: Short identifier used in the catalog and on the command line (``folder``, ``android``).
    type_id: ClassVar[str]
    #: Options ``__init__`` accepts besides ``root``.
    options: ClassVar[tuple[OptionSpec, ...]] = ()

    def __init__(self, root: str, **options: Any) -> None:
        self.root = root
        self.config = options
        self.warnings: list[str] = []
        self.unreadable: list[str] = []

    @abstractmethod
    def scan(self, cancel: threading.Event | None = None) -> Iterator[MediaItem]:
        """Yield candidate items, stat only."""

    def open(self, item: MediaItem) -> BinaryIO:
        """Open an item for reading. The default opens ``item.path`` if it is a regular local
        file (never a FIFO or a device: see :mod:`huisou.core.regular_files`)."""
        return open_regular(item.path)

    def explain_exclusion(self, path: str) -> str | None:
        """Return the rule that excludes ``path`` from this source, or None if it is included."""
        return None

    def contains(self, path: str) -> bool:
        """Whether ``path`` lies under this source's root (used to find an item's source)."""
        root = self.root.rstrip("/") + "/"
        return path == self.root or path.startswith(root)


@dataclass
class DecodedImage:
    """A decoded photo, EXIF orientation already applied.

    ``image`` may be reduced (JPEG draft decode) but never below the ``size_hint`` asked for;
    ``width``/``height`` are the full-resolution size *after* orientation.
    """

    image: Image.Image
    width: int
    height: int
    format: str
    orientation: int = 1


class Metadata(TypedDict, total=False):
    """What metadata extractors may return; absent keys mean unknown (never 0 or "")."""

    taken_at: str  # ISO 8601, local time as the camera recorded it
    taken_at_source: str  # "DateTimeOriginal", "DateTimeDigitized", "DateTime", "file mtime"
    gps_lat: float
    gps_lon: float
    camera_make: str
    camera_model: str
    orientation: int
    width: int
    height: int
    format: str


#: Priority of the fields a source attaches to its items: above every extractor's default,
#: because a sidecar written for the photo (Takeout's JSON) knows better than guesses.
SOURCE_PRIORITY = 100


class MetadataExtractor(ABC):
    """Reads what a photo knows: from its bytes (``extract``) and/or its decoded pixels
    (``extract_image``). Instances are registered through ``register_metadata_extractors``.

    Contract:
    - Return values only for built-in keys (:class:`Metadata`) and fields declared with
      ``register_fields``; an undeclared key is reported once and not stored.
    - Never raise for bad input (a parser error means "unknown"), never return placeholder
      values (GPS 0,0, empty strings); thread-safe: both methods run on decode-pool threads.
    - When two providers give one field, the higher ``priority`` wins (ties: the plugin name
      that sorts first); a source's own fields have :data:`SOURCE_PRIORITY`.
    - ``version``: change it when the extractor would now give other values; every photo is
      then extracted again on the next ``huisou index`` (without re-embedding), as are photos
      indexed before the extractor was installed.
    """

    name: ClassVar[str]
    priority: ClassVar[int] = 50
    version: ClassVar[str] = "1"
    #: Smallest image side ``extract_image`` needs (0: this extractor reads bytes only). The
    #: photo is decoded once, at the largest size any extractor or the backend asks for.
    image_size: ClassVar[int] = 0
    #: Run on photos indexed before this extractor (or this version of it) was installed. An
    #: extractor whose output is a cache (thumbnails) turns it off: old photos are then not
    #: decoded again just for it.
    backfill: ClassVar[bool] = True

    def extract(self, item: MediaItem, fp: BinaryIO) -> Metadata | dict[str, Any]:
        """Fields read from the file; ``fp`` is positioned at 0 and seekable."""
        return {}

    def extract_image(
        self, item: MediaItem, decoded: DecodedImage, vector: np.ndarray | None
    ) -> dict[str, Any]:
        """Fields read from the decoded, oriented image (``image_size`` > 0 only). ``vector``
        is the photo's embedding in the run's model (None when unknown), so an expensive
        extractor (OCR) can skip photos the embedding says are unlikely to need it."""
        return {}

    def start_run(self, run: IndexRun) -> bool:
        """Called once per indexing run on the indexing thread, before the scan: read the
        run's settings (``run.config``) or prepare with its model (``run.backend``, e.g. to
        encode prompts). Return False to sit this run out: the extractor then neither runs
        nor is recorded, so its photos stay due for the next run that includes it."""
        return True


class EmbeddingBackend(ABC):
    """Turns images and texts into vectors in one shared space.

    Contract:
    - Heavy resources load lazily: ``embed_images`` must not load the text encoder and
      ``embed_texts`` must not load the image encoder. ``release`` frees both.
    - ``prepare_image`` is CPU-only and thread-safe; the indexer calls it on decode threads so
      preprocessing overlaps with inference. ``embed_images`` receives its results.
    - Outputs are float32 arrays of shape ``(n, dimensions)``, L2-normalised.
    - ``model_fingerprint`` changes whenever vectors would change (weights, precision,
      preprocessing), so the catalog never mixes vector spaces.
    - ``embed_texts`` raises :class:`~huisou.core.errors.HuisouError` for an empty text.
    """

    backend_id: ClassVar[str]
    options: ClassVar[tuple[OptionSpec, ...]] = ()

    def __init__(self, model: str | None = None, **options: Any) -> None:
        self.model = model
        self.config = options

    @property
    @abstractmethod
    def dimensions(self) -> int:
        """Vector length."""

    @property
    @abstractmethod
    def model_fingerprint(self) -> str:
        """A stable identifier of the vector space, safe in file and table names."""

    @property
    def image_size(self) -> int:
        """Smallest image side the model needs; decoders may reduce to it."""
        return 224

    def prepare_image(self, image: Image.Image) -> Any:
        """Preprocess one decoded image (thread-safe, no model needed). Default: identity."""
        return image

    @abstractmethod
    def embed_images(self, prepared: Sequence[Any]) -> np.ndarray:
        """Embed a batch of ``prepare_image`` results."""

    @abstractmethod
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a batch of query texts."""

    def release(self) -> None:  # noqa: B027 - optional hook, default is a no-op
        """Free loaded models; the next embed call loads what it needs again."""

    @classmethod
    def model_manager(cls, models_dir: str) -> ModelManager | None:
        """The manager of this backend's models (``huisou models``, the TUI's Models screen),
        or None for a backend with nothing to download or install."""
        return None

    def describe(self) -> dict[str, Any]:
        """Facts for ``huisou status``/``doctor`` (model name, precision, providers...)."""
        return {"backend": self.backend_id, "model": self.model, "dimensions": self.dimensions}


@dataclass
class StoreLocation:
    """Where a vector store keeps one vector space.

    ``connection`` is the catalog's SQLite connection (stores inside the library file use it so
    a batch commits atomically with the catalog); external stores may ignore it and use
    ``options`` (a DSN...). ``namespace`` is the model fingerprint: one space per model.
    """

    db_path: str
    namespace: str
    dimensions: int
    metric: str = "cosine"
    connection: Any = None
    options: dict[str, Any] = field(default_factory=dict)


class VectorStore(ABC):
    """Stores vectors by integer item id and answers k-nearest-neighbour queries.

    Contract:
    - ``upsert`` is idempotent: writing the same id twice leaves one vector (crash-safe resume).
    - Stores that share the catalog connection must not commit; the indexer commits the batch.
    - ``search`` returns ``(item_id, score)`` pairs, best first, ``score`` = cosine similarity
      for unit vectors; ``candidates`` (item ids) restricts the search when given.
    - Vectors passed in are float32 and L2-normalised.
    """

    store_id: ClassVar[str]

    def __init__(self, location: StoreLocation) -> None:
        self.location = location

    @abstractmethod
    def upsert(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Insert or replace vectors."""

    @abstractmethod
    def delete(self, ids: Sequence[int]) -> None:
        """Remove vectors; unknown ids are ignored."""

    @abstractmethod
    def search(
        self, vector: np.ndarray, k: int, candidates: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """Return up to ``k`` nearest ids with cosine scores, best first."""

    @abstractmethod
    def count(self) -> int:
        """Number of stored vectors."""

    def ids(self) -> set[int]:
        """All stored ids (used to check catalog and store agree after a crash)."""
        raise NotImplementedError

    def fetch(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(found ids, float32 matrix)``: the stored vectors of those ``ids`` the store has.

        Used by relevance feedback, duplicate collapse and the adaptive cutoff (no photo is
        re-encoded). Optional: a store that cannot return vectors raises NotImplementedError.
        """
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - optional hook, default is a no-op
        """Release resources; the store is not used afterwards."""

    def describe(self) -> dict[str, Any]:
        """Facts for ``huisou doctor``: implementation in use, notices."""
        return {"store": self.store_id}


@dataclass(frozen=True)
class SignalMatch:
    """One photo a search signal found: its score (higher is better; only the order within
    one signal matters for fusion) and the text that matched, for ``--explain``."""

    item_id: int
    score: float
    matched: str | None = None


@dataclass
class SignalQuery:
    """What a search signal is asked: the query text (after dates and places were taken out),
    the catalog to read (read-only), the photos allowed (None: all) and how many to return."""

    text: str
    catalog: Any
    candidates: frozenset[int] | None
    limit: int


class SearchSignal(ABC):
    """Scores photos for a query, besides CLIP: huisou fuses every signal's ranking with the
    CLIP ranking by weighted reciprocal-rank fusion (:mod:`huisou.core.fusion`).

    Contract: ``match`` returns at most ``query.limit`` matches, best first, only ids from
    ``query.candidates`` when it is set; it reads the catalog, never writes; it is fast (one
    indexed query, e.g. full text): it runs on every search.
    """

    name: ClassVar[str]
    #: Default weight in the fusion (config ``[search.weights]`` overrides it by name).
    weight: ClassVar[float] = 1.0

    @abstractmethod
    def match(self, query: SignalQuery) -> list[SignalMatch]:
        """Photos matching ``query.text``, best first."""


@dataclass
class IndexRun:
    """What lifecycle hooks learn about a run."""

    sources: list[str]
    model_fingerprint: str
    db_path: str
    started_at: float
    extra: dict[str, Any] = field(default_factory=dict)
    #: The run's settings (:class:`~huisou.core.config.Config`; None outside an index run).
    config: Any = None
    #: The run's embedding backend (None outside an index run).
    backend: EmbeddingBackend | None = None


@dataclass
class ExecutorContext:
    """What an executor is given for one run, besides the work items.

    The in-process objects (``backend``, ``host``, ``extractors`` — those taking part in the
    run, started —, ``open``) serve executors that work here; ``backend_spec`` and ``plugins_dir`` let one that works in other processes
    build the same backend and plugin host there. ``gone`` (a
    :class:`~huisou.core.content_hash.HashLookup` of the vanished photos' hashes) pickles.
    """

    backend: EmbeddingBackend
    backend_spec: Any
    host: Any
    extractors: Any
    gone: Any
    open: Any
    batch_size: int
    threads: int
    cancel: threading.Event
    plugins_dir: str | None = None
    #: The run: an executor in another process gives its own extractors ``start_run`` with
    #: the run's settings (``run.config``) and its own backend, as the writer did here.
    run: IndexRun | None = None


class Executor(ABC):
    """Does the per-photo work of an indexing run: read, hash, decode, extract, embed.
    Classes are registered through ``register_executors``; ``huisou index --executor ID``
    picks one (the default, ``local``, is a thread pool in this process).

    Contract:
    - ``run`` consumes ``work`` (:class:`~huisou.core.work.WorkItem`, pure data) lazily, on
      the calling thread (the writer reads the catalog while producing it), and yields lists
      of results (:mod:`huisou.core.work`), about ``context.batch_size`` photos each; the
      writer commits each list in one transaction, so a killed run loses at most the lists
      not yet yielded.
    - Every item gets exactly one result, in any order; an item whose worker died is retried
      (the result is the same: work items are pure), never dropped, never reported twice.
    - A bad photo is a ``Failed`` result; a model fault raises
      :class:`~huisou.core.errors.ModelError` and stops the run.
    - Stop early when ``context.cancel`` is set, or when the caller closes the generator.
    - Options are keyword arguments of ``__init__``, declared in ``options`` (the CLI shows
      them as ``--NAME`` flags of ``huisou index``).
    """

    executor_id: ClassVar[str]
    options: ClassVar[tuple[OptionSpec, ...]] = ()

    def __init__(self, **options: Any) -> None:
        self.config = options

    @abstractmethod
    def run(self, work: Iterator[Any], context: ExecutorContext) -> Iterator[list[Any]]:
        """Yield lists of results for ``work``; see the class docstring."""

    def describe(self) -> dict[str, Any]:
        """Facts for ``huisou doctor`` and the run's summary."""
        return {"executor": self.executor_id}
