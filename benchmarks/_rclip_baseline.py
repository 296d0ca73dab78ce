#!/usr/bin/env python3
"""An rclip-4.x-design indexer, run as its own process by ``indexing.py``.

Why a re-implementation: rclip 4.x needs Python >= 3.12 and its own ViT-B-32-256 download;
this file reproduces its *design* on the same model directory huisou uses, so the comparison
isolates the pipeline, not the model. What it does, as rclip 4.x does:

* walk the tree (``os.scandir``), ``stat`` each photo and look it up in SQLite one by one;
* batches of 8 paths; each batch is loaded by 2 loader threads (``Image.open`` +
  ``Image.draft("RGB", (size, size))`` JPEG reduced decode, ``convert("RGB")``, shortest-side
  bicubic resize, centre crop, ``(x/255 - mean)/std`` float32 CHW), then encoded;
* one fp32 ONNX Runtime session with 2 intra-op threads;
* vectors L2-normalised, stored as float32 BLOBs in an ``images`` table (one upsert per photo,
  one commit at the end).

Decode and encode do not overlap (the loader pool is waited for per batch), which is rclip's
structure. EXIF orientation is not applied (rclip does not). Prints one JSON line: photos,
seconds (indexing loop only), load_seconds (model), rate.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".heic")
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def open_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path))
    conn.execute(
        "CREATE TABLE IF NOT EXISTS images (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "deleted BOOLEAN, filepath TEXT NOT NULL UNIQUE, modified_at DATETIME NOT NULL, "
        "size INTEGER NOT NULL, vector BLOB NOT NULL, indexing BOOLEAN)"
    )
    conn.commit()
    return conn


def walk(root: str):  # -> Iterator[os.DirEntry]
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False):
            yield from walk(entry.path)
        elif entry.name.lower().endswith(IMAGE_EXT):
            yield entry


def make_loader(size: int, interpolation: str):  # -> Callable[[str], np.ndarray]
    import numpy as np
    from PIL import Image

    mean = np.asarray(MEAN, dtype=np.float32)
    std = np.asarray(STD, dtype=np.float32)
    resample = Image.Resampling[interpolation.upper()]

    def load(path: str) -> np.ndarray:
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
        return ((arr - mean) / std).transpose(2, 0, 1)

    return load


def run(photos: str, model_dir: Path, db_path: Path, batch_size: int = 8,
        loader_threads: int = 2, onnx_threads: int = 2) -> dict[str, float]:
    import numpy as np
    import onnxruntime as ort

    t0 = time.perf_counter()
    cfg = json.loads((model_dir / "visual" / "preprocess_cfg.json").read_text())
    size = cfg.get("size", 224)
    size = int(size[0] if isinstance(size, list) else size)
    options = ort.SessionOptions()
    options.intra_op_num_threads = onnx_threads
    session = ort.InferenceSession(
        str(model_dir / "visual" / "model.onnx"), sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    input_name = session.get_inputs()[0].name
    load_seconds = time.perf_counter() - t0
    conn = open_db(db_path)
    loader = make_loader(size, cfg.get("interpolation", "bicubic"))
    pool = ThreadPoolExecutor(loader_threads)
    done = 0
    started = time.perf_counter()

    def index_batch(paths: list[str], metas: list[tuple[float, int]]) -> int:
        images = list(pool.map(loader, paths))
        feats = session.run(None, {input_name: np.stack(images)})[0].astype(np.float32)
        feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
        for path, (mtime, fsize), vec in zip(paths, metas, feats, strict=True):
            conn.execute(
                "INSERT INTO images(deleted, indexing, filepath, modified_at, size, vector) "
                "VALUES (0, 0, ?, ?, ?, ?) ON CONFLICT(filepath) DO UPDATE SET deleted=0, "
                "indexing=0, modified_at=excluded.modified_at, size=excluded.size, "
                "vector=excluded.vector",
                (path, mtime, fsize, vec.tobytes()),
            )
        return len(paths)

    batch: list[str] = []
    metas: list[tuple[float, int]] = []
    for entry in walk(photos):
        st = entry.stat()
        row = conn.execute(
            "SELECT modified_at, size FROM images WHERE filepath = ?", (entry.path,)
        ).fetchone()
        if row and row[0] == st.st_mtime and row[1] == st.st_size:
            continue
        batch.append(entry.path)
        metas.append((st.st_mtime, st.st_size))
        if len(batch) >= batch_size:
            done += index_batch(batch, metas)
            batch, metas = [], []
    if batch:
        done += index_batch(batch, metas)
    conn.commit()
    seconds = time.perf_counter() - started
    pool.shutdown()
    count = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    conn.close()
    return {"photos": done, "stored": count, "seconds": seconds,
            "load_seconds": load_seconds, "rate": done / seconds if seconds else 0.0}


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
