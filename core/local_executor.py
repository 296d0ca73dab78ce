"""The default executor: a decode thread pool and the embedding on the calling thread.

Flow: up to a window of files are read, hashed, decoded and preprocessed on the decode pool
(:func:`~huisou.core.index_jobs.process_job`) while the calling thread embeds the previous
batch; image extractors then run on their own pool (one photo per thread), and the batch's
results go to the writer. Why embed on the calling thread: ONNX Runtime already uses every
core for one batch, and the writer commits between batches on the same thread, so decode
overlaps with both.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from huisou.core.hookspecs import hookimpl
from huisou.core.index_jobs import Decoded, ReadBudget, Worker, embedded, process_job
from huisou.core.interfaces import Executor, ExecutorContext
from huisou.core.work import WorkItem


class LocalExecutor(Executor):
    """Threads in this process: today's pipeline, the speed every other executor is measured
    against (``benchmarks/indexing.py``)."""

    executor_id = "local"

    def run(self, work: Iterator[WorkItem], context: ExecutorContext) -> Iterator[list[Any]]:
        worker = Worker(
            load_image=context.host.load_image,
            prepare_image=context.backend.prepare_image,
            extractors=context.extractors,
            gone=context.gone,
            budget=ReadBudget(),  # photo bytes held by all decode threads together
            open=context.open,
        )
        threads, size = context.threads, context.batch_size
        window = max(size * 2, threads * 4)
        pending: deque[Future[Any]] = deque()
        items = iter(work)
        exhausted = False
        decoded: list[Decoded] = []
        others: list[Any] = []
        first = True
        with ThreadPoolExecutor(threads, thread_name_prefix="huisou-decode") as pool, \
                ThreadPoolExecutor(threads, thread_name_prefix="huisou-extract") as extract:
            try:
                while True:
                    while not exhausted and len(pending) < window:
                        item = next(items, None)
                        if item is None:
                            exhausted = True
                        else:
                            pending.append(pool.submit(process_job, worker, item))
                    if not pending:
                        break
                    result = pending.popleft().result()
                    (decoded if isinstance(result, Decoded) else others).append(result)
                    # The first batch is small so the encoder starts after a couple of
                    # decodes instead of idling through a whole batch of them.
                    wanted = min(size, threads) if first else size
                    last = exhausted and not pending
                    if len(decoded) >= wanted or len(decoded) + len(others) >= size * 4 or last:
                        yield self._finish(decoded, context, extract) + others
                        decoded, others, first = [], [], False
                        if context.cancel.is_set():
                            break
            finally:
                for future in pending:
                    future.cancel()

    @staticmethod
    def _finish(batch: list[Decoded], context: ExecutorContext,
                extract: ThreadPoolExecutor) -> list[Any]:
        if not batch:
            return []
        vectors = context.backend.embed_images([one.prepared for one in batch])
        pool = extract if context.extractors.by_image else None
        return list(embedded(batch, vectors, context.extractors, pool))


@hookimpl
def register_executors(register: Any) -> None:
    register(LocalExecutor)
