"""The indexing pipeline: one generator of progress events for both the CLI and the TUI.

Flow: scan every source (stat only) → diff against the catalog (size + mtime_ns) → hand the
new/changed files to an executor as pure work items (:mod:`huisou.core.work`; the default,
:mod:`huisou.core.local_executor`, reads, hashes, decodes and preprocesses on a thread pool
and embeds in batches on the calling thread; others run on a cluster) → commit each batch of
results (catalog rows + vectors) in one transaction, from this one writer → remove what is
gone. A killed run loses at most the batches in flight and resumes without duplicates,
because every batch is committed whole and vector upserts are idempotent.

Memory: the plan holds the catalog's stat index and the run's jobs (about 0.5 KB per photo
in the catalog plus 0.5 KB per photo to read; see benchmarks/RESULTS.md "Executor seam"). It
is not streamed because a vanished photo is only known once every source has been scanned,
and a new path must be checked against the vanished ones before it is embedded, or a moved
photo would be embedded again.

Moves and renames: a new path whose content hash equals that of a vanished item takes over
that item's row, so its vectors are kept and nothing is re-embedded.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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
from huisou.core.index_jobs import Extractors, source_provider
from huisou.core.interfaces import (
    Executor,
    ExecutorContext,
    IndexRun,
    MediaItem,
    MediaSource,
)
from huisou.core.library import Library
from huisou.core.local_executor import LocalExecutor
from huisou.core.work import (
    BackendSpec,
    Embedded,
    Failed,
    MoveCandidate,
    Refreshed,
    Result,
    Same,
    WorkItem,
)

FAILED_STATUSES = ("unreadable", "unsupported", "skipped")
#: ``library_state`` key: the extractor versions of the last complete run.
EXTRACTORS_STATE = "extractors"


@dataclass
class Job:
    """A file that needs reading: new, changed, or not yet embedded for this model. The
    writer's side of a :class:`~huisou.core.work.WorkItem` (which carries its index in the
    plan as ``key``)."""

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
    #: The vanished path whose row this one takes over, once the writer accepts the move.
    old_path: str | None = None


@dataclass
class _Plan:
    jobs: list[Job] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    gone: dict[int, str] = field(default_factory=dict)  # id -> path
    seen: int = 0
    new: int = 0
    changed: int = 0


@dataclass
class _Progress:
    """Results committed so far, for :class:`BatchDone` (rate and ETA)."""

    total: int
    started: float
    done: int = 0

    def event(self, path: str, failed: int) -> BatchDone:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else None
        return BatchDone(
            done=self.done,
            total=self.total,
            path=path,
            rate=round(rate, 2),
            eta_seconds=round(eta, 1) if eta is not None else None,
            failed=failed,
        )


def _matrix(vectors: list[Any]) -> np.ndarray:
    """One float32 matrix of a batch's vectors (the store's ``upsert`` takes one)."""
    return np.ascontiguousarray(np.stack(vectors), dtype=np.float32)


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
        executor: Executor | None = None,
    ) -> None:
        self.library = library
        self.sources = list(sources) if sources is not None else library.sources()
        self.cancel = cancel or threading.Event()
        self.retry_failed = retry_failed
        self.batch_size = batch_size or library.config.batch_size
        self.threads = threads or library.config.effective_threads
        #: The extractors taking part, set when the run starts (``MetadataExtractor.start_run``).
        self.extractors = Extractors.of([], library.backend.image_size)
        #: Does the per-photo work (read, decode, extract, embed); this object commits.
        self.executor = executor or LocalExecutor()
        self._stale: dict[int, set[str]] = {}
        self._sidecars: dict[str, str] = {}

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
        """Hand the plan's jobs to the executor and commit what comes back. A photo whose
        bytes equal a vanished one's is a move only for the first new path that claims it;
        the others are copies, read again with moves off in a second pass."""
        catalog = self.library.catalog
        changed_ids = [job.old_id for job in plan.jobs if job.old_id is not None]
        old_hashes = catalog.content_hashes(changed_ids)
        for job in plan.jobs:
            if job.old_id is not None and job.skip_if_same:
                job.old_hash = old_hashes.get(job.old_id)
        context = self._context(plan, HashLookup(catalog.content_hashes(plan.gone)), run)
        progress = _Progress(total=len(plan.jobs), started=started)
        copies: list[int] = []
        keys: list[int] = list(range(len(plan.jobs)))
        while keys and not self.cancel.is_set():
            results = self.executor.run(self._work(plan, keys), context)
            try:
                for batch in results:
                    kept = self._claim_moves(plan, batch, copies)
                    if kept:
                        progress.done += len(kept)
                        yield from self._commit(plan, kept, summary, run, progress)
                    if self.cancel.is_set():
                        break
            finally:
                results.close()  # type: ignore[attr-defined]
            keys, copies = copies, []

    def _context(self, plan: _Plan, gone: HashLookup, run: IndexRun) -> ExecutorContext:
        library = self.library
        backend = library.backend
        backend_id, model, options = library.backend_args()
        return ExecutorContext(
            backend=backend,
            backend_spec=BackendSpec(backend_id, model, options, backend.model_fingerprint),
            host=library.host,
            extractors=self.extractors,
            gone=gone,
            open=lambda work: plan.jobs[work.key].source.open(work.item),
            batch_size=self.batch_size,
            threads=self.threads,
            cancel=self.cancel,
            plugins_dir=library.config.plugins_dir or None,
            run=run,
        )

    def _work(self, plan: _Plan, keys: list[int]) -> Iterator[WorkItem]:
        """The jobs as pure work items, lazily; refreshed photos whose image extractors
        run carry their stored vector (fetched a chunk at a time)."""
        chunk = max(self.batch_size, 1)
        for start in range(0, len(keys), chunk):
            jobs = [(key, plan.jobs[key]) for key in keys[start:start + chunk]]
            vectors = self._stored_vectors([job.old_id for _key, job in jobs
                                            if job.refresh and job.old_id is not None])
            for key, job in jobs:
                yield WorkItem(
                    key=key,
                    source_id=job.source_id,
                    source_type=job.source.type_id,
                    item=job.item,
                    old_hash=job.old_hash,
                    allow_move=job.allow_move,
                    refresh=job.refresh,
                    vector=vectors.get(job.old_id) if job.refresh else None,
                )

    @staticmethod
    def _claim_moves(plan: _Plan, batch: list[Result], copies: list[int]) -> list[Result]:
        """The batch without the move candidates that lost: their vanished photo was already
        claimed by another path (a copy, not a move), so they go to ``copies``."""
        kept: list[Result] = []
        for result in batch:
            if isinstance(result, MoveCandidate):
                job = plan.jobs[result.key]
                if result.gone_id not in plan.gone:
                    job.allow_move = False
                    copies.append(result.key)
                    continue
                job.old_path = plan.gone.pop(result.gone_id)
            kept.append(result)
        return kept

    def _commit(
        self,
        plan: _Plan,
        batch: list[Result],
        summary: Finished,
        run: IndexRun,
        progress: _Progress,
    ) -> Iterator[Event]:
        library = self.library
        catalog = library.catalog
        store = library.store
        model = library.backend.model_fingerprint
        jobs = plan.jobs
        embedded = [r for r in batch if isinstance(r, Embedded)]
        for result in batch:
            for plugin, hook, message in getattr(result, "problems", ()):
                library.host.report_once(plugin, hook, message)
        failures: list[tuple[str, str, str]] = []
        with catalog.transaction() as conn:
            ids: list[int] = []
            for result in embedded:
                job = jobs[result.key]
                metadata, fields = self._merged(job, result.contributions)
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
            self._write_refreshed(jobs, [r for r in batch if isinstance(r, Refreshed)])
            if ids:
                store.upsert(ids, _matrix([r.vector for r in embedded]))
                catalog.mark_embedded(ids, model)
            dropped: list[int] = []
            for result in batch:
                job = jobs[result.key]
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
        summary.indexed += len(embedded)
        summary.moved += sum(isinstance(r, MoveCandidate) for r in batch)
        summary.unchanged += sum(isinstance(r, Same) for r in batch)
        for path, status, reason in failures:
            if status == "skipped":
                summary.skipped += 1
            else:
                summary.failed += 1
                summary.failures.append({"path": path, "status": status, "reason": reason})
            yield ItemFailed(path, status, reason)
        if embedded:
            library.host.items_indexed(run, [jobs[r.key].item.path for r in embedded])
        moves = [(jobs[r.key].old_path, jobs[r.key].item.path) for r in batch
                 if isinstance(r, MoveCandidate)]
        if moves:
            library.host.items_moved(run, moves)
        if failures:
            library.host.items_failed(run, failures)
        yield progress.event(jobs[batch[-1].key].item.path, summary.failed)

    def _merged(
        self, job: Job, contributions: list[Contribution]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Built-in metadata and plugin fields of one photo: the priority rule applied to
        what the source and every extractor said (image extractors included)."""
        host = self.library.host
        result = merge(host, contributions, host.fields())
        with_file_time(result.metadata, job.item)
        return result.metadata, result.fields

    def _write_refreshed(self, jobs: list[Job], refreshed: list[Refreshed]) -> None:
        """Store the fields of unchanged photos read again (inside the batch transaction):
        only the values of the providers that ran are replaced."""
        catalog = self.library.catalog
        versions = self.extractors.versions()
        for result in refreshed:
            job = jobs[result.key]
            metadata, fields = self._merged(job, result.contributions)
            chosen = [e.name for e in self.extractors.by_image if e.name in (job.refresh or ())]
            # the source always counts: a sidecar deleted or emptied takes its values away
            providers = [source_provider(job.source.type_id)]
            providers += [e.name for e in self.extractors.by_bytes] + chosen
            catalog.update_metadata(job.old_id, metadata, job.depends_sig)
            field_store.replace_values(catalog.conn, job.old_id, fields, providers=providers)
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
