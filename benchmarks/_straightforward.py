#!/usr/bin/env python3
"""The straightforward pipeline issue 12 compares huisou against, run as its own process.

What a first implementation does: one photo at a time, a full decode (``Image.open``,
orientation, RGB; no JPEG draft), the model's own preprocessing (squash or shortest-side crop,
bicubic, mean/std, from ``visual/preprocess_cfg.json``), one ONNX Runtime call with default
session options, the vector into SQLite; decode and inference never overlap. Same model
files as huisou (``--precision`` picks ``model.onnx`` or ``model_int8.onnx``). Prints one JSON
line: ``{"stored": n, "seconds": s}``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path


def preprocess(image, cfg: dict):  # -> np.ndarray [1, 3, S, S]
    import numpy as np
    from PIL import Image

    size = cfg["size"][0] if isinstance(cfg["size"], list) else cfg["size"]
    if cfg.get("resize_mode") == "squash":
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    else:
        scale = size / min(image.size)
        image = image.resize((max(size, round(image.width * scale)),
                              max(size, round(image.height * scale))), Image.Resampling.BICUBIC)
        left, top = (image.width - size) // 2, (image.height - size) // 2
        image = image.crop((left, top, left + size, top + size))
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    pixels = (pixels - np.float32(cfg["mean"])) / np.float32(cfg["std"])
    return pixels.transpose(2, 0, 1)[None]


def main() -> None:
    import numpy as np
    import onnxruntime as ort
    from PIL import Image, ImageOps

    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--precision", choices=["fp32", "int8"], default="int8")
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    name = "model_int8.onnx" if args.precision == "int8" else "model.onnx"
    session = ort.InferenceSession(str(args.model / "visual" / name))
    cfg = json.loads((args.model / "visual" / "preprocess_cfg.json").read_text())
    feed = session.get_inputs()[0].name
    db = sqlite3.connect(args.db)
    db.execute("CREATE TABLE IF NOT EXISTS vectors (path TEXT PRIMARY KEY, vector BLOB)")
    stored = 0
    for path in sorted(args.folder.iterdir()):
        with Image.open(path) as image:
            rgb = ImageOps.exif_transpose(image).convert("RGB")
        vector = session.run(None, {feed: preprocess(rgb, cfg)})[0][0]
        vector = (vector / np.linalg.norm(vector)).astype(np.float32)
        db.execute("INSERT OR REPLACE INTO vectors VALUES (?, ?)", (str(path), vector.tobytes()))
        db.commit()
        stored += 1
    print(json.dumps({"stored": stored, "seconds": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
