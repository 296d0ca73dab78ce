"""The ``onnx-clip`` embedding backend: CLIP image and text towers on ONNX Runtime.

Memory is the design constraint (a phone indexing 30 000 photos): the image and text towers
are separate ONNX files and separate sessions, each created on first use, so indexing never
holds the text tower and searching never holds the image tower; ``release`` drops both.

Precision rule (``precision="auto"``, the default): use the int8 towers only when both
``model_int8.onnx`` files exist **and** their accuracy was measured against fp32 and passed,
either by ``huisou models quantize`` (``quantization.json`` -> ``"recommended": true``) or by
the model's catalog entry (``"int8": {"recommended": true}``); otherwise fp32. ``int8`` and
``fp32`` force a choice (``int8`` fails with the command to run when the files are missing).

Every heavy import (numpy, Pillow, onnxruntime, tokenizers) happens inside functions.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

from huisou import hookimpl
from huisou.core.errors import HuisouError, ModelError, ModelNotAvailable
from huisou.core.interfaces import EmbeddingBackend, OptionSpec

if TYPE_CHECKING:  # pragma: no cover - types only
    import numpy as np
    from huisou.core.models import ModelManager
    from huisou.plugins.clip_search.modeldir import ModelDir
    from huisou.plugins.clip_search.preprocess import PreprocessConfig
    from huisou.plugins.clip_search.tokenizer import TextTokenizer
    from PIL import Image

DEFAULT_MODEL = "ViT-B-32__openai"
PRECISIONS = ("auto", "int8", "fp32")
#: Execution providers in order of preference; the first available ones are used.
PREFERRED_PROVIDERS = ("XnnpackExecutionProvider", "CPUExecutionProvider")
_TOWER = {"image": "visual", "text": "textual"}


def choose_providers(available: Sequence[str]) -> list[str]:
    """XNNPACK (Termux/ARM builds) when present, then the CPU provider, nothing else."""
    chosen = [name for name in PREFERRED_PROVIDERS if name in available]
    return chosen or list(available[:1])


def int8_recommended(model_dir: ModelDir) -> bool:
    """Whether int8 towers exist and a measurement (or the catalog) says they hold accuracy."""
    if not model_dir.has_int8():
        return False
    if model_dir.quantization_record().get("recommended") is True:
        return True
    from huisou.plugins.clip_search.model_catalog import find_entry

    entry = find_entry(model_dir.name)
    return bool(entry and (entry.raw.get("int8") or {}).get("recommended") is True)


class OnnxClipBackend(EmbeddingBackend):
    """CLIP on ONNX Runtime over an Immich-layout model directory."""

    backend_id: ClassVar[str] = "onnx-clip"
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("precision", "auto (int8 when measured good), int8 or fp32", "auto"),
        OptionSpec("threads", "ONNX Runtime intra-op threads (0 = all cores)", 0),
        OptionSpec("models_dir", "where named models are installed", None),
    )

    def __init__(
        self,
        model: str | None = None,
        precision: str = "auto",
        threads: int | None = 0,
        models_dir: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model or DEFAULT_MODEL, **options)
        precision = (precision or "auto").lower()
        if precision not in PRECISIONS:
            raise HuisouError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
        self.requested_precision = precision
        self.threads = int(threads or 0) or (os.cpu_count() or 1)
        if models_dir is None:
            from huisou.core.config import Config

            models_dir = str(Config().models_path)
        self.models_dir = models_dir
        self._lock = threading.RLock()
        self._dir: ModelDir | None = None
        self._precision: str | None = None
        self._fingerprint: str | None = None
        self._pre: PreprocessConfig | None = None
        self._tokenizer: TextTokenizer | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._sessions: dict[str, Any] = {}
        self._providers: list[str] = []

    # -- model facts (no session needed) ---------------------------------------------------

    @property
    def model_dir(self) -> ModelDir:
        """The resolved directory; raises ModelNotAvailable naming the fetch command."""
        with self._lock:
            if self._dir is None:
                from huisou.plugins.clip_search.modeldir import InvalidModelDir, resolve_model

                try:
                    self._dir = resolve_model(str(self.model), self.models_dir)
                except InvalidModelDir as exc:
                    raise ModelNotAvailable(str(exc)) from None
            return self._dir

    @property
    def precision(self) -> str:
        """``int8`` or ``fp32``: the towers actually used (see module docstring)."""
        with self._lock:
            if self._precision is None:
                model_dir = self.model_dir
                if self.requested_precision == "fp32":
                    self._precision = "fp32"
                elif self.requested_precision == "int8":
                    if not model_dir.has_int8():
                        raise ModelNotAvailable(
                            f"model {model_dir.name!r} has no int8 files: run "
                            f"`huisou models quantize {self.model}` or use --precision fp32"
                        )
                    self._precision = "int8"
                else:
                    self._precision = "int8" if int8_recommended(model_dir) else "fp32"
            return self._precision

    @property
    def dimensions(self) -> int:
        return self.model_dir.embed_dim

    @property
    def image_size(self) -> int:
        return self.model_dir.image_size

    @property
    def model_fingerprint(self) -> str:
        """``clip_<name>_<precision>_<12 hex>``: the hash covers both tower files in use
        (sha256, cached by size+mtime) and the preprocessing, so a changed file, precision
        or preprocessing gives a new vector space."""
        with self._lock:
            if self._fingerprint is None:
                from huisou.plugins.clip_search.modeldir import slug

                model_dir, precision = self.model_dir, self.precision
                parts = {
                    tower: _known_digest(model_dir, f"{tower}/{model_dir.onnx_path(tower, precision).name}")
                    for tower in ("visual", "textual")
                }
                parts["preprocess"] = json.dumps(model_dir.preprocess_cfg, sort_keys=True)
                parts["embed_dim"] = str(model_dir.embed_dim)
                digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
                self._fingerprint = f"clip_{slug(model_dir.name, 32)}_{precision}_{digest[:12]}"
            return self._fingerprint

    def _preprocess_cfg(self) -> PreprocessConfig:
        # Lock-free once set: decode threads call this per photo, and the lock is held for
        # the ~0.4 s an ONNX session takes to load (profiled: both decoders stalled on it).
        pre = self._pre
        if pre is not None:
            return pre
        with self._lock:
            if self._pre is None:
                from huisou.plugins.clip_search.preprocess import PreprocessConfig

                model_dir = self.model_dir
                self._pre = PreprocessConfig.from_json(
                    model_dir.preprocess_cfg,
                    model_dir.image_size,
                    source=str(model_dir.path / "visual" / "preprocess_cfg.json"),
                )
            return self._pre

    # -- sessions ----------------------------------------------------------------------------

    def sessions_loaded(self) -> set[str]:
        """Which towers are in memory now: a subset of ``{"image", "text"}``."""
        with self._lock:  # release() may clear the dict from another thread
            return {kind for kind, session in self._sessions.items() if session is not None}

    def _session(self, kind: str) -> Any:
        with self._lock:
            session = self._sessions.get(kind)
            if session is None:
                session = self._create_session(kind)
                self._sessions[kind] = session
            return session

    def _create_session(self, kind: str) -> Any:
        import onnxruntime as ort

        path = self.model_dir.onnx_path(_TOWER[kind], self.precision)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        # Indexing: one intra-op thread per image session run, several runs at once (see
        # _run). ORT's intra-op threads would otherwise spin-wait on cores the decode pool
        # needs; measured on 2 cores: 0.061 vs 0.080 CPU-s per photo (benchmarks/RESULTS.md).
        # Searching: a single query is latency-bound, so the text tower keeps all threads.
        tower_threads = 1 if kind == "image" else self.threads
        if kind == "image":
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = choose_providers(ort.get_available_providers())
        provider_options: list[dict[str, Any]] = []
        for name in providers:
            if name == "XnnpackExecutionProvider":
                # XNNPACK runs its own pool; ORT's docs ask for one intra-op thread then.
                provider_options.append({"intra_op_num_threads": str(tower_threads)})
                options.intra_op_num_threads = 1
            else:
                provider_options.append({})
        if "XnnpackExecutionProvider" not in providers:
            options.intra_op_num_threads = tower_threads
        try:
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=providers,
                provider_options=provider_options,
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"cannot load {kind} encoder {path}: {_first_line(exc)}") from exc
        self._providers = session.get_providers()
        return session

    def release(self) -> None:
        """Drop both sessions (and the tokenizer) and collect, so their memory is returned."""
        with self._lock:
            self._sessions.clear()
            self._tokenizer = None
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        gc.collect()

    def _encode_pool(self, workers: int) -> ThreadPoolExecutor:
        """Threads that run image-session chunks side by side (created on first use)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(workers, thread_name_prefix="huisou-encode")
            return self._pool

    # -- images ------------------------------------------------------------------------------

    def prepare_image(self, image: Image.Image) -> np.ndarray:
        """Resize/crop on the decode threads; returns uint8 ``[S, S, 3]`` RGB.

        Normalisation (cheap, vectorised per batch) happens in ``embed_images`` because only the
        graph knows whether it wants float NCHW or Immich's uint8 NHWC input, and this method
        must not need the model loaded.
        """
        from huisou.plugins.clip_search.preprocess import preprocess

        return preprocess(image, self._preprocess_cfg(), layout="nhwc_uint8")

    def embed_images(self, prepared: Sequence[Any]) -> np.ndarray:
        """Embed a batch of ``prepare_image`` results (PIL images are prepared on the fly).

        Float graphs get their input normalised chunk by chunk on the encoder threads, so
        that work runs in parallel with the other chunk's inference instead of before it.
        """
        import numpy as np

        if len(prepared) == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        arrays = [p if isinstance(p, np.ndarray) else self.prepare_image(p) for p in prepared]
        batch = np.stack(arrays)
        session = self._session("image")
        graph_input = session.get_inputs()[0]
        name = graph_input.name
        if graph_input.type == "tensor(uint8)":
            return self._run(
                session, lambda rows: {name: rows}, batch, parallel=self.threads, kind="image"
            )
        from huisou.plugins.clip_search.preprocess import normalize

        pre = self._preprocess_cfg()
        return self._run(
            session,
            lambda rows: {name: normalize(rows, pre)},
            batch,
            parallel=self.threads,
            kind="image",
        )

    # -- texts -------------------------------------------------------------------------------

    def tokenizer(self) -> TextTokenizer:
        with self._lock:
            if self._tokenizer is None:
                from huisou.plugins.clip_search.tokenizer import TextTokenizer

                model_dir = self.model_dir
                kwargs = (model_dir.config.get("text_cfg") or {}).get("tokenizer_kwargs") or {}
                self._tokenizer = TextTokenizer(
                    model_dir.path / "textual" / "tokenizer.json",
                    model_dir.context_length,
                    model_dir.tokenizer_config(),
                    canonicalize=kwargs.get("clean") == "canonicalize",
                )
            return self._tokenizer

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed query texts; an empty or blank text raises HuisouError ("empty query")."""
        import numpy as np

        if isinstance(texts, str):
            texts = [texts]
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise HuisouError("empty query: type some words to search for")
        if len(texts) == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        ids, mask = self.tokenizer().encode(list(texts))
        session = self._session("text")
        inputs = session.get_inputs()
        names = {i.name: i for i in inputs}

        def feed_for(rows: np.ndarray) -> dict[str, np.ndarray]:
            first = int(rows[0])
            sl = slice(first, first + len(rows))
            if "input_ids" in names and "attention_mask" in names:  # M-CLIP style graphs
                return {
                    "input_ids": ids[sl].astype(_int_dtype(names["input_ids"].type)),
                    "attention_mask": mask[sl].astype(_int_dtype(names["attention_mask"].type)),
                }
            return {inputs[0].name: ids[sl].astype(_int_dtype(inputs[0].type))}

        return self._run(session, feed_for, np.arange(len(texts)), kind="text")

    # -- shared ------------------------------------------------------------------------------

    def _run(
        self,
        session: Any,
        make_feed: Any,
        rows: np.ndarray,
        parallel: int = 1,
        kind: str = "image",
    ) -> np.ndarray:
        """Run in one batch, or row by row when the graph has a fixed batch of 1 (older
        Immich exports were traced with batch 1); output index 0, L2-normalised float32.

        With ``parallel`` > 1 the rows are split into that many chunks run at once
        (``InferenceSession.run`` is thread-safe): single-threaded runs side by side use the
        cores better than one run with intra-op threads.
        """
        import numpy as np

        batch_dim = session.get_inputs()[0].shape[0]
        fixed = isinstance(batch_dim, int) and batch_dim > 0
        chunk = batch_dim if fixed else -(-len(rows) // max(1, min(parallel, len(rows))))
        pieces = [rows[start : start + chunk] for start in range(0, len(rows), chunk)]

        def run(piece: np.ndarray) -> np.ndarray:
            try:
                out = session.run(None, make_feed(piece))[0]
            except Exception as exc:  # onnxruntime's own error types: the graph is at fault
                raise ModelError(f"{self._tower_file(kind)} failed: {_first_line(exc)}") from exc
            return np.asarray(out, dtype=np.float32).reshape(-1, out.shape[-1])

        if parallel > 1 and len(pieces) > 1:
            pool = self._encode_pool(parallel)
            started: list[Any] = []
            for piece in pieces:
                try:
                    started.append(pool.submit(run, piece))
                except RuntimeError:  # another thread's release() shut the pool: run it here
                    started.append(run(piece))
            outputs = [r.result() if isinstance(r, Future) else r for r in started]
        else:
            outputs = [run(piece) for piece in pieces]
        vectors = np.concatenate(outputs, axis=0)
        self._check_output(vectors, len(rows), kind)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)

    def _tower_file(self, kind: str) -> str:
        return str(self.model_dir.onnx_path(_TOWER[kind], self.precision))

    def _check_output(self, vectors: np.ndarray, rows: int, kind: str) -> None:
        """One finite ``embed_dim`` vector per input, or ModelError: a wrong or damaged graph
        must stop the run, never put garbage into the store or be blamed on the photos."""
        import numpy as np

        expected = (rows, self.dimensions)
        if vectors.shape != expected:
            raise ModelError(
                f"{self._tower_file(kind)} gives vectors of shape {list(vectors.shape)}, "
                f"expected {list(expected)} (embed_dim in config.json)"
            )
        if not np.isfinite(vectors).all():
            raise ModelError(
                f"{self._tower_file(kind)} gives non-finite values (NaN/inf): the file is "
                "damaged; download or export it again"
            )

    @classmethod
    def model_manager(cls, models_dir: str) -> ModelManager:
        from huisou.plugins.clip_search.manager import ClipModelManager

        return ClipModelManager(models_dir)

    def describe(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"backend": self.backend_id, "model": self.model}
        try:
            facts.update(
                path=str(self.model_dir.path),
                dimensions=self.dimensions,
                precision=self.precision,
                requested_precision=self.requested_precision,
                image_size=self.image_size,
                threads=self.threads,
                fingerprint=self.model_fingerprint,
                sessions=sorted(self.sessions_loaded()),
            )
            import onnxruntime as ort

            facts["providers"] = self._providers or choose_providers(ort.get_available_providers())
        except HuisouError as exc:
            facts["error"] = str(exc)
        return facts


def check_towers(model_dir: ModelDir) -> list[str]:
    """Load each tower once (fp32, and int8 when present) and embed one grey image and one
    text, so a model whose graph is corrupt or gives wrong-shaped or non-finite vectors is
    refused at install instead of failing every photo later. Returns the precisions checked.
    """
    from PIL import Image

    precisions = ["fp32"] + (["int8"] if model_dir.has_int8() else [])
    for precision in precisions:
        backend = OnnxClipBackend(
            str(model_dir.path), precision=precision, threads=1, models_dir=str(model_dir.path)
        )
        backend._dir = model_dir
        try:
            backend.embed_images([Image.new("RGB", (model_dir.image_size,) * 2, (128, 128, 128))])
            backend.embed_texts(["a photo"])
        finally:
            backend.release()
    return precisions


def _first_line(exc: BaseException) -> str:
    """ONNX Runtime messages run over several lines; the first says what went wrong."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _int_dtype(onnx_type: str) -> Any:
    import numpy as np

    return np.int64 if onnx_type == "tensor(int64)" else np.int32


def _known_digest(model_dir: ModelDir, rel: str) -> str:
    """The catalog's sha256 when the file has the catalog's size (it was verified on
    download), else the file's own digest (cached)."""
    from huisou.plugins.clip_search.model_catalog import find_entry

    entry = find_entry(model_dir.name)
    if entry is not None:
        spec = entry.file(rel)
        path = model_dir.path / rel
        if spec and spec.sha256 and spec.size and path.stat().st_size == spec.size:
            return spec.sha256
    return model_dir.file_digest(rel)


@hookimpl
def register_embedding_backends(register: Any) -> None:
    register(OnnxClipBackend)
