"""Per-file work of the indexing pipeline, run on the decode pool's threads.

Kept apart from :mod:`huisou.core.indexer` (which plans, batches and commits) because this
is the part that must be thread-safe: it touches no catalog connection, only the file, the
decoder plugins, the metadata extractors and the backend's ``prepare_image``.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from huisou.core import content_hash as hashing
from huisou.core.content_hash import HashLookup, algorithm_of, canonical, content_hashes
from huisou.core.errors import MediaError, ModelError, NotAnImage, UnsupportedMedia
from huisou.core.extraction import Contribution
from huisou.core.interfaces import (
    SOURCE_PRIORITY,
    DecodedImage,
    MediaItem,
    MediaSource,
    MetadataExtractor,
)

if TYPE_CHECKING:  # pragma: no cover - types only
    from huisou.core.library import Library


@dataclass
class Job:
    """A file that needs reading: new, changed, or not yet embedded for this model."""

    source_id: int
    source: MediaSource
    item: MediaItem
    old_id: int | None = None
    old_hash: str | None = None
    allow_move: bool = True
    #: False when the file is known unchanged but lacks a vector for this model: same bytes
    #: must then still be embedded, not recorded as "unchanged".
    skip_if_same: bool = True
    #: Signature of the item's sidecar files (``MediaItem.depends_on``), stored with it.
    depends_sig: str | None = None
    #: Set for an unchanged, embedded photo whose fields must be extracted again (a sidecar
    #: changed, an extractor is new or upgraded): the names of the image extractors to run
    #: (byte extractors always run). Nothing is embedded again.
    refresh: frozenset[str] | None = None


@dataclass
class Prepared:
    job: Job
    content_hash: str
    #: What the source and the byte extractors said; image extractors add theirs after the
    #: batch is embedded (they may use the vector), then :func:`extraction.merge` decides.
    contributions: list[Contribution]
    #: Width, height, format and orientation as decoded.
    decoded_metadata: dict[str, Any]
    prepared: Any
    #: The decoded image, kept only when an image extractor will read it.
    decoded: DecodedImage | None = None


@dataclass
class Refreshed:
    """An unchanged photo read again for its fields only (see ``Job.refresh``)."""

    job: Job
    contributions: list[Contribution]
    decoded: DecodedImage | None = None


@dataclass
class Failed:
    job: Job
    content_hash: str | None
    status: str
    reason: str


@dataclass
class Same:
    """Changed mtime, same bytes: only the stat (and the hash's spelling) is updated."""

    job: Job
    content_hash: str


@dataclass
class MoveCandidate:
    job: Job
    content_hash: str
    gone_id: int
    #: The vanished path whose row this one takes over, once the indexer accepts the move.
    old_path: str | None = None


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


def source_provider(job: Job) -> str:
    """The provider name a source's fields are stored under (``source:takeout``)."""
    return f"source:{job.source.type_id}"


def source_contribution(job: Job) -> list[Contribution]:
    """The fields the source attached to the item, at the source's priority."""
    if not job.item.fields:
        return []
    return [Contribution(source_provider(job), SOURCE_PRIORITY, job.item.fields)]


def _byte_contributions(job: Job, data: bytes, extractors: Extractors) -> list[Contribution]:
    out = source_contribution(job)
    for extractor in extractors.by_bytes:
        try:
            values = extractor.extract(job.item, io.BytesIO(data)) or {}
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


def process_job(
    library: Library,
    job: Job,
    gone: HashLookup,
    extractors: Extractors,
    budget: ReadBudget,
) -> Any:
    """Read, hash, decode, extract metadata and preprocess one file (on a pool thread).

    Returns one of the result types above; never raises for a bad photo, and raises
    ModelError (which stops the run) when the model, not the photo, is at fault. The file's
    bytes count against the run's ``budget`` from before they are read until the job is done.
    """
    backend = library.backend
    host = library.host
    digest: str | None = None
    held = 0
    try:
        with job.source.open(job.item) as fh:
            held = budget.acquire(_size_now(fh) or job.item.size)
            data = read_photo(fh, job.item.size)
        if job.refresh is not None:
            return _refresh(library, job, data, extractors)
        algorithms = set(gone.algorithms) if job.allow_move else set()
        if job.old_hash is not None:
            algorithms.add(algorithm_of(job.old_hash))
        hashes = content_hashes(data, algorithms)
        digest = hashes[hashing.PREFERRED]
        if job.old_hash is not None and canonical(job.old_hash) in hashes.values():
            return Same(job, digest)
        gone_id = gone.find(hashes) if job.allow_move and gone else None
        if gone_id is not None:
            return MoveCandidate(job, digest, gone_id)
        if not data:
            raise MediaError("empty file (0 bytes)")
        decoded = host.load_image(job.item, io.BytesIO(data), extractors.size_hint)
        if decoded is None:
            raise UnsupportedMedia("no decoder installed for this file format")
        contributions = _byte_contributions(job, data, extractors)
        shape = {"width": decoded.width, "height": decoded.height, "format": decoded.format,
                 "orientation": decoded.orientation}
        prepared = backend.prepare_image(decoded.image)
        kept = _kept(decoded, extractors.size_hint) if extractors.by_image else None
        return Prepared(job, digest, contributions, shape, prepared, kept)
    except MediaError as exc:
        return Failed(job, digest, exc.status, str(exc))
    except ModelError:
        raise
    except MemoryError:
        return Failed(job, digest, "unreadable", "out of memory while decoding")
    except OSError as exc:
        return Failed(job, digest, "unreadable", f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a decoder bug on one file must not stop the run
        return Failed(job, digest, "unreadable", f"{type(exc).__name__}: {exc}")
    finally:
        budget.release(held)


def _refresh(library: Library, job: Job, data: bytes, extractors: Extractors) -> Refreshed:
    """Fields only, for an unchanged photo: byte extractors, and a decode only when one of
    its stale extractors reads pixels."""
    contributions = _byte_contributions(job, data, extractors)
    decoded = None
    if job.refresh:
        try:
            decoded = library.host.load_image(job.item, io.BytesIO(data), extractors.size_hint)
        except MediaError:
            decoded = None  # it decoded when it was embedded; its byte fields still count
    return Refreshed(job, contributions, decoded)
