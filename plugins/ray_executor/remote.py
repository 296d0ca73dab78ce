"""What runs in Ray's worker processes: decode tasks and the embedding actor.

Each worker process builds its own plugin host and backend from the run's
:class:`~huisou.core.work.BackendSpec` once, then runs core's per-file code
(:func:`~huisou.core.index_jobs.process_job`, :func:`~huisou.core.index_jobs.embedded`):
the same code as the local executor, so the same photo gives the same result. Photos are opened
by their path (it must be the same on every node) unless the writer shipped their bytes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from huisou.core.content_hash import HashLookup
from huisou.core.errors import ModelError
from huisou.core.index_jobs import (
    Decoded,
    Extractors,
    ReadBudget,
    Worker,
    embedded,
    process_job,
)
from huisou.core.interfaces import EmbeddingBackend, IndexRun
from huisou.core.regular_files import open_regular
from huisou.core.work import BackendSpec, Result, WorkItem


@dataclass(frozen=True)
class Setup:
    """What every worker process needs to build its side of the run, sent once."""

    spec: BackendSpec
    plugins_dir: str | None
    #: The extractors taking part in the run (those whose ``start_run`` accepted it there).
    extractors: tuple[str, ...]
    #: The run without its backend (each worker gives its extractors its own).
    run: IndexRun | None


#: Per worker process: (setup, threads) -> (host, backend, extractors), built once.
_BUILT: dict[tuple[Any, ...], tuple[Any, EmbeddingBackend, Extractors]] = {}


def _built(setup: Setup, threads: int) -> tuple[Any, EmbeddingBackend, Extractors]:
    spec = setup.spec
    key = (spec.backend_id, spec.model, spec.fingerprint, setup.plugins_dir, setup.extractors,
           threads)
    if key not in _BUILT:
        from huisou.core.plugins import get_host

        host = get_host(setup.plugins_dir)
        cls = host.get_backend_class(spec.backend_id)
        backend = cls(model=spec.model, **{**spec.options, "threads": threads})
        if backend.model_fingerprint != spec.fingerprint:
            raise ModelError(
                f"model {spec.model!r} on this Ray node is {backend.model_fingerprint}, the "
                f"run writes {spec.fingerprint}: install the same model files on every node")
        _BUILT[key] = (host, backend, _started(host, backend, setup))
    return _BUILT[key]


def _started(host: Any, backend: EmbeddingBackend, setup: Setup) -> Extractors:
    """The run's extractors in this process, given ``start_run`` as the writer gave them
    (with this process's backend). One missing here, or refusing here, stops the run: its
    photos would otherwise lack fields the writer records as extracted."""
    by_name = {e.name: e for e in host.metadata_extractors()}
    missing = [name for name in setup.extractors if name not in by_name]
    if missing:
        raise ModelError(f"extractor(s) {', '.join(missing)} not installed on this Ray node: "
                         "install the same plugins on every node")
    chosen = [by_name[name] for name in setup.extractors]
    run = dataclasses.replace(setup.run, backend=backend) if setup.run is not None else None
    for extractor in chosen:
        if run is not None and extractor.start_run(run) is False:
            raise ModelError(f"extractor {extractor.name} refused the run on a Ray node")
    return Extractors.of(chosen, backend.image_size)


def _open_path(work: WorkItem) -> Any:
    return open_regular(work.item.path)


def decode_batch(setup: Setup, gone: HashLookup, items: list[WorkItem]) -> list[Any]:
    """Read, hash, decode and preprocess a batch (one CPU: one file at a time)."""
    host, backend, extractors = _built(setup, 1)
    worker = Worker(host.load_image, backend.prepare_image, extractors, gone, ReadBudget(),
                    _open_path)
    out = []
    for item in items:
        result = process_job(worker, item)
        if isinstance(result, Decoded) and result.work.data is not None:
            result.work = dataclasses.replace(result.work, data=None)  # not needed any more
        out.append(result)
    return out


class Embedder:
    """Holds one ONNX session for the whole run (loaded on the first batch) and embeds the
    decoded batches it is sent; image extractors run here, where the vector is."""

    def __init__(self, setup: Setup, threads: int) -> None:
        self.setup = setup
        self.threads = threads

    def embed(self, batch: list[Any]) -> list[Result]:
        _host, backend, extractors = _built(self.setup, self.threads)
        decoded = [r for r in batch if isinstance(r, Decoded)]
        others = [r for r in batch if not isinstance(r, Decoded)]
        if not decoded:
            return others
        vectors = backend.embed_images([one.prepared for one in decoded])
        return [*embedded(decoded, vectors, extractors), *others]

    def pid(self) -> int:
        import os

        return os.getpid()
