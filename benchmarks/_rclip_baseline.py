#!/usr/bin/env python3
"""An rclip-4.x-design indexer, run as its own process by ``indexing.py``.

Why a re-implementation: rclip 4.x needs Python >= 3.12 and downloads its own ViT-B-32-256
model; this file reproduces the indexing pipeline of rclip 4.0.8 (``rclip/main.py``
``_load_images``/``_index_images``, ``utils/preprocess.py``, ``model_download._load_onnx_session``)
on the same model directory huisou uses, so the comparison isolates the pipeline, not the model:

* walk the tree (``os.scandir``), ``stat`` each photo, look paths up in SQLite in groups of 512;
* loader threads = ``min(16, cpu_count)``, up to 3 batches (24 photos) in flight, results taken
  as each completes (``wait(FIRST_COMPLETED)``) and refilled at once, so decoding overlaps the
  model; each loader reads the file hash (SHA-256 of the first 1 MB + last 1 KB), opens the
  image, ``draft("RGB", (size, size))`` JPEG reduced decode, ``convert("RGB")``, shortest-side
  bicubic resize, centre crop, ``(x/255 - mean)/std`` float32 CHW;
* per photo a hash lookup in SQLite (rename detection), batches of 8 to one fp32 ONNX Runtime
  session with ``intra_op_num_threads = len(sched_getaffinity)`` (default options otherwise);
* vectors L2-normalised, stored as float32 BLOBs in an ``images`` table (one upsert per photo,
  one commit at the end).

EXIF orientation is not applied (rclip does not). Prints one JSON line: photos, seconds
(indexing loop only), load_seconds (model), rate.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - types only
    import numpy as np

IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".heic")
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def open_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path))
    conn.execute(
        "CREATE TABLE IF NOT EXISTS images (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "deleted BOOLEAN, filepath TEXT NOT NULL UNIQUE, modified_at DATETIME NOT NULL, "
        "size INTEGER NOT NULL, vector BLOB NOT NULL, indexing BOOLEAN, hash TEXT)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS hash_index ON images(hash) WHERE deleted IS NULL")
    conn.commit()
    return conn


def file_hash(path: str) -> str:
    """rclip's rename fingerprint: SHA-256 of the first 1 MB and the last 1 KB."""
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        hasher.update(fh.read(1024 * 1024))
        if fh.seek(0, 2) > 1024:
            fh.seek(-1024, 2)
            hasher.update(fh.read(1024))
    return hasher.hexdigest()


def walk(root: str):  # -> Iterator[os.DirEntry]
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False):
            yield from walk(entry.path)
        elif entry.name.lower().endswith(IMAGE_EXT):
            yield entry


def make_loader(size: int, interpolation: str):  # -> Callable[[str], tuple[str, np.ndarray]]
    import numpy as np
    from PIL import Image

    mean = np.asarray(MEAN, dtype=np.float32)
    std = np.asarray(STD, dtype=np.float32)
    resample = Image.Resampling[interpolation.upper()]

    def load(path: str) -> tuple[str, np.ndarray]:
        digest = file_hash(path)
        image = Image.open(path)
        image.draft("RGB", (size, size))
        image = image.convert("RGB")
        w, h = image.size
        if w < h:
            new_w, new_h = size, int(h * size / w)
        else:
            new_w, new_h = int(w * size / h), size
        image = image.resize((new_w, new_h), resample)
        left = round((new_w - size) / 2.0)
        top = round((new_h - size) / 2.0)
        image = image.crop((left, top, left + size, top + size))
        arr = np.asarray(image, dtype=np.float32) / np.float32(255.0)
        return digest, ((arr - mean) / std).transpose(2, 0, 1)

    return load


def run(photos: str, model_dir: Path, db_path: Path, batch_size: int = 8,
        lookahead_batches: int = 3) -> dict[str, float]:
    import numpy as np
    import onnxruntime as ort

    t0 = time.perf_counter()
    cfg = json.loads((model_dir / "visual" / "preprocess_cfg.json").read_text())
    size = cfg.get("size", 224)
    size = int(size[0] if isinstance(size, list) else size)
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)))
    session = ort.InferenceSession(
        str(model_dir / "visual" / "model.onnx"), sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    input_name = session.get_inputs()[0].name
    load_seconds = time.perf_counter() - t0
    conn = open_db(db_path)
    loader = make_loader(size, cfg.get("interpolation", "bicubic"))
    workers = max(1, min(16, os.cpu_count() or 1))
    pool = ThreadPoolExecutor(workers)
    started = time.perf_counter()

    def changed() -> Iterator[tuple[str, float, int]]:
        """Paths whose (mtime, size) differ from the database, looked up 512 at a time."""
        entries = walk(photos)
        while group := list(itertools.islice(entries, 512)):
            metas = {e.path: e.stat() for e in group}
            marks = ",".join("?" * len(metas))
            known = {row[0]: (row[1], row[2]) for row in conn.execute(
                f"SELECT filepath, modified_at, size FROM images WHERE filepath IN ({marks})",
                list(metas))}
            for path, st in metas.items():
                if known.get(path) != (st.st_mtime, st.st_size):
                    yield path, st.st_mtime, st.st_size

    def loaded() -> Iterator[tuple[str, float, int, str, np.ndarray]]:
        """Decoded photos as each completes, keeping ``lookahead_batches`` batches in flight."""
        items = changed()
        in_flight: dict[Future, tuple[str, float, int]] = {}

        def submit_next() -> None:
            item = next(items, None)
            if item is not None:
                in_flight[pool.submit(loader, item[0])] = item

        for _ in range(max(lookahead_batches * batch_size, workers)):
            submit_next()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                path, mtime, fsize = in_flight.pop(future)
                submit_next()
                digest, pixels = future.result()
                yield path, mtime, fsize, digest, pixels

    stored = 0
    batch: list[tuple[str, float, int, str, np.ndarray]] = []

    def flush() -> int:
        feats = session.run(None, {input_name: np.stack([b[4] for b in batch])})[0]
        feats = feats.astype(np.float32)
        feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
        for (path, mtime, fsize, digest, _), vec in zip(batch, feats, strict=True):
            conn.execute(
                "INSERT INTO images(deleted, indexing, filepath, modified_at, size, vector, hash) "
                "VALUES (NULL, NULL, ?, ?, ?, ?, ?) ON CONFLICT(filepath) DO UPDATE SET "
                "deleted=NULL, indexing=NULL, modified_at=excluded.modified_at, "
                "size=excluded.size, vector=excluded.vector, hash=excluded.hash",
                (path, mtime, fsize, vec.tobytes(), digest),
            )
        count = len(batch)
        batch.clear()
        return count

    for item in loaded():
        conn.execute("SELECT * FROM images WHERE hash = ? AND size = ? AND deleted IS NULL",
                     (item[3], item[2])).fetchall()  # rename detection (no hits in a fresh run)
        batch.append(item)
        if len(batch) >= batch_size:
            stored += flush()
    if batch:
        stored += flush()
    conn.commit()
    seconds = time.perf_counter() - started
    pool.shutdown()
    count = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    conn.close()
    return {"photos": stored, "stored": count, "seconds": seconds,
            "load_seconds": load_seconds, "rate": stored / seconds if seconds else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="rclip-design indexing baseline")
    parser.add_argument("photos")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args(argv)
    result = run(args.photos, args.model, args.db, batch_size=args.batch)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
