"""The indexing pipeline: one generator of progress events for both the CLI and the TUI.

Flow: scan every source (stat only) → diff against the catalog (size + mtime_ns) → read,
hash, decode, extract metadata and preprocess new/changed files on a thread pool → embed in
batches on the calling thread → commit each batch (catalog rows + vectors) in one
transaction → remove what is gone. A killed run loses at most the batch in flight and resumes
without duplicates, because every batch is committed whole and vector upserts are idempotent.

Moves and renames: a new path whose content hash equals that of a vanished item takes over
that item's row, so its vectors are kept and nothing is re-embedded.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from huisou.core import field_store
from huisou.core.catalog import SourceRecord
from huisou.core.content_hash import HashLookup
from huisou.core.errors import MediaError
from huisou.core.events import (
    BatchDone,
    Event,
    Finished,
    ItemFailed,
    ScanFinished,
    ScanStarted,
    SourceWarning,
)
from huisou.core.exclude import ExcludeRules
from huisou.core.extraction import Contribution, merge, with_file_time
from huisou.core.index_jobs import (
    Extractors,
    Failed,
    Job,
    MoveCandidate,
    Prepared,
    ReadBudget,
    Refreshed,
    Same,
    process_job,
    source_provider,
)
from huisou.core.interfaces import IndexRun, MediaItem, MediaSource
from huisou.core.library import Library

FAILED_STATUSES = ("unreadable", "unsupported", "skipped")
#: ``library_state`` key: the extractor versions of the last complete run.
EXTRACTORS_STATE = "extractors"


@dataclass
class _Plan:
    jobs: list[Job] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    gone: dict[int, str] = field(default_factory=dict)  # id -> path
    seen: int = 0
    new: int = 0
    changed: int = 0


class Indexer:
    """Runs one indexing pass over some sources of a library."""

    def __init__(
        self,
        library: Library,
        sources: Sequence[tuple[SourceRecord, MediaSource]] | None = None,
        *,
        cancel: threading.Event | None = None,
        retry_failed: bool = False,
        batch_size: int | None = None,
        threads: int | None = None,
    ) -> None:
        self.library = library
        self.sources = list(sources) if sources is not None else library.sources()
        self.cancel = cancel or threading.Event()
        self.retry_failed = retry_failed
        self.batch_size = batch_size or library.config.batch_size
        self.threads = threads or library.config.effective_threads
        #: The extractors taking part, set when the run starts (``MetadataExtractor.start_run``).
        self.extractors = Extractors.of([], library.backend.image_size)
        self._stale: dict[int, set[str]] = {}
        self._sidecars: dict[str, str] = {}
        self._extract_pool: ThreadPoolExecutor | None = None

    def _starting(self, run: IndexRun) -> Extractors:
        """The extractors that take part in ``run`` (``start_run``), split by what they read;
        one that raises sits the run out and is reported."""
        host = self.library.host
        taking_part = []
        for extractor in host.metadata_extractors():
            try:
                if extractor.start_run(run) is False:
                    continue
            except Exception as exc:
                host.report_once(extractor.name, "start_run", f"raised {type(exc).__name__}: {exc}")
                continue
            taking_part.append(extractor)
        return Extractors.of(taking_part, self.library.backend.image_size)

    def _extractors_signature(self) -> str:
        return json.dumps(sorted(self.extractors.backfilled().items()))

    # -- scan and diff -----------------------------------------------------------------------

    def _plan(self, model: str) -> Iterator[Event | _Plan]:
        """Scan every source (stat only) and sort what it finds into jobs, unchanged and gone.

        Paths are looked up across the whole catalog, so overlapping sources (a folder and
        one of its sub-folders) never take items over from each other: the first source of
        the run to see a path has it, and an item is only gone when a source that owns it
        finished its scan without seeing it, outside any folder it could not read.
        """
        catalog = self.library.catalog
        plan = _Plan()
        embedded = catalog.embedded_ids(model)
        known = catalog.stat_index()
        self._sidecars = catalog.depends_sigs()
        if catalog.state(EXTRACTORS_STATE) != self._extractors_signature():
            self._stale = catalog.stale_extractions(self.extractors.backfilled())
        seen: set[str] = set()
        complete: set[int] = set()
        unreadable: list[str] = []
        for record, source in self.sources:
            excludes = ExcludeRules.of_options(source.root, record.options)
            try:
                for item in source.scan(self.cancel):
                    if item.path in seen or (excludes and excludes.rule_for(item.path)):
                        continue  # an earlier, overlapping source of this run has it
                    seen.add(item.path)
                    self._classify(plan, record.id, source, item, known.get(item.path), embedded)
            except MediaError as exc:  # the whole source is unavailable: touch nothing
                yield SourceWarning(record.root, str(exc))
                continue
            finally:
                for warning in source.warnings:
                    yield SourceWarning(record.root, warning)
                source.warnings.clear()
            if self.cancel.is_set():
                break  # an incomplete scan must not delete anything
            complete.add(record.id)
            unreadable += [d.rstrip("/") + "/" for d in getattr(source, "unreadable", ())]
        prefixes = tuple(unreadable)
        for path, (item_id, _size, _mtime, _status, source_id) in known.items():
            if source_id in complete and path not in seen and not path.startswith(prefixes):
                plan.gone[item_id] = path  # an unreadable folder is not a deleted one
        plan.seen = len(seen)
        yield plan

    def _classify(
        self,
        plan: _Plan,
        source_id: int,
        source: MediaSource,
        item: MediaItem,
        previous: tuple[int, int, int, str, int | None] | None,
        embedded: set[int],
    ) -> None:
        """New, changed, unchanged, failed before, or known but not embedded by this model.
        An unchanged photo whose sidecars changed, or that a new or upgraded extractor has not
        seen, is read again for its fields only."""
        sig = depends_signature(item.depends_on)
        if previous is None:
            plan.new += 1
            plan.jobs.append(Job(source_id, source, item, depends_sig=sig))
            return
        item_id, size, mtime_ns, status, _owner = previous
        if size != item.size or mtime_ns != item.mtime_ns:
            plan.changed += 1
            plan.jobs.append(Job(source_id, source, item, old_id=item_id, depends_sig=sig))
        elif status == "indexed" and item_id in embedded:
            plan.unchanged += 1
            stale = self._stale.get(item_id)
            if stale or sig != self._sidecars.get(item.path):
                images = {e.name for e in self.extractors.by_image}
                plan.jobs.append(Job(source_id, source, item, old_id=item_id, depends_sig=sig,
                                     refresh=frozenset((stale or set()) & images)))
        elif status in FAILED_STATUSES and not self.retry_failed:
            plan.skipped += 1
        else:
            plan.jobs.append(
                Job(source_id, source, item, old_id=item_id, allow_move=False, skip_if_same=False)
            )

    # -- per-file work on pool threads -----------------------------------------------------

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> Iterator[Event]:
        """Yield progress events; the last one is :class:`Finished`."""
        library = self.library
        catalog = library.catalog
        backend = library.backend
        library.store  # noqa: B018 - open the store (or fail) before the scan
        model = backend.model_fingerprint
        started = time.monotonic()
        run = IndexRun(
            sources=[record.root for record, _ in self.sources],
            model_fingerprint=model,
            db_path=str(library.config.db_path),
            started_at=time.time(),
            config=library.config,
            backend=backend,
        )
        summary = Finished()
        library.host.before_index(run)
        self.extractors = self._starting(run)
        with catalog.transaction() as conn:
            field_store.record_declarations(conn, library.host.fields().values())
        try:
            yield ScanStarted(run.sources)
            plan: _Plan | None = None
            for event in self._plan(model):
                if isinstance(event, _Plan):
                    plan = event
                else:
                    yield event
            assert plan is not None
            summary.unchanged = plan.unchanged
            summary.skipped = plan.skipped
            yield ScanFinished(
                plan.seen, plan.new, plan.changed, plan.unchanged, len(plan.gone), len(plan.jobs)
            )
            if not self.cancel.is_set():
                yield from self._process(plan, summary, run, started)
            if not self.cancel.is_set():
                self._remove_gone(plan, summary, run)
                with catalog.transaction():
                    for record, _ in self.sources:
                        catalog.mark_source_indexed(record.id)
                    catalog.mark_model_complete(model)
                    catalog.set_state(EXTRACTORS_STATE, self._extractors_signature())
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                library.host.on_index_error(run, exc)
            raise
        finally:
            library.release_models()
        summary.cancelled = self.cancel.is_set()
        summary.seconds = round(time.monotonic() - started, 3)
        library.host.after_index(run, summary)
        yield summary

    def _process(
        self, plan: _Plan, summary: Finished, run: IndexRun, started: float
    ) -> Iterator[Event]:
        catalog = self.library.catalog
        changed_ids = [job.old_id for job in plan.jobs if job.old_id is not None]
        old_hashes = catalog.content_hashes(changed_ids)
        for job in plan.jobs:
            if job.old_id is not None and job.skip_if_same:
                job.old_hash = old_hashes.get(job.old_id)
        gone = HashLookup(catalog.content_hashes(plan.gone))
        claimed: set[int] = set()
        total = len(plan.jobs)
        done = 0
        batch: list[Any] = []
        window = max(self.batch_size * 2, self.threads * 4)
        pending: deque[Future[Any]] = deque()
        jobs = deque(plan.jobs)
        budget = ReadBudget()  # photo bytes held by all decode threads together
        with ThreadPoolExecutor(self.threads, thread_name_prefix="huisou-decode") as pool, \
                ThreadPoolExecutor(self.threads, thread_name_prefix="huisou-extract") as extract:
            self._extract_pool = extract if self.extractors.by_image else None
            try:
                while jobs or pending:
                    while jobs and len(pending) < window:
                        job = jobs.popleft()
                        args = (self.library, job, gone, self.extractors, budget)
                        pending.append(pool.submit(process_job, *args))
                    result = pending.popleft().result()
                    if isinstance(result, MoveCandidate):
                        if result.gone_id in claimed or result.gone_id not in plan.gone:
                            result.job.allow_move = False  # a copy, not a move: index it
                            jobs.appendleft(result.job)
                            continue
                        claimed.add(result.gone_id)
                        result.old_path = plan.gone.pop(result.gone_id)
                    batch.append(result)
                    prepared = sum(isinstance(r, Prepared) for r in batch)
                    # The first batch is small so the encoder starts after a couple of
                    # decodes instead of idling through a whole batch of them.
                    wanted = self.batch_size if done else min(self.batch_size, self.threads)
                    if (
                        prepared >= wanted
                        or len(batch) >= self.batch_size * 4
                        or not (jobs or pending)
                    ):
                        done += len(batch)
                        yield from self._commit(batch, summary, run, done, total, started)
                        batch = []
                        if self.cancel.is_set():
                            break
            finally:
                for future in pending:
                    future.cancel()

    def _commit(
        self,
        batch: list[Any],
        summary: Finished,
        run: IndexRun,
        done: int,
        total: int,
        started: float,
    ) -> Iterator[Event]:
        library = self.library
        catalog = library.catalog
        store = library.store
        model = library.backend.model_fingerprint
        prepared = [r for r in batch if isinstance(r, Prepared)]
        vectors = library.backend.embed_images([r.prepared for r in prepared]) if prepared else None
        merged = self._merge_all([
            (r.job, r.contributions, r.decoded, vectors[i], self.extractors.by_image)
            for i, r in enumerate(prepared)
        ])
        for result in prepared:
            result.decoded = None  # the pixels are no longer needed: free them now
        failures: list[tuple[str, str, str]] = []
        with catalog.transaction() as conn:
            ids: list[int] = []
            for result, (metadata, fields) in zip(prepared, merged, strict=True):
                job = result.job
                item_id = catalog.upsert_item(
                    source_id=job.source_id,
                    path=job.item.path,
                    size=job.item.size,
                    mtime_ns=job.item.mtime_ns,
                    status="indexed",
                    content_hash=result.content_hash,
                    group_key=job.item.group,
                    metadata={**metadata, **result.decoded_metadata},
                    depends_sig=job.depends_sig,
                )
                field_store.replace_values(conn, item_id, fields)
                catalog.record_extractions(item_id, self.extractors.versions())
                ids.append(item_id)
            self._write_refreshed([r for r in batch if isinstance(r, Refreshed)])
            if ids:
                store.upsert(ids, vectors)
                catalog.mark_embedded(ids, model)
            dropped: list[int] = []
            for result in batch:
                job = result.job
                if isinstance(result, Failed):
                    item_id = catalog.upsert_item(
                        source_id=job.source_id,
                        path=job.item.path,
                        size=job.item.size,
                        mtime_ns=job.item.mtime_ns,
                        status=result.status,
                        content_hash=result.content_hash,
                        error=result.reason,
                        group_key=job.item.group,
                    )
                    dropped.append(item_id)
                    failures.append((job.item.path, result.status, result.reason))
                elif isinstance(result, Same):
                    catalog.touch_item(
                        job.old_id, job.item.size, job.item.mtime_ns, result.content_hash
                    )
                elif isinstance(result, MoveCandidate):
                    catalog.move_item(
                        result.gone_id,
                        job.source_id,
                        job.item.path,
                        job.item.size,
                        job.item.mtime_ns,
                        result.content_hash,
                    )
            if dropped:
                store.delete(dropped)
                catalog.unmark_embedded(dropped, model)
        summary.indexed += len(prepared)
        summary.moved += sum(isinstance(r, MoveCandidate) for r in batch)
        summary.unchanged += sum(isinstance(r, Same) for r in batch)
        for path, status, reason in failures:
            if status == "skipped":
                summary.skipped += 1
            else:
                summary.failed += 1
                summary.failures.append({"path": path, "status": status, "reason": reason})
            yield ItemFailed(path, status, reason)
        if prepared:
            library.host.items_indexed(run, [r.job.item.path for r in prepared])
        moves = [(r.old_path, r.job.item.path) for r in batch if isinstance(r, MoveCandidate)]
        if moves:
            library.host.items_moved(run, moves)
        if failures:
            library.host.items_failed(run, failures)
        elapsed = max(time.monotonic() - started, 1e-6)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else None
        yield BatchDone(
            done=done,
            total=total,
            path=batch[-1].job.item.path,
            rate=round(rate, 2),
            eta_seconds=round(eta, 1) if eta is not None else None,
            failed=summary.failed,
        )

    def _merge_all(self, work: list[tuple[Any, ...]]) -> list[tuple[dict, dict]]:
        """:meth:`_merged` for each photo of a batch; on the extract pool when image extractors
        run (OCR takes a second a photo: one thread would leave the other cores idle)."""
        pool = self._extract_pool
        if pool is None or not any(item[2] is not None for item in work):
            return [self._merged(*item) for item in work]
        return list(pool.map(lambda item: self._merged(*item), work))

    def _merged(
        self,
        job: Job,
        contributions: list[Contribution],
        decoded: Any,
        vector: Any,
        image_extractors: Sequence[Any],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Built-in metadata and plugin fields of one photo, image extractors included."""
        host = self.library.host
        everything = list(contributions)
        if decoded is not None:
            for extractor in image_extractors:
                try:
                    values = extractor.extract_image(job.item, decoded, vector) or {}
                except Exception as exc:  # costs that extractor's fields, never the photo
                    host.report_once(extractor.name, "extract_image",
                                     f"raised {type(exc).__name__}: {exc}")
                    continue
                everything.append(Contribution(extractor.name, extractor.priority, values))
        result = merge(host, everything, host.fields())
        with_file_time(result.metadata, job.item)
        return result.metadata, result.fields

    def _write_refreshed(self, refreshed: list[Refreshed]) -> None:
        """Store the fields of unchanged photos read again (inside the batch transaction):
        only the values of the providers that ran are replaced."""
        if not refreshed:
            return
        library = self.library
        catalog = library.catalog
        by_name = {e.name: e for e in self.extractors.by_image}
        vectors = self._stored_vectors([r.job.old_id for r in refreshed if r.job.refresh])
        chosen_of = {id(r): [by_name[n] for n in sorted(r.job.refresh or ())] for r in refreshed}
        merged = self._merge_all([
            (r.job, r.contributions, r.decoded, vectors.get(r.job.old_id), chosen_of[id(r)])
            for r in refreshed
        ])
        for result, (metadata, fields) in zip(refreshed, merged, strict=True):
            job = result.job
            chosen = chosen_of[id(result)]
            # the source always counts: a sidecar deleted or emptied takes its values away
            providers = [source_provider(job)]
            providers += [e.name for e in (*self.extractors.by_bytes, *chosen)]
            catalog.update_metadata(job.old_id, metadata, job.depends_sig)
            field_store.replace_values(catalog.conn, job.old_id, fields, providers=providers)
            versions = self.extractors.versions()
            catalog.record_extractions(job.old_id, {p: versions[p] for p in providers
                                                    if p in versions})

    def _stored_vectors(self, ids: list[int]) -> dict[int, Any]:
        """The stored vectors of ``ids`` (image extractors of refreshed photos get them),
        or none when the store cannot return vectors."""
        if not ids:
            return {}
        try:
            found, matrix = self.library.store.fetch(ids)
        except NotImplementedError:
            return {}
        return {int(i): matrix[row] for row, i in enumerate(found)}

    def _remove_gone(self, plan: _Plan, summary: Finished, run: IndexRun) -> None:
        if not plan.gone:
            return
        ids = list(plan.gone)
        catalog = self.library.catalog
        with catalog.transaction():
            self.library.store.delete(ids)
            catalog.delete_items(ids)
        summary.removed = len(ids)
        self.library.host.items_removed(run, list(plan.gone.values()))


def index(library: Library, **kwargs: Any) -> Iterator[Event]:
    """Convenience: ``for event in index(library): ...``."""
    return Indexer(library, **kwargs).run()


def depends_signature(paths: Sequence[str]) -> str | None:
    """Size and modification time of each sidecar file, so an edited sidecar is noticed by
    a ``stat`` alone (``-`` for one that is missing)."""
    if not paths:
        return None
    parts = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            parts.append("-")
            continue
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)
