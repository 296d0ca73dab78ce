#!/usr/bin/env python3
"""This machine's indexing ceiling, measured by ``indexing.py`` in its own process.

ceiling (photos/s) = cores / (decode CPU-s per photo + encoder CPU-s per photo)

* decode: huisou's own decoder (``huisou.plugins.media_sources.decode.decode``: sniff, JPEG
  draft at the model size, orientation, RGB) on one thread, over the same photos;
* encoder: huisou's ``onnx-clip`` backend, image tower at the given precision, one intra-op
  thread (the pure work: no spin-waiting or thread hand-off counted), batches of 16.

Both are CPU seconds (``time.thread_time``/``process_time``), so the ceiling is what the cores
could do with zero waiting, copying or Python overhead. Also reported, not part of the
ceiling: reading + hashing the file, and huisou's resize/crop (``prepare_image``), so a gap to
the ceiling can be attributed. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path


def _reader():  # -> Callable[[Path, int], bytes]
    """The indexer's own read + content hash (``read_photo`` + ``content_hash``)."""
    from huisou.core.content_hash import content_hash
    from huisou.core.index_jobs import read_photo

    def read(path: Path, size: int) -> bytes:
        with open(path, "rb") as fh:
            data = read_photo(fh, size)
        content_hash(data)
        return data

    return read


def measure(photos: Path, model: str, precision: str, limit: int, batch: int) -> dict[str, float]:
    from huisou.plugins.clip_search.backend import OnnxClipBackend
    from huisou.plugins.media_sources.decode import decode

    read_and_hash = _reader()

    files = sorted(p for p in photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:limit]
    backend = OnnxClipBackend(model, precision=precision, threads=1)
    size = backend.image_size
    from PIL import Image

    backend.prepare_image(Image.new("RGB", (2 * size, size)))  # imports, config: not per photo
    read_cpu = decode_cpu = prepare_cpu = 0.0
    prepared = []
    for path in files:
        nbytes = path.stat().st_size  # the indexer has it from the scan
        t0 = time.thread_time()
        data = read_and_hash(path, nbytes)
        t1 = time.thread_time()
        decoded = decode(io.BytesIO(data), str(path), size)
        t2 = time.thread_time()
        prepared.append(backend.prepare_image(decoded.image))
        t3 = time.thread_time()
        read_cpu += t1 - t0
        decode_cpu += t2 - t1
        prepare_cpu += t3 - t2
    n = len(files)
    # Encoder on one thread: warm up (session creation, first-run allocations), then time.
    while len(prepared) < batch:
        prepared = prepared + prepared
    chunk = prepared[:batch]
    backend.embed_images(chunk)
    rounds = max(2, -(-n // batch))
    c0 = time.process_time()
    for _ in range(rounds):
        backend.embed_images(chunk)
    encoder_cpu = (time.process_time() - c0) / (rounds * batch)
    backend.release()
    # The same encoder on all cores: its own throughput (wall), for the table.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    multi = OnnxClipBackend(model, precision=precision, threads=cores)
    multi.embed_images(chunk)
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        multi.embed_images(chunk)
    wall = time.perf_counter() - w0
    multi_cpu = (time.process_time() - c0) / (rounds * batch)
    multi.release()
    decode_per = decode_cpu / n
    return {
        "cores": cores,
        "photos": n,
        "decode_cpu_s": decode_per,
        "encoder_cpu_s": encoder_cpu,
        "read_hash_cpu_s": read_cpu / n,
        "prepare_cpu_s": prepare_cpu / n,
        "ceiling": cores / (decode_per + encoder_cpu),
        "encoder_rate_all_cores": rounds * batch / wall,
        "encoder_cpu_s_all_cores": multi_cpu,
        "precision": precision,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="decode + encoder CPU ceiling")
    parser.add_argument("photos", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.photos, args.model, args.precision, args.limit, args.batch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
