"""Content hashes: self-describing values, old SHA-256 libraries, the no-xxhash fallback, reads."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import pytest
from huisou.core import content_hash as ch
from huisou.core import index_jobs
from huisou.core.errors import NotAnImage
from huisou.core.events import Finished
from huisou.core.indexer import Indexer


def _photo(path: Path, colour: tuple[int, int, int]) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), colour).save(path)
    return path


def _run(library) -> Finished:
    events = list(Indexer(library).run())
    assert isinstance(events[-1], Finished)
    return events[-1]


def _stored_hash(library, path: Path) -> str:
    return library.catalog.item_by_path(str(path.resolve()))["content_hash"]


def _set_stored_hash(library, path: Path, value: str) -> None:
    with library.catalog.transaction():
        library.catalog.conn.execute(
            "UPDATE items SET content_hash=? WHERE path=?", (value, str(path.resolve()))
        )


needs_xxhash = pytest.mark.skipif(
    ch.PREFERRED != ch.XXH3, reason="xxhash is not installed (the SHA-256 fallback is in use)"
)


@needs_xxhash
def test_values_name_their_algorithm():
    # XXH3-128 of the empty input, from xxHash's own sanity tests.
    assert ch.content_hash(b"", ch.XXH3) == "xxh3-128:99aa06d3014798d86001c324468d497f"
    assert ch.content_hash(b"abc", ch.SHA256) == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    assert ch.PREFERRED == ch.XXH3  # xxhash is a dependency wherever it has wheels
    bare = hashlib.sha256(b"abc").hexdigest()  # what libraries before XXH3 stored
    assert ch.algorithm_of(bare) == ch.SHA256
    assert ch.canonical(bare) == ch.content_hash(b"abc", ch.SHA256)
    assert ch.algorithm_of("xxh3-128:00") == ch.XXH3
    with pytest.raises(ValueError, match="'md5'"):
        ch.content_hash(b"abc", "md5")


def test_lookup_matches_across_algorithms():
    data = b"photo bytes"
    lookup = ch.HashLookup({7: hashlib.sha256(data).hexdigest(), 9: ch.content_hash(b"x")})
    assert lookup.algorithms == {ch.SHA256, ch.PREFERRED}
    assert lookup.find(ch.content_hashes(data, lookup.algorithms)) == 7
    assert lookup.find(ch.content_hashes(data)) is None  # the preferred hash alone cannot match
    assert lookup.find(ch.content_hashes(b"x")) == 9
    assert not ch.HashLookup({})


@needs_xxhash
def test_new_items_get_xxh3_hashes_of_the_whole_file(fake_library, tmp_path):
    root = tmp_path / "photos"
    photo = _photo(root / "a.jpg", (200, 0, 0))
    fake_library.catalog.add_source("folder", str(root.resolve()))
    _run(fake_library)
    assert _stored_hash(fake_library, photo) == ch.content_hash(photo.read_bytes(), ch.XXH3)


def test_touched_photo_of_an_old_sha256_library_is_not_reembedded(fake_library, tmp_path):
    root = tmp_path / "photos"
    photo = _photo(root / "a.jpg", (200, 0, 0))
    fake_library.catalog.add_source("folder", str(root.resolve()))
    _run(fake_library)
    _set_stored_hash(fake_library, photo, hashlib.sha256(photo.read_bytes()).hexdigest())
    stat = photo.stat()
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    batches = fake_library.backend.image_batches

    summary = _run(fake_library)

    assert (summary.indexed, summary.unchanged) == (0, 1)
    assert fake_library.backend.image_batches == batches
    # The value is re-spelled with the preferred algorithm while the bytes are at hand.
    assert _stored_hash(fake_library, photo) == ch.content_hash(photo.read_bytes())


def test_moved_photo_of_an_old_sha256_library_keeps_its_vector(fake_library, tmp_path):
    root = tmp_path / "photos"
    photo = _photo(root / "a.jpg", (0, 0, 200))
    _photo(root / "b.jpg", (0, 200, 0))
    fake_library.catalog.add_source("folder", str(root.resolve()))
    _run(fake_library)
    old_id = fake_library.catalog.item_by_path(str(photo.resolve()))["id"]
    _set_stored_hash(fake_library, photo, hashlib.sha256(photo.read_bytes()).hexdigest())
    moved = root / "album" / "a.jpg"
    moved.parent.mkdir()
    shutil.move(photo, moved)
    batches = fake_library.backend.image_batches

    summary = _run(fake_library)

    assert (summary.moved, summary.indexed, summary.removed) == (1, 0, 0)
    assert fake_library.backend.image_batches == batches
    record = fake_library.catalog.item_by_path(str(moved.resolve()))
    assert record["id"] == old_id
    assert record["content_hash"] == ch.content_hash(moved.read_bytes())


def test_without_xxhash_sha256_is_written_and_later_recognised(fake_library, tmp_path, monkeypatch):
    """Termux has no xxhash wheel: such a library must still work once xxhash appears."""
    monkeypatch.setattr(ch, "PREFERRED", ch.SHA256)
    root = tmp_path / "photos"
    photo = _photo(root / "a.jpg", (200, 0, 200))
    fake_library.catalog.add_source("folder", str(root.resolve()))
    _run(fake_library)
    assert _stored_hash(fake_library, photo) == ch.content_hash(photo.read_bytes(), ch.SHA256)

    monkeypatch.undo()
    moved = root / "album" / "a.jpg"
    moved.parent.mkdir()
    shutil.move(photo, moved)
    summary = _run(fake_library)
    assert (summary.moved, summary.indexed) == (1, 0)


class _ShortReads(io.RawIOBase):
    """A plugin's stream that hands out at most 5 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 5) if size >= 0 else 5)


@pytest.mark.parametrize("expected", [0, 3, 11, 50])
def test_read_photo_reads_to_the_end_whatever_the_scan_saw(expected):
    data = b"0123456789A"
    assert index_jobs.read_photo(io.BytesIO(data), expected) == data
    assert index_jobs.read_photo(_ShortReads(data), expected) == data


def test_read_photo_refuses_files_too_large_to_be_photos(monkeypatch):
    monkeypatch.setattr(index_jobs, "MAX_PHOTO_BYTES", 10)
    monkeypatch.setattr(index_jobs, "READ_CHUNK", 4)
    with pytest.raises(NotAnImage, match="too large to be a photo"):
        index_jobs.read_photo(io.BytesIO(b"x" * 11), 11)  # the scan already saw it
    with pytest.raises(NotAnImage, match="too large to be a photo"):
        index_jobs.read_photo(io.BytesIO(b"x" * 30), 5)  # it grew after the scan
    assert index_jobs.read_photo(io.BytesIO(b"x" * 10), 5) == b"x" * 10
    assert index_jobs.read_photo(io.BytesIO(b"x" * 5), 30) == b"x" * 5  # shrank since the scan


@needs_xxhash
def test_xxh3_values_without_xxhash_reembed_instead_of_failing(fake_library, tmp_path, monkeypatch):
    """xxhash gone after a library was written with it (a Termux ``pkg upgrade`` drops pip
    packages): photos compared with XXH3 values are re-embedded, none is marked unreadable."""
    root = tmp_path / "photos"
    touched = _photo(root / "a.jpg", (200, 0, 0))
    deleted = _photo(root / "b.jpg", (0, 200, 0))
    fake_library.catalog.add_source("folder", str(root.resolve()))
    _run(fake_library)
    monkeypatch.setitem(__import__("sys").modules, "xxhash", None)  # import now fails
    monkeypatch.setattr(ch, "PREFERRED", ch.SHA256)
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    os.remove(deleted)
    new = _photo(root / "c.jpg", (0, 0, 200))

    summary = _run(fake_library)

    assert (summary.failed, summary.indexed, summary.removed) == (0, 2, 1)
    for path in (touched, new):
        record = fake_library.catalog.item_by_path(str(path.resolve()))
        assert record["status"] == "indexed"
        assert record["content_hash"] == ch.content_hash(path.read_bytes(), ch.SHA256)
    assert fake_library.store.count() == 2
