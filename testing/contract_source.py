"""``MediaSourceContract``: the clauses of :class:`~huisou.core.interfaces.MediaSource`, as tests.

Subclass it in a test module and provide a ``source`` fixture that returns an instance whose
root holds at least two candidate photos (the ``photo_folder`` fixture is handy)::

    from huisou.testing import MediaSourceContract

    class TestMySource(MediaSourceContract):
        @pytest.fixture
        def source(self, photo_folder):
            return MySource(str(photo_folder))

A source that attaches fields to its items (``MediaItem.fields``) registers its plugin on
``huisou_host`` in the fixture (``register_plugin(my_plugin)``), so the suite sees the fields
it declares. ``exclude`` is applied by the host: the suite indexes the source through huisou
with an ``exclude`` glob and checks that exactly the matching items are left out.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from huisou.core.errors import MediaError
from huisou.core.fields import Field
from huisou.core.interfaces import MediaItem, MediaSource, OptionSpec
from huisou.testing.field_checks import field_problems

_OPEN_EVENTS = {"open", "os.open"}
_recording: list[set[str]] = []
_hook_installed = False
_hook_lock = threading.Lock()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording and event in _OPEN_EVENTS and args:
        target = args[0]
        if isinstance(target, (str, bytes, os.PathLike)):
            _recording[-1].add(os.path.abspath(os.fsdecode(target)))


@contextmanager
def record_opens() -> Iterator[set[str]]:
    """Collect the absolute paths opened (``open``/``os.open`` audit events) in the block.

    Audit hooks cannot be removed, so one hook is installed per process and only records while
    a block is active.
    """
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True
    opened: set[str] = set()
    _recording.append(opened)
    try:
        yield opened
    finally:
        _recording.pop()


def _tree_state(root: str) -> dict[str, tuple[int, int, str]]:
    state: dict[str, tuple[int, int, str]] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            state[path] = (st.st_size, st.st_mtime_ns, digest)
    return state


class MediaSourceContract:
    """Contract tests for a media source; the subclass provides the ``source`` fixture."""

    #: Minimum number of candidates the ``source`` fixture must offer (cancel needs two).
    min_items = 2

    @pytest.fixture
    def source(self) -> MediaSource:
        raise NotImplementedError("provide a 'source' fixture returning a MediaSource instance")

    @pytest.fixture
    def items(self, source: MediaSource) -> list[MediaItem]:
        items = list(source.scan(threading.Event()))
        assert len(items) >= self.min_items, (
            f"the 'source' fixture must offer at least {self.min_items} photos, got {len(items)}"
        )
        return items

    def test_is_registrable_media_source(self, source: MediaSource) -> None:
        assert isinstance(source, MediaSource)
        assert isinstance(type(source).type_id, str) and type(source).type_id
        for option in type(source).options:
            assert isinstance(option, OptionSpec), f"{option!r} is not an OptionSpec"

    def test_scan_yields_media_items_with_stat_fields(self, items: list[MediaItem]) -> None:
        for item in items:
            assert isinstance(item, MediaItem)
            assert isinstance(item.path, str) and item.path
            assert isinstance(item.size, int) and item.size >= 0
            assert isinstance(item.mtime_ns, int)
            assert item.group is None or isinstance(item.group, str)

    def test_local_items_match_their_stat(self, items: list[MediaItem]) -> None:
        local = [item for item in items if os.path.isabs(item.path) and os.path.exists(item.path)]
        for item in local:
            st = os.stat(item.path)
            assert (item.size, item.mtime_ns) == (st.st_size, st.st_mtime_ns), item.path

    def test_no_item_is_another_items_sidecar(self, items: list[MediaItem]) -> None:
        for item in items:
            assert isinstance(item.depends_on, tuple), f"{item.path}: depends_on is not a tuple"
            assert all(isinstance(p, str) and p for p in item.depends_on), item.depends_on
            assert item.path not in item.depends_on, f"{item.path} depends on itself"
        sidecars = {path for item in items for path in item.depends_on}
        both = sorted(sidecars & {item.path for item in items})
        assert not both, f"files yielded as photos and listed as sidecars (depends_on): {both}"

    @pytest.fixture
    def declared_fields(self, huisou_host: Any) -> dict[str, Field]:
        """The fields declared on ``huisou_host`` (built-ins and registered plugins)."""
        return huisou_host.fields()

    def test_item_fields_are_declared_and_of_their_type(
        self, items: list[MediaItem], declared_fields: dict[str, Field]
    ) -> None:
        problems = []
        for item in items:
            if item.fields is not None:
                problems += field_problems(dict(item.fields), declared_fields, item.path)
        assert not problems, "\n".join(problems)

    def test_exclude_leaves_out_exactly_the_matching_items(
        self, source: MediaSource, items: list[MediaItem], huisou_host: Any,
        register_plugin: Any, tmp_path_factory: Any,
    ) -> None:
        import huisou.testing.fakes as fakes
        from huisou.core.config import Config
        from huisou.core.indexer import Indexer
        from huisou.core.library import Library

        name = items[0].path.rstrip("/").rsplit("/", 1)[-1]
        options = {**source.config, "exclude": [name]}
        try:  # the catalog stores the user's --exclude with the source and passes it back
            rebuilt = type(source)(source.root, **options)
        except TypeError as exc:
            pytest.fail(f"{type(source).__name__}(root, exclude=[...]) raised {exc}: accept "
                        "**options (huisou applies exclude itself)")
        if "fake" not in huisou_host.embedding_backends():
            register_plugin(fakes, name="huisou-contract-fakes")
        db = tmp_path_factory.mktemp("contract-library") / "library.db"
        library = Library(Config(db=str(db), backend="fake", store="memory"), huisou_host)
        try:
            source_id = library.catalog.add_source(type(source).type_id, source.root, options)
            record = next(r for r in library.catalog.sources() if r.id == source_id)
            list(Indexer(library, [(record, rebuilt)]).run())
            kept = {i.path for i in items if library.catalog.item_by_path(i.path) is not None}
        finally:
            library.close()
        expected = {i.path for i in items if i.path.rstrip("/").rsplit("/", 1)[-1] != name}
        assert kept == expected, (
            f"with exclude={[name]}: missing {sorted(expected - kept)}, "
            f"not excluded {sorted(kept - expected)}")

    def test_scan_yields_each_path_once(self, items: list[MediaItem]) -> None:
        paths = [item.path for item in items]
        assert len(paths) == len(set(paths))

    def test_scan_is_repeatable(self, source: MediaSource, items: list[MediaItem]) -> None:
        again = list(source.scan(threading.Event()))
        assert sorted(i.path for i in again) == sorted(i.path for i in items)

    def test_scan_never_opens_candidate_files(self, source: MediaSource) -> None:
        with record_opens() as opened:
            items = list(source.scan(threading.Event()))
        candidates = {os.path.abspath(item.path) for item in items}
        assert not (opened & candidates), f"scan opened photos: {sorted(opened & candidates)}"

    def test_scan_accepts_no_cancel_event(self, source: MediaSource, items: list[MediaItem]) -> None:
        assert len(list(source.scan())) == len(items)

    def test_scan_stops_quietly_when_cancelled(
        self, source: MediaSource, items: list[MediaItem]
    ) -> None:
        cancel = threading.Event()
        cancel.set()
        cancelled = list(source.scan(cancel))  # must not raise
        assert len(cancelled) < len(items), "scan ignored a cancel event set before it started"

    def test_scan_stops_when_cancelled_midway(
        self, source: MediaSource, items: list[MediaItem]
    ) -> None:
        cancel = threading.Event()
        got = []
        for item in source.scan(cancel):
            got.append(item)
            cancel.set()
        assert len(got) < len(items), "scan went on after cancel was set"

    def test_open_returns_the_items_bytes(self, source: MediaSource, items: list[MediaItem]) -> None:
        for item in items:
            with source.open(item) as fh:
                data = fh.read()
            assert isinstance(data, bytes) and data, item.path
            assert len(data) == item.size, f"{item.path}: read {len(data)} bytes, size {item.size}"

    def test_scanned_items_are_not_excluded(
        self, source: MediaSource, items: list[MediaItem]
    ) -> None:
        for item in items:
            assert source.explain_exclusion(item.path) is None, item.path

    def test_source_contains_its_items(self, source: MediaSource, items: list[MediaItem]) -> None:
        for item in items:
            assert source.contains(item.path), f"{item.path} is not in source {source.root}"

    def test_can_be_rebuilt_from_root_and_config(
        self, source: MediaSource, items: list[MediaItem]
    ) -> None:
        # The catalog stores (type_id, root, options) and rebuilds the source from them.
        rebuilt = type(source)(source.root, **source.config)
        assert sorted(i.path for i in rebuilt.scan()) == sorted(i.path for i in items)

    @pytest.fixture
    def missing_root(self, tmp_path: Any) -> str:
        """A root that cannot be read; override for sources whose roots are not paths."""
        return os.path.join(str(tmp_path), "not-mounted")

    def test_unreadable_root_raises_media_error(
        self, source: MediaSource, missing_root: str
    ) -> None:
        # An unmounted drive must not look like a library whose photos were all deleted:
        # the indexer removes nothing when scan raises MediaError, everything when it is quiet.
        rebuilt = type(source)(missing_root, **source.config)
        with pytest.raises(MediaError):
            list(rebuilt.scan())

    def test_never_modifies_files(self, source: MediaSource) -> None:
        roots = {source.root} if os.path.isdir(source.root) else set()
        items = list(source.scan())
        roots |= {os.path.dirname(i.path) for i in items if os.path.isabs(i.path)}
        before = {root: _tree_state(root) for root in roots}
        for item in list(source.scan()):
            with source.open(item) as fh:
                fh.read()
        after = {root: _tree_state(root) for root in roots}
        assert after == before
