"""The indexing pipeline: incremental diffs, moves, deletions, failures, cancel, events."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from huisou.core.events import BatchDone, Finished, ItemFailed, ScanFinished
from huisou.core.indexer import Indexer


def _photo(path: Path, colour: tuple[int, int, int], size=(40, 30)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _run(library, **kwargs) -> tuple[Finished, list]:
    events = list(Indexer(library, **kwargs).run())
    assert isinstance(events[-1], Finished)
    return events[-1], events


def _folder_source(library, root: Path):
    library.catalog.add_source("folder", str(root.resolve()))


def test_new_changed_moved_deleted(fake_library, tmp_path):
    root = tmp_path / "photos"
    red = _photo(root / "red.jpg", (220, 10, 10))
    _photo(root / "green.png", (10, 200, 10))
    blue = _photo(root / "sub" / "blue.jpg", (10, 10, 230))
    _folder_source(fake_library, root)

    first, events = _run(fake_library)
    assert (first.indexed, first.unchanged, first.failed) == (3, 0, 0)
    scan = next(e for e in events if isinstance(e, ScanFinished))
    assert (scan.seen, scan.new) == (3, 3)
    assert any(isinstance(e, BatchDone) for e in events)

    backend = fake_library.backend
    batches = backend.image_batches
    second, _ = _run(fake_library)
    assert (second.indexed, second.unchanged) == (0, 3)
    assert backend.image_batches == batches  # nothing re-embedded

    old_id = fake_library.catalog.item_by_path(str(blue.resolve()))["id"]
    moved_to = root / "elsewhere" / "renamed.jpg"
    moved_to.parent.mkdir()
    shutil.move(blue, moved_to)
    os.remove(red)
    _photo(root / "green.png", (240, 240, 0))  # changed content
    third, _ = _run(fake_library)
    assert (third.moved, third.removed, third.indexed) == (1, 1, 1)
    moved = fake_library.catalog.item_by_path(str(moved_to.resolve()))
    assert moved["id"] == old_id and moved["status"] == "indexed"
    assert fake_library.catalog.item_by_path(str(red.resolve())) is None
    assert fake_library.store.count() == 2

    hits = (
        __import__("huisou.core.search", fromlist=["Searcher"])
        .Searcher(fake_library)
        .search("yellow", top=1)
    )
    assert hits[0].path.endswith("green.png")


def test_touched_file_with_same_bytes_is_not_reembedded(fake_library, tmp_path):
    root = tmp_path / "photos"
    photo = _photo(root / "a.jpg", (200, 0, 0))
    _folder_source(fake_library, root)
    _run(fake_library)
    stat = photo.stat()
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    batches = fake_library.backend.image_batches
    summary, _ = _run(fake_library)
    assert (summary.indexed, summary.unchanged) == (0, 1)
    assert fake_library.backend.image_batches == batches
    third, _ = _run(fake_library)
    assert third.unchanged == 1  # the new mtime was recorded


def test_copy_of_a_photo_is_indexed_not_moved(fake_library, tmp_path):
    root = tmp_path / "photos"
    original = _photo(root / "a.jpg", (0, 0, 200))
    _folder_source(fake_library, root)
    _run(fake_library)
    shutil.copy(original, root / "copy1.jpg")
    shutil.copy(original, root / "copy2.jpg")
    os.remove(original)
    summary, _ = _run(fake_library)
    assert (summary.moved, summary.indexed, summary.removed) == (1, 1, 0)
    assert fake_library.store.count() == 2


def test_broken_files_are_recorded_and_the_run_goes_on(fake_library, tmp_path):
    root = tmp_path / "photos"
    _photo(root / "good.jpg", (10, 200, 10))
    (root / "empty.jpg").write_bytes(b"")
    (root / "truncated.jpg").write_bytes((root / "good.jpg").read_bytes()[:60])
    (root / "notes.txt").write_text("not a photo")
    _folder_source(fake_library, root)
    summary, events = _run(fake_library)
    assert summary.indexed == 1
    failed = {Path(e.path).name: e for e in events if isinstance(e, ItemFailed)}
    assert failed["empty.jpg"].status == "unreadable"
    assert failed["truncated.jpg"].status == "unreadable"
    for event in failed.values():
        assert event.reason  # every failure says why
    record = fake_library.catalog.item_by_path(str((root / "truncated.jpg").resolve()))
    assert record["status"] == "unreadable" and record["error"]
    again, _ = _run(fake_library)  # failures are not retried without --retry-failed
    assert again.indexed == 0 and again.failed == 0


def test_cancel_between_batches_keeps_committed_work(fake_library, tmp_path):
    root = tmp_path / "photos"
    for i in range(20):
        _photo(root / f"p{i:02}.jpg", (i * 12, 100, 255 - i * 12))
    _folder_source(fake_library, root)
    cancel = threading.Event()
    committed = 0
    for event in Indexer(fake_library, cancel=cancel, batch_size=4, threads=1).run():
        if isinstance(event, BatchDone):
            committed = event.done
            cancel.set()
        if isinstance(event, Finished):
            assert event.cancelled
    assert 0 < committed < 20
    assert fake_library.store.count() == committed
    resumed, _ = _run(fake_library)
    assert resumed.indexed == 20 - committed
    assert fake_library.store.count() == 20


def test_lifecycle_hooks_are_called_per_batch(fake_library, tmp_path):
    from huisou import hookimpl

    calls: list[tuple] = []

    class Recorder:
        @hookimpl
        def before_index(self, run):
            calls.append(("before", run.model_fingerprint))

        @hookimpl
        def items_indexed(self, run, paths):
            calls.append(("indexed", len(paths)))

        @hookimpl
        def after_index(self, run, summary):
            calls.append(("after", summary.indexed))

    fake_library.host.register(Recorder(), name="recorder")
    root = tmp_path / "photos"
    for i in range(6):
        _photo(root / f"p{i}.jpg", (i * 40, 0, 0))
    _folder_source(fake_library, root)
    _run(fake_library, batch_size=4, threads=4)  # first batch: min(batch, threads) = 4
    assert calls[0] == ("before", "fake-colours-v1")
    assert [c for c in calls if c[0] == "indexed"] == [("indexed", 4), ("indexed", 2)]
    assert calls[-1] == ("after", 6)


def test_photos_under_an_unreadable_folder_are_not_removed(fake_library, tmp_path, monkeypatch):
    root = tmp_path / "photos"
    _photo(root / "ok.jpg", (1, 2, 3))
    locked = _photo(root / "locked" / "kept.jpg", (200, 100, 0))
    _folder_source(fake_library, root)
    first, _ = _run(fake_library)
    assert first.indexed == 2

    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).rstrip("/").endswith("/locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    second, events = _run(fake_library)
    assert second.removed == 0
    assert any(e.name == "warning" for e in events)
    assert fake_library.catalog.item_by_path(str(locked.resolve()))["status"] == "indexed"
    assert fake_library.store.count() == 2


def test_overlapping_sources_do_not_take_items_from_each_other(fake_library, tmp_path):
    root = tmp_path / "photos"
    _photo(root / "top.jpg", (250, 0, 0))
    _photo(root / "sub" / "inner.jpg", (0, 0, 250))
    _folder_source(fake_library, root)
    _folder_source(fake_library, root / "sub")
    first, _ = _run(fake_library)
    assert first.indexed == 2
    for _ in range(2):
        again, _ = _run(fake_library)
        assert (again.indexed, again.unchanged, again.removed) == (0, 2, 0)
    sub_only = [pair for pair in fake_library.sources() if pair[0].root.endswith("sub")]
    alone, _ = _run(fake_library, sources=sub_only)  # 'huisou index photos/sub' alone
    assert (alone.indexed, alone.unchanged, alone.removed) == (0, 1, 0)
    assert fake_library.store.count() == 2


def test_removing_a_source_drops_its_vectors_and_search_keeps_top_n(fake_library, tmp_path):
    from huisou.core.search import Searcher

    keep, drop = tmp_path / "keep", tmp_path / "drop"
    for i in range(3):
        _photo(keep / f"k{i}.jpg", (250 - i, 0, 0))
        _photo(drop / f"d{i}.jpg", (255, i, i))  # redder than the kept ones
    _folder_source(fake_library, keep)
    _folder_source(fake_library, drop)
    _run(fake_library)
    assert fake_library.store.count() == 6
    dropped = next(r for r, _ in fake_library.sources() if r.root.endswith("drop"))
    assert fake_library.remove_source(dropped.id) == 3
    assert fake_library.store.count() == 3
    # a stale vector left by some other path must not cost results either
    fake_library.store.upsert([9999], fake_library.backend.embed_texts(["red"]))
    hits = Searcher(fake_library).search("red", top=3)
    assert [Path(h.path).parent.name for h in hits] == ["keep"] * 3
