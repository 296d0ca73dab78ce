"""Per-file work of the indexing pipeline, run by an executor (threads, or remote workers).

Kept apart from :mod:`huisou.core.indexer` (which plans, batches and commits) because this
is the part that must be thread-safe and free of the library: it touches no catalog
connection, only the file (or its shipped bytes), the decoder plugins, the metadata extractors
and the backend's ``prepare_image`` — all reached through a :class:`Worker`, so a process on
another machine can build its own and run the same code.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, BinaryIO

from huisou.core import content_hash as hashing
from huisou.core.content_hash import HashLookup, algorithm_of, canonical, content_hashes
from huisou.core.errors import MediaError, ModelError, NotAnImage, UnsupportedMedia
from huisou.core.extraction import Contribution
from huisou.core.interfaces import (
    SOURCE_PRIORITY,
    DecodedImage,
    MediaItem,
    MetadataExtractor,
)
from huisou.core.work import (
    Embedded,
    Failed,
    MoveCandidate,
    Problem,
    Refreshed,
    Same,
    WorkItem,
)

READ_CHUNK = 1 << 20
#: Larger files are not read: no camera writes such a photo, and a phone has little memory.
MAX_PHOTO_BYTES = 256 << 20


def read_photo(fh: Any, expected_size: int) -> bytes:
    """The whole file in one ``bytes``, refusing files too large to be a photo.

    Why one read of the size the scan saw: the result is shared, not copied, by the
    ``BytesIO`` the decoder reads and by the hash, where reading 1 MiB chunks and joining them
    made another copy (0.90 vs 0.73 CPU-ms per 3.7 MB photo, two threads). The bytes read
    decide, not the scan's size: a file that grew since is read to its end, within the cap,
    and one that shrank below the cap is accepted. A local file's size now (``fstat``) refuses
    a file too large before a byte of it is read.
    """
    if _size_now(fh) > MAX_PHOTO_BYTES:
        raise NotAnImage(f"larger than {MAX_PHOTO_BYTES >> 20} MiB: too large to be a photo")
    chunks = [fh.read(min(max(expected_size, 0), MAX_PHOTO_BYTES) + 1)]
    total = len(chunks[0])
    while chunks[-1]:
        if total > MAX_PHOTO_BYTES:
            raise NotAnImage(f"larger than {MAX_PHOTO_BYTES >> 20} MiB: too large to be a photo")
        chunks.append(fh.read(READ_CHUNK))
        total += len(chunks[-1])
    return chunks[0] if len(chunks) <= 2 else b"".join(chunks)


#: Photo bytes all decode threads of a run may hold at once. Why per run, not per thread: with
#: a cap per file only, 8 threads each holding a 256 MiB file reached 2 GB. One budget the size
#: of the largest allowed photo keeps a run of ordinary photos fully parallel (8 x 10 MB) and
#: lets a huge one through alone.
READ_BUDGET = MAX_PHOTO_BYTES


class ReadBudget:
    """Bytes of photo data the decode threads hold; a thread waits until its file fits.

    A file larger than the whole budget waits until nothing else is held and then goes alone,
    so every file is eventually read and the total stays within ``capacity`` plus nothing.
    """

    def __init__(self, capacity: int = READ_BUDGET) -> None:
        self.capacity = capacity
        self.held = 0
        self.peak = 0
        self._changed = threading.Condition()

    def acquire(self, nbytes: int) -> int:
        """Wait until ``nbytes`` (at most the capacity) fit; returns what to :meth:`release`."""
        amount = min(max(nbytes, 0), self.capacity)
        with self._changed:
            self._changed.wait_for(lambda: self.held == 0 or self.held + amount <= self.capacity)
            self.held += amount
            self.peak = max(self.peak, self.held)
        return amount

    def release(self, amount: int) -> None:
        with self._changed:
            self.held -= amount
            self._changed.notify_all()


def _size_now(fh: Any) -> int:
    """The size of the file behind ``fh`` now, or 0 for a stream without a descriptor."""
    try:
        return os.fstat(fh.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return 0


@dataclass(frozen=True)
class Extractors:
    """The run's extractors, split by what they read, and the decode size they need."""

    by_bytes: tuple[MetadataExtractor, ...]
    by_image: tuple[MetadataExtractor, ...]
    size_hint: int

    @classmethod
    def of(cls, extractors: list[MetadataExtractor], backend_size: int) -> Extractors:
        by_image = tuple(e for e in extractors if e.image_size > 0)
        by_bytes = tuple(e for e in extractors if e not in by_image)
        size = max([backend_size, *(e.image_size for e in by_image)])
        return cls(by_bytes, by_image, size)

    def versions(self) -> dict[str, str]:
        return {e.name: str(e.version) for e in (*self.by_bytes, *self.by_image)}

    def backfilled(self) -> dict[str, str]:
        """The versions old photos must have seen (extractors with ``backfill``)."""
        return {e.name: str(e.version) for e in (*self.by_bytes, *self.by_image) if e.backfill}


def source_provider(source_type: str) -> str:
    """The provider name a source's fields are stored under (``source:takeout``)."""
    return f"source:{source_type}"


@dataclass
class Worker:
    """What per-file work needs in the process that does it: the decoder and the backend's
    preprocessing (a plugin host and a backend, local or built on a remote worker), the run's
    extractors, the vanished photos' hashes and the bytes budget."""

    load_image: Callable[[MediaItem, BinaryIO, int], DecodedImage | None]
    prepare_image: Callable[[Any], Any]
    extractors: Extractors
    gone: HashLookup
    budget: ReadBudget
    #: Opens an item's file when its bytes were not shipped (``MediaSource.open``).
    open: Callable[[WorkItem], BinaryIO]


@dataclass
class Decoded:
    """A photo read and preprocessed, waiting for its batch to be embedded."""

    work: WorkItem
    content_hash: str
    contributions: list[Contribution]
    decoded_metadata: dict[str, Any]
    prepared: Any
    #: The decoded image, kept only when an image extractor will read it.
    decoded: DecodedImage | None = None


def source_contribution(work: WorkItem) -> list[Contribution]:
    """The fields the source attached to the item, at the source's priority."""
    if not work.item.fields:
        return []
    return [Contribution(source_provider(work.source_type), SOURCE_PRIORITY,
                         dict(work.item.fields))]


def _byte_contributions(work: WorkItem, data: bytes, extractors: Extractors) -> list[Contribution]:
    out = source_contribution(work)
    for extractor in extractors.by_bytes:
        try:
            values = extractor.extract(work.item, io.BytesIO(data)) or {}
        except Exception:  # an extractor bug costs metadata, never the photo
            continue
        out.append(Contribution(extractor.name, extractor.priority, values))
    return out


def _kept(decoded: DecodedImage, needed: int) -> DecodedImage:
    """The decoded image reduced to what the image extractors need: it waits in memory until
    its batch is embedded, and a draft decode may be twice as large as asked."""
    factor = min(decoded.image.size) // max(needed, 1)
    if factor >= 2:
        decoded.image = decoded.image.reduce(factor)
    return decoded


def _read(worker: Worker, work: WorkItem) -> tuple[bytes, int]:
    """The file's bytes (shipped or read here) and the budget amount they hold."""
    if work.data is not None:
        return work.data, worker.budget.acquire(len(work.data))
    with worker.open(work) as fh:
        held = worker.budget.acquire(_size_now(fh) or work.item.size)
        try:
            return read_photo(fh, work.item.size), held
        except BaseException:
            worker.budget.release(held)
            raise


def process_job(worker: Worker, work: WorkItem) -> Any:
    """Read, hash, decode, extract metadata and preprocess one file (on a pool thread).

    Returns :class:`Decoded` or one of the final results of :mod:`huisou.core.work`; never
    raises for a bad photo, and raises ModelError (which stops the run) when the model, not
    the photo, is at fault. The file's bytes count against the run's budget from before they
    are read until the job is done.
    """
    digest: str | None = None
    held = 0
    try:
        data, held = _read(worker, work)
        if work.refresh is not None:
            return _refresh(worker, work, data)
        gone = worker.gone
        algorithms = set(gone.algorithms) if work.allow_move else set()
        if work.old_hash is not None:
            algorithms.add(algorithm_of(work.old_hash))
        hashes = content_hashes(data, algorithms)
        digest = hashes[hashing.PREFERRED]
        if work.old_hash is not None and canonical(work.old_hash) in hashes.values():
            return Same(work.key, digest)
        gone_id = gone.find(hashes) if work.allow_move and gone else None
        if gone_id is not None:
            return MoveCandidate(work.key, digest, gone_id)
        if not data:
            raise MediaError("empty file (0 bytes)")
        extractors = worker.extractors
        decoded = worker.load_image(work.item, io.BytesIO(data), extractors.size_hint)
        if decoded is None:
            raise UnsupportedMedia("no decoder installed for this file format")
        contributions = _byte_contributions(work, data, extractors)
        shape = {"width": decoded.width, "height": decoded.height, "format": decoded.format,
                 "orientation": decoded.orientation}
        prepared = worker.prepare_image(decoded.image)
        kept = _kept(decoded, extractors.size_hint) if extractors.by_image else None
        return Decoded(work, digest, contributions, shape, prepared, kept)
    except MediaError as exc:
        return Failed(work.key, digest, exc.status, str(exc))
    except ModelError:
        raise
    except MemoryError:
        return Failed(work.key, digest, "unreadable", "out of memory while decoding")
    except OSError as exc:
        return Failed(work.key, digest, "unreadable", f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a decoder bug on one file must not stop the run
        return Failed(work.key, digest, "unreadable", f"{type(exc).__name__}: {exc}")
    finally:
        worker.budget.release(held)


def _refresh(worker: Worker, work: WorkItem, data: bytes) -> Refreshed:
    """Fields only, for an unchanged photo: byte extractors, and a decode only when one of
    its stale extractors reads pixels (they get the stored vector)."""
    extractors = worker.extractors
    contributions = _byte_contributions(work, data, extractors)
    problems: list[Problem] = []
    chosen = [e for e in extractors.by_image if e.name in (work.refresh or ())]
    if chosen:
        try:
            decoded = worker.load_image(work.item, io.BytesIO(data), extractors.size_hint)
        except MediaError:
            decoded = None  # it decoded when it was embedded; its byte fields still count
        if decoded is not None:
            contributions += image_contributions(work.item, decoded, work.vector, chosen,
                                                 problems)
    return Refreshed(work.key, contributions, problems)


def image_contributions(
    item: MediaItem,
    decoded: DecodedImage,
    vector: Any,
    extractors: Sequence[MetadataExtractor],
    problems: list[Problem],
) -> list[Contribution]:
    """What the image extractors read from the pixels; an extractor that raises costs its
    fields, never the photo, and is named in ``problems``."""
    out = []
    for extractor in extractors:
        try:
            values = extractor.extract_image(item, decoded, vector) or {}
        except Exception as exc:
            problems.append((extractor.name, "extract_image",
                             f"raised {type(exc).__name__}: {exc}"))
            continue
        out.append(Contribution(extractor.name, extractor.priority, values))
    return out


def embedded(
    batch: Sequence[Decoded],
    vectors: Any,
    extractors: Extractors,
    pool: Executor | None = None,
) -> list[Embedded]:
    """The batch's results once its vectors are known: image extractors run (on ``pool``
    when given: OCR takes a second a photo, one thread would leave the other cores idle) and
    the pixels are freed."""

    def finish(pair: tuple[Decoded, Any]) -> Embedded:
        one, vector = pair
        problems: list[Problem] = []
        contributions = list(one.contributions)
        if one.decoded is not None:
            contributions += image_contributions(one.work.item, one.decoded, vector,
                                                 extractors.by_image, problems)
            one.decoded = None  # the pixels are no longer needed: free them now
        return Embedded(one.work.key, one.content_hash, vector, contributions,
                        one.decoded_metadata, problems)

    pairs = list(zip(batch, vectors, strict=True))
    if pool is None or not any(one.decoded is not None for one in batch):
        return [finish(pair) for pair in pairs]
    return list(pool.map(finish, pairs))
