"""The Ray executor's driver side: streams work to decode tasks and embedding actors.

Why plain Ray tasks and actors, not Ray Data's ``map_batches``: the work items come from a
generator that reads the catalog on the writer's thread (stored vectors of refreshed photos),
so they must be pulled lazily, here, with a bounded number in flight; a Dataset wants its
input up front (``from_items`` holds every item in the driver). Every batch's result is
fetched by the driver, which keeps the batch's items until then: a batch whose task, actor or
node died is submitted again (work items are pure, so the retry gives the same result), and a
result for an item already delivered is dropped, so nothing is lost and nothing is committed
twice. ``ray`` itself (the core package, no pyarrow/pandas) is the only dependency.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

from huisou.core.errors import HuisouError, ModelError
from huisou.core.index_jobs import read_photo
from huisou.core.interfaces import Executor, ExecutorContext, OptionSpec
from huisou.core.work import WorkItem

#: Submissions of one batch before the run gives up (a batch that kills its worker every time).
MAX_ATTEMPTS = 4
#: Seconds without any result before the run stops with a message instead of hanging.
STALL_SECONDS = 600.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise HuisouError(
            "the ray executor needs Ray: pip install 'huisou[ray]' (on every node)") from exc
    return ray


class RayExecutor(Executor):
    """Decode on Ray workers, embed in actors that hold the ONNX session once, stream the
    results back to the single writer. Photos are opened by the same path on every node
    (a shared mount), or read here and shipped (``ship_bytes``)."""

    executor_id = "ray"
    options = (
        OptionSpec("ray_address", "Ray cluster HOST:PORT to join (default: a local Ray)", None),
        OptionSpec("ship_bytes", "read photos here and ship their bytes to the workers",
                   False),
        OptionSpec("ray_actors", "embedding actors (default: one per node with CPUs)", None),
    )

    def __init__(self, ray_address: str | None = None, ship_bytes: bool = False,
                 ray_actors: int | str | None = None, **options: Any) -> None:
        super().__init__(ray_address=ray_address, ship_bytes=ship_bytes,
                         ray_actors=ray_actors, **options)
        self.address = ray_address
        self.ship_bytes = bool(ship_bytes)
        self.actors = _positive(ray_actors, "--ray-actors") if ray_actors is not None else None

    def run(self, work: Iterator[WorkItem], context: ExecutorContext) -> Iterator[list[Any]]:
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            _connect(ray, self.address)
        try:
            yield from _Session(ray, self, context).run(work)
        finally:
            if started_here:
                ray.shutdown()

    def describe(self) -> dict[str, Any]:
        return {"executor": self.executor_id, "address": self.address,
                "ship_bytes": self.ship_bytes}


def _positive(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise HuisouError(f"{name} {value!r}: expected a whole number of at least 1")
    return number


def _connect(ray: Any, address: str | None) -> None:
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level="WARNING")
        else:
            ray.init(include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local Ray"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HuisouError(f"cannot connect to {where}: {first} (is `ray start` running "
                          "there? the driver must run on a node of the cluster)") from exc


class _Session:
    """One run on the cluster: the actors, the batches in flight and what was delivered."""

    def __init__(self, ray: Any, executor: RayExecutor, context: ExecutorContext) -> None:
        from huisou.plugins.ray_executor import remote

        self.ray = ray
        self.executor = executor
        self.context = context
        run = context.run
        setup = remote.Setup(
            context.backend_spec, context.plugins_dir,
            tuple(e.name for e in (*context.extractors.by_bytes, *context.extractors.by_image)),
            dataclasses.replace(run, backend=None) if run is not None else None)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n["NodeID"] for n in ray.nodes()
                 if n.get("Alive") and n["Resources"].get("CPU")]
        count = executor.actors or max(1, len(nodes))
        embedder = ray.remote(remote.Embedder)
        # One actor per node with CPUs, softly: a restarted actor (its node died) goes to any
        # node. Actors reserve no CPU, so a restarted one always finds a place and decode
        # tasks never wait behind idle actors. Setup goes by value: a restarted actor must not
        # need an object that lived on the dead node.
        self.actors = [
            embedder.options(num_cpus=0, max_restarts=-1, max_task_retries=-1,
                             scheduling_strategy=NodeAffinitySchedulingStrategy(
                                 nodes[i % len(nodes)], soft=True) if nodes else "DEFAULT",
                             ).remote(setup, 1)
            for i in range(count)]
        self.setup = ray.put(setup)
        self.decode = ray.remote(remote.decode_batch).options(num_cpus=1, max_retries=-1)
        self.gone = ray.put(context.gone)
        self.in_flight: dict[Any, tuple[list[WorkItem], int]] = {}
        self.delivered: set[int] = set()
        self.next_actor = 0

    def run(self, work: Iterator[WorkItem]) -> Iterator[list[Any]]:
        size = max(self.context.batch_size, 1)
        limit = 2 * len(self.actors) + 2  # batches in flight: enough to keep every actor busy
        items = iter(work)
        exhausted = False
        last_result = time.monotonic()
        while True:
            while not exhausted and len(self.in_flight) < limit:
                batch = [item for _, item in zip(range(size), items, strict=False)]
                exhausted = len(batch) < size
                if batch:
                    self._submit(batch, 1)
            if not self.in_flight or self.context.cancel.is_set():
                return
            ready, _ = self.ray.wait(list(self.in_flight), num_returns=1, timeout=1.0)
            if not ready:
                if time.monotonic() - last_result > STALL_SECONDS:
                    raise HuisouError(f"no result from the Ray cluster in {STALL_SECONDS:.0f} s "
                                      "(check `ray status`): stopping; the next run resumes")
                continue
            last_result = time.monotonic()
            results = self._collect(ready[0])
            if results:
                yield results

    def _submit(self, batch: list[WorkItem], attempt: int) -> None:
        if self.executor.ship_bytes:
            batch = [self._shipped(item) for item in batch]
        decoded = self.decode.remote(self.setup, self.gone, batch)
        actor = self.actors[self.next_actor % len(self.actors)]
        self.next_actor += 1
        self.in_flight[actor.embed.remote(decoded)] = (batch, attempt)

    def _shipped(self, item: WorkItem) -> WorkItem:
        """The item with its bytes, read here through its source (any source works), and
        its source fields read here too (a lazy mapping may read a sidecar the workers
        cannot reach either)."""
        if item.data is not None:
            return item
        try:
            fields = dict(item.item.fields) if item.item.fields is not None else None
        except Exception:  # a source's bug costs the fields, never the photo
            fields = None
        item = dataclasses.replace(item, item=dataclasses.replace(item.item, fields=fields))
        try:
            with self.context.open(item) as fh:
                return item.shipped(read_photo(fh, item.item.size))
        except Exception:  # the worker opens it then, and reports why it could not
            return item

    def _collect(self, ref: Any) -> list[Any]:
        """The batch's results not delivered before; a lost batch is submitted again."""
        batch, attempt = self.in_flight.pop(ref)
        ray = self.ray
        try:
            results = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the code raised: not worth a retry
            cause = getattr(exc, "cause", None)
            if isinstance(cause, HuisouError):
                raise cause from None
            raise ModelError(f"a Ray worker failed: {_first_line(exc)}") from None
        except ray.exceptions.RayError as exc:  # a worker, actor or node died: retry
            if attempt >= MAX_ATTEMPTS:
                raise HuisouError(f"a batch failed {attempt} times on the Ray cluster "
                                  f"({_first_line(exc)}): stopping; the next run resumes") from exc
            self._submit(batch, attempt + 1)
            return []
        fresh = [r for r in results if r.key not in self.delivered]
        self.delivered.update(r.key for r in fresh)
        return fresh


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
