"""The search index both SQLite vector stores share: sign bits in RAM, floats memory-mapped.

Why: exact float KNN needs the whole float matrix (200 MB at 100k x 512, 2 GB at 1M), which
breaks the memory budget and, read from SQLite BLOBs, the latency budget. Instead:

1. **coarse**: every vector is kept as 1 bit per dimension, ``sign(x - mean)`` (64 bytes for
   512 dims). Centring matters: CLIP embeddings share a large common component, and ranking by
   ``q·(x - mean)`` is the same as ranking by ``q·x`` for a fixed query, so subtracting the mean
   costs nothing and makes every bit informative. Hamming distance to ``sign(q)`` (XOR +
   popcount over uint64 words) picks a few thousand candidates in ~10 ms per million vectors.
2. **refine**: an asymmetric estimate ``q · sign(x - mean)`` (the float query against the bits,
   by per-byte lookup tables) narrows those to ``rerank`` candidates.
3. **exact**: the candidates' float32 vectors are read from the sidecar file (``preadv``) and
   scored exactly, so returned scores are true cosines.
4. **adaptive**: if the k-th score stands less than 6 standard deviations above the bulk of
   ``q·x`` (known from the stored mean and covariance), the query is crowded and is searched
   again with a 4-16x budget. Typical CLIP-like queries stop at step 3; uniformly random data
   (the worst case) still reaches recall@20 ≥ 0.99 at 100k, at ~40 ms instead of ~5 ms.

Small collections (and explicit candidate lists, e.g. from folder/date filters) are searched
exactly over the mapped floats. The sidecar file is a cache: it records the store's random
``token`` and change sequence number ``seq`` at build time; the store either uses it as is, or
as the base of a :class:`~.layered_index.LayeredIndex` (the changes since ``seq`` searched
exactly beside it), or rebuilds it — so deleting it is harmless.

File layout (little-endian, sections page-aligned so they can be mapped directly)::

    header 4096 B | mean f32[d] | cov f32[d, d] | ids i64[n] | sorted ids i64[n] | rows-of-sorted i64[n]
                  | bits u8[n, w] | floats f32[n, d]
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from huisou.core.tempfiles import locked_temp, remove_stale
from huisou.plugins.clip_search.bitcode import asymmetric_scores, code_bytes, dot, hamming

MAGIC = b"HSVIDX01"
FORMAT_VERSION = 3
PAGE = 4096
#: Name prefix of an index being built (removed by the next build if its writer died).
TEMP_PREFIX = ".huisou-vidx-"
_HEADER = struct.Struct("<8sIIqqqq")  # magic, format, dims, n, token, bytes per code, seq

#: At or below this many vectors, search is exact over the mapped floats.
EXACT_MAX = 16_384
#: Candidate lists up to this size are scored exactly (their rows read with ``preadv``,
#: ~3-7 µs a row); bigger ones take the coarse path restricted to the candidates.
SUBSET_EXACT_MAX = 32_768
#: Cap on float rows re-ranked for a big candidate list (see ``VectorIndex.search``).
SUBSET_RERANK_MAX = 8_000
#: Rows sampled for the covariance that the adaptive budget uses.
COV_SAMPLE = 8_192
#: ``(minimum z of the k-th score, budget multiplier)``, first match wins. Measured at 100k
#: (recall@20 with the base budget / x4 / x8 / x16): z 5.5: 0.994/1.0; z 4.3: 0.92/0.988/
#: 0.998/1.0; z 3.9: 0.83/0.97/0.99/0.998. Random unit vectors sit at z 3.5.
ESCALATION: tuple[tuple[float, int], ...] = ((6.0, 1), (5.0, 4), (4.3, 8), (0.0, 16))
#: Cap on re-ranked rows when escalating (each costs a ~3-7 µs ``preadv``).
ESCALATED_RERANK_MAX = 8_000
#: Rows per block when scanning floats, to bound temporary memory (8 MB at 512 dims).
BLOCK = 4_096
#: The Hamming stage keeps ``max(COARSE_MIN, n // COARSE_DIVISOR)`` candidates for the
#: asymmetric stage (4000 at 100k, 15625 at 1M: recall@20 1.0 on CLIP-like data at both),
#: at most ``COARSE_MAX``: the asymmetric stage costs ~1 µs a row, and N/64 at 10M (156k rows,
#: x16 when escalating) made it the whole of a 5 s query. Recall is governed by the re-rank
#: budget: see benchmarks/RESULTS.md, "Incremental search index and 10M vectors".
COARSE_MIN = 4_000
COARSE_DIVISOR = 64
COARSE_MAX = 16_384
#: Cap on the Hamming shortlist when escalating.
ESCALATED_COARSE_MAX = 65_536

def default_rerank(n: int) -> int:
    """How many float vectors the exact stage reads (recall@20 = 1.0 measured on CLIP-like
    data at 100k with 500 and at 1M with 500; 1000 above 200k leaves a margin)."""
    return 500 if n <= 200_000 else 1_000


def _align(offset: int) -> int:
    return -(-offset // PAGE) * PAGE


@dataclass(frozen=True)
class _Layout:
    dims: int
    n: int
    width: int

    @property
    def sections(self) -> dict[str, tuple[int, tuple[int, ...], Any]]:
        """``name -> (offset, shape, dtype)``, each section page-aligned."""
        spec = [
            ("mean", (self.dims,), np.float32),
            ("cov", (self.dims, self.dims), np.float32),
            ("ids", (self.n,), np.int64),
            ("sorted_ids", (self.n,), np.int64),
            ("sorted_rows", (self.n,), np.int64),
            ("bits", (self.n, self.width), np.uint8),
            ("floats", (self.n, self.dims), np.float32),
        ]
        out: dict[str, tuple[int, tuple[int, ...], Any]] = {}
        offset = PAGE
        for name, shape, dtype in spec:
            out[name] = (offset, shape, dtype)
            offset = _align(offset + int(np.prod(shape)) * np.dtype(dtype).itemsize)
        out["end"] = (offset, (), None)
        return out


class VectorIndex:
    """An immutable, searchable snapshot of one vector space at one store ``token``."""

    def __init__(
        self, token: int, dims: int, arrays: dict[str, Any], path: str | None, fd: int,
        float_offset: int, seq: int = 0,
    ) -> None:
        self.token = token
        #: the store's change sequence number this snapshot was built at
        self.seq = seq
        self.dims = dims
        self.path = path
        # re-rank rows are read with preadv, not through the map: a page fault maps 64 KB or
        # more of neighbours (fault-around, large folios; MADV_RANDOM does not stop it), so
        # 1000 scattered rows read through the map raised peak RSS by ~140 MB at 100k
        self._fd = fd
        self._float_offset = float_offset
        self._row_bytes = dims * 4
        # plain ndarray views of the maps: np.memmap's __getitem__ costs ~0.1 ms per call
        views = {name: np.asarray(array) for name, array in arrays.items()}
        self.mean: Any = views["mean"]
        self.cov: Any = views["cov"]
        self.ids: Any = views["ids"]
        self.sorted_ids: Any = views["sorted_ids"]
        self.sorted_rows: Any = views["sorted_rows"]
        self.bits: Any = views["bits"]
        self.floats: Any = views["floats"]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def close(self) -> None:
        """Close the file descriptor (the maps stay valid until the arrays are dropped)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def read_rows(self, rows: Any) -> Any:
        """Float32 vectors of ``rows`` (sorted), one ``preadv`` per run of consecutive rows."""
        out = np.empty((len(rows), self.dims), dtype=np.float32)
        if len(rows) == 0:
            return out
        view = memoryview(out).cast("B")
        size = self._row_bytes
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        starts = np.concatenate(([0], breaks)).tolist()
        stops = np.concatenate((breaks, [len(rows)])).tolist()
        first_rows = rows[starts].tolist()
        for start, stop, row in zip(starts, stops, first_rows, strict=True):
            want = (stop - start) * size
            got = os.preadv(self._fd, [view[start * size : stop * size]],
                            self._float_offset + row * size)
            if got != want:
                raise OSError(f"vector index {self.path or '(temporary)'} is truncated")
        return out

    # -- building and loading ----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        chunks: Iterable[tuple[Any, Any]],
        n: int,
        dims: int,
        token: int,
        path: str | None = None,
        seq: int = 0,
    ) -> VectorIndex:
        """Write an index from ``(ids, float32 vectors)`` chunks totalling ``n`` rows.

        With ``path`` the file is written beside it and renamed into place atomically (a reader
        sees the old or the new file, never half of one); without, it lives in an anonymous
        temporary file, so even a large uncommitted snapshot does not sit in RAM.
        """
        layout = _Layout(dims, n, code_bytes(dims))
        sections = layout.sections
        size = sections["end"][0]
        if path:
            directory = str(Path(path).parent)
            remove_stale(directory, TEMP_PREFIX)  # left by a writer killed mid-build
            fd, tmp = locked_temp(directory, TEMP_PREFIX)
        else:  # anonymous from the start: nothing to leave behind if this process dies
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX)
            os.unlink(tmp)
            tmp = ""
        try:
            os.ftruncate(fd, size)
            float_offset, row_bytes = sections["floats"][0], dims * 4
            ids = np.empty(n, dtype=np.int64)
            total = np.zeros(dims, dtype=np.float64)
            row = 0
            # pass 1: floats straight to the file (pwrite, not a writable map, so building a
            # 1M index does not hold 2 GB of dirty mapped pages in this process's RSS)
            for chunk_ids, chunk_vectors in chunks:
                m = len(chunk_ids)
                if row + m > n:
                    raise ValueError(f"vector store yielded more than the {n} rows it counted")
                block = np.ascontiguousarray(chunk_vectors, dtype=np.float32)
                ids[row : row + m] = chunk_ids
                _write_all(fd, block, float_offset + row * row_bytes)
                total += block.sum(axis=0, dtype=np.float64)
                row += m
            if row != n:
                raise ValueError(f"vector store yielded {row} rows but counted {n}")
            mean = (total / max(n, 1)).astype(np.float32)
            # pass 2: sign bits of (x - mean), reading the floats back block by block
            bits = np.zeros((n, layout.width), dtype=np.uint8)
            # covariance from a sample of rows: tells a query how crowded its scores are
            sample_step = max(1, -(-n // COV_SAMPLE))
            sample = np.empty((-(-n // sample_step), dims), dtype=np.float32)
            sampled = 0
            buffer = np.empty((BLOCK, dims), dtype=np.float32)
            for start in range(0, n, BLOCK):
                m = min(BLOCK, n - start)
                view = memoryview(buffer[:m]).cast("B")
                if os.preadv(fd, [view], float_offset + start * row_bytes) != m * row_bytes:
                    raise OSError("short read while building the vector index")
                packed = np.packbits(buffer[:m] > mean, axis=1)
                picked = buffer[(-start) % sample_step : m : sample_step]
                sample[sampled : sampled + len(picked)] = picked
                sampled += len(picked)
                bits[start : start + m, : packed.shape[1]] = packed
            order = np.argsort(ids, kind="stable")
            centred = sample[:sampled] - mean
            cov = (centred.T @ centred / max(sampled, 1)).astype(np.float32)  # one BLAS call
            for name, array in (("mean", mean), ("cov", cov), ("ids", ids), ("sorted_ids", ids[order]),
                                ("sorted_rows", order.astype(np.int64)), ("bits", bits)):
                _write_all(fd, array, sections[name][0])
            os.pwrite(fd, _HEADER.pack(MAGIC, FORMAT_VERSION, dims, n, token, layout.width, seq),
                      0)
            if path:
                os.fsync(fd)
                os.replace(tmp, path)
                tmp = path
            return cls(token, dims, _map(fd, sections, "r"), path, os.dup(fd),
                       sections["floats"][0], seq)
        except BaseException:
            if tmp and tmp != path:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise
        finally:
            os.close(fd)

    @classmethod
    def load(cls, path: str, token: int | None, dims: int) -> VectorIndex | None:
        """Map a sidecar written for ``token`` (any token when None: the caller checks the
        snapshot's ``token`` and ``seq`` itself); None when missing, stale or damaged."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            head = os.pread(fd, _HEADER.size, 0)
            if len(head) < _HEADER.size:
                return None
            magic, version, f_dims, n, f_token, width, seq = _HEADER.unpack(head)
            if (magic, version, f_dims) != (MAGIC, FORMAT_VERSION, dims):
                return None
            if token is not None and f_token != token:
                return None
            layout = _Layout(dims, n, width)
            if width != code_bytes(dims) or os.fstat(fd).st_size < layout.sections["end"][0]:
                return None
            sections = layout.sections
            return cls(f_token, dims, _map(fd, sections, "r"), path, os.dup(fd),
                       sections["floats"][0], seq)
        finally:
            os.close(fd)

    # -- search ------------------------------------------------------------------------------

    def rows_of(self, item_ids: Iterable[int]) -> Any:
        """Sorted row numbers of the given ids; ids not in the index are dropped."""
        wanted = np.unique(np.fromiter(item_ids, dtype=np.int64))
        pos = np.searchsorted(self.sorted_ids, wanted)
        ok = pos < len(self)
        ok[ok] = self.sorted_ids[pos[ok]] == wanted[ok]
        return np.sort(self.sorted_rows[pos[ok]])

    def search(
        self, query: Any, k: int, rows: Any = None, rerank: int | None = None
    ) -> tuple[Any, Any]:
        """Top ``k`` as ``(ids, scores)``, best first; ``rows`` restricts to those rows."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dims:
            raise ValueError(f"query has {q.shape[0]} dimensions, the index {self.dims}")
        if rows is None:
            total = len(self)
            if total <= EXACT_MAX:
                return self._exact(q, k, None)
            keep = rerank or default_rerank(total)
            wide = max(COARSE_MIN, keep, min(COARSE_MAX, total // COARSE_DIVISOR))
        else:
            rows = np.asarray(rows, dtype=np.int64)
            total = len(rows)
            if total <= SUBSET_EXACT_MAX:
                return self._exact(q, k, rows)
            # A filter's k-th best sits ~k/fraction deep in the whole collection, where scores
            # crowd together, so the budget grows with that depth (measured at 1M with a 10 %
            # filter: 500 re-ranked rows gave recall@20 0.88, 8000 gave 0.99).
            depth = k * len(self) / total
            keep = rerank or int(min(SUBSET_RERANK_MAX, max(default_rerank(len(self)), 40 * depth)))
            wide = max(COARSE_MIN, 8 * keep, total // COARSE_DIVISOR)
        found = self._exact(q, k, self._coarse(q, keep, rows, wide))
        # Adaptive effort: how far the k-th score stands above the bulk of the collection, in
        # standard deviations of q·x (from the stored mean and covariance). Well-separated
        # results (the usual CLIP query) are final; crowded ones are searched again with a
        # bigger budget. The k-th score found is at most the true one, so this errs safe.
        if len(found[1]) == k and rerank is None:
            factor = self._escalation(q, float(found[1][-1]))
            if factor > 1:
                keep2 = min(total, ESCALATED_RERANK_MAX, keep * factor)
                wide2 = min(total, max(min(wide * factor, ESCALATED_COARSE_MAX), keep2))
                found = self._exact(q, k, self._coarse(q, keep2, rows, wide2))
        return found

    def _escalation(self, q: Any, kth_score: float) -> int:
        """Budget multiplier for a query whose k-th best score is ``kth_score``."""
        spread = float(np.einsum("i,ij,j->", q, self.cov, q))
        if spread <= 0.0:
            return 1
        z = (kth_score - float(q @ self.mean)) / spread**0.5
        for bound, factor in ESCALATION:
            if z >= bound:
                return factor
        return ESCALATION[-1][1]

    def _exact(self, q: Any, k: int, rows: Any) -> tuple[Any, Any]:
        total = len(self) if rows is None else len(rows)
        if total == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        best_rows: list[Any] = []
        best_scores: list[Any] = []
        for start in range(0, total, BLOCK):
            if rows is None:
                block_rows = np.arange(start, min(total, start + BLOCK))
                scores = dot(self.floats[start : start + BLOCK], q)
            else:
                block_rows = rows[start : start + BLOCK]
                scores = dot(self.read_rows(block_rows), q)
            if len(scores) > k:
                top = np.argpartition(-scores, k)[:k]
                block_rows, scores = block_rows[top], scores[top]
            best_rows.append(block_rows)
            best_scores.append(scores)
        all_rows = np.concatenate(best_rows)
        all_scores = np.concatenate(best_scores)
        order = np.lexsort((self.ids[all_rows], -all_scores))[:k]
        return self.ids[all_rows[order]], all_scores[order]

    def _coarse(self, q: Any, keep: int, rows: Any, wide: int) -> Any:
        """Candidate rows (sorted): the ``wide`` nearest by Hamming distance, narrowed to
        ``keep`` by the asymmetric bit estimate."""
        width = self.bits.shape[1]
        q_pad = np.zeros(width * 8, dtype=np.float32)
        q_pad[: self.dims] = q
        distances = hamming(self.bits, np.packbits(q_pad > 0).view(np.uint64), rows)
        # the ``wide`` smallest distances via a histogram (distances are small integers)
        counts = np.cumsum(np.bincount(distances, minlength=width * 8 + 1))
        threshold = int(np.searchsorted(counts, min(len(distances), wide)))
        picked = np.flatnonzero(distances <= threshold)
        if rows is not None:
            picked = rows[picked]
        if len(picked) > keep:
            estimate = asymmetric_scores(q_pad, self.bits, picked)
            picked = picked[np.argpartition(-estimate, keep)[:keep]]
        return np.sort(picked)


def _write_all(fd: int, array: Any, offset: int) -> None:
    """``pwrite`` a whole array at ``offset`` (looping over short writes)."""
    data = memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    while len(data):
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


def _map(fd: int, sections: dict[str, tuple[int, tuple[int, ...], Any]], mode: str) -> dict:
    """Memory-map every section of an index file (zero-row sections become empty arrays)."""
    arrays: dict[str, Any] = {}
    with os.fdopen(os.dup(fd), "r+b" if mode == "r+" else "rb") as handle:
        for name, (offset, shape, dtype) in sections.items():
            if dtype is None:
                continue
            if int(np.prod(shape)) == 0:
                arrays[name] = np.zeros(shape, dtype=dtype)
            else:
                arrays[name] = np.memmap(handle, dtype=dtype, mode=mode, offset=offset,
                                         shape=shape)
    return arrays
