#!/usr/bin/env python3
"""Generate realistic benchmark photos (cached outside the repository).

Why not flat colours: JPEG decode cost grows with the entropy of the file, so a photo that
compresses to 200 KB decodes several times faster than a real 12 MP camera JPEG (3-6 MB).
Each photo here is a smooth colour field (large gradients, like sky and walls), mid-frequency
texture (foliage, fabric), sharp-edged shapes and per-pixel sensor noise, saved at quality 92
with 4:2:0 chroma subsampling, as cameras and phones do. Each file has EXIF
DateTimeOriginal, Make, Model and Orientation (one in five is a rotated portrait, 6), so the
EXIF and orientation code paths run too.

Sets (``~/.cache/huisou-bench/photos/<set>-<n>/``):

* ``12mp``: 4000x3000, about 3-6 MB each (a camera or a recent phone's main sensor);
* ``phone``: 1600x1200, about 0.6-1 MB (messaging-app copies, older phones);
* ``smoke``: 640x480, for CI.

Usage::

    python benchmarks/photos.py --set 12mp --count 48
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_util import cache_dir  # noqa: E402

SETS: dict[str, tuple[int, int]] = {"12mp": (4000, 3000), "phone": (1600, 1200),
                                    "smoke": (640, 480)}
CAMERAS = (("Canon", "Canon EOS R6"), ("SONY", "ILCE-7M3"), ("Google", "Pixel 8"),
           ("Apple", "iPhone 15 Pro"), ("Xiaomi", "23078PND5G"), ("FUJIFILM", "X-T4"))
QUALITY = 92
VERSION = 1  # bump when the generator changes, so old caches are not reused


def make_photo(index: int, size: tuple[int, int], seed: int = 0) -> Any:
    """One RGB PIL image; deterministic in (index, size, seed)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng((seed, index, size[0], size[1]))
    width, height = size
    # 1. Low-frequency colour field: a tiny random image upsampled (sky, walls, lighting).
    small = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    image = Image.fromarray(small, "RGB").resize((width, height), Image.Resampling.BICUBIC)
    # 2. Mid-frequency texture: random blocks at 1/8 scale, blurred and upsampled.
    tex = rng.normal(0, 1, (max(1, height // 8), max(1, width // 8), 3)).astype(np.float32)
    tex_img = Image.fromarray(
        np.clip(128 + tex * 40, 0, 255).astype(np.uint8), "RGB"
    ).filter(ImageFilter.GaussianBlur(1.2)).resize((width, height), Image.Resampling.BILINEAR)
    # 3. Shapes with sharp edges (objects, windows, people-sized blobs).
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 14))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(width // 20, width // 3)), int(rng.integers(height // 20, height // 3))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = [x0, y0, x0 + w, y0 + h]
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(x0, y0 + h), (x0 + w // 2, y0), (x0 + w, y0 + h)], fill=colour)
    base = np.asarray(image, dtype=np.int16)
    texture = np.asarray(tex_img, dtype=np.int16) - 128
    # 4. Sensor noise: the per-pixel entropy that makes real JPEGs 3-6 MB at 12 MP.
    noise = rng.integers(-13, 14, base.shape, dtype=np.int16)
    pixels = np.clip(base + texture // 2 + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def exif_for(index: int) -> bytes:
    """EXIF block: DateTimeOriginal, Make, Model, Orientation (every 5th photo rotated, 6)."""
    from PIL import Image

    make, model = CAMERAS[index % len(CAMERAS)]
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0112] = 6 if index % 5 == 4 else 1
    day = 1 + index % 28
    month = 1 + (index // 28) % 12
    stamp = f"2024:{month:02d}:{day:02d} {8 + index % 12:02d}:{index % 60:02d}:00"
    exif[0x0132] = stamp
    exif.get_ifd(0x8769)[0x9003] = stamp
    return exif.tobytes()


def photo_set(name: str, count: int, seed: int = 0) -> Path:
    """The folder holding exactly ``count`` photos of set ``name``; generated on first use.

    Photos are generated once into a shared pool folder and hard-linked (copied where links
    are impossible) into the per-count folder, so a 48-photo run reuses a 96-photo run's files.
    """
    if name not in SETS:
        raise SystemExit(f"unknown photo set {name!r}: expected one of {', '.join(SETS)}")
    base = cache_dir() / "photos"
    folder = base / f"{name}-v{VERSION}-s{seed}-{count}"
    pool = base / f"{name}-v{VERSION}-s{seed}-pool"
    folder.mkdir(parents=True, exist_ok=True)
    pool.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(count) if not (folder / f"IMG_{i:05d}.jpg").exists()]
    generated = 0
    started = time.monotonic()
    for i in missing:
        source = pool / f"IMG_{i:05d}.jpg"
        if not source.exists():
            tmp = source.with_suffix(".tmp")
            make_photo(i, SETS[name], seed).save(
                tmp, "JPEG", quality=QUALITY, subsampling="4:2:0", exif=exif_for(i)
            )
            os.replace(tmp, source)
            generated += 1
        target = folder / source.name
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    if generated:
        print(f"generated {generated} {name} photos in {time.monotonic() - started:.1f}s "
              f"-> {pool}", file=sys.stderr)
    return folder


def describe(folder: Path) -> dict[str, Any]:
    """Count, mean size and resolution: what the benchmark tables quote about the photos."""
    from PIL import Image

    files = sorted(folder.glob("*.jpg"))
    sizes = [f.stat().st_size for f in files]
    with Image.open(files[0]) as im:
        resolution = f"{im.width}x{im.height}"
    return {
        "folder": str(folder),
        "count": len(files),
        "resolution": resolution,
        "mean_mb": round(sum(sizes) / len(sizes) / 1e6, 2) if sizes else 0.0,
        "min_mb": round(min(sizes) / 1e6, 2) if sizes else 0.0,
        "max_mb": round(max(sizes) / 1e6, 2) if sizes else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate realistic benchmark JPEGs")
    parser.add_argument("--set", default="12mp", choices=sorted(SETS))
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="8 small photos (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.set, args.count = "smoke", 8
    folder = photo_set(args.set, args.count, args.seed)
    print(json.dumps(describe(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
