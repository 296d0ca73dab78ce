"""Preprocessing from preprocess_cfg.json: torchvision's resize/crop arithmetic, modes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from huisou.core.errors import HuisouError
from huisou.plugins.clip_search.preprocess import (
    PreprocessConfig,
    preprocess,
    resize_crop,
    to_rgb,
)
from PIL import Image


def _gradient(width: int, height: int) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], -1).astype(np.uint8))


def test_config_parsing_int_or_list_and_defaults():
    cfg = PreprocessConfig.from_json({"size": [224, 224]})
    assert cfg.size == 224 and cfg.resize_mode == "shortest" and cfg.interpolation == "bicubic"
    assert PreprocessConfig.from_json({"size": 256, "interpolation": "BILINEAR"}).size == 256
    assert PreprocessConfig.from_json({}, default_size=64).size == 64
    with pytest.raises(HuisouError, match="resize_mode 'longest'"):
        PreprocessConfig.from_json({"size": 64, "resize_mode": "longest"})
    with pytest.raises(HuisouError, match="interpolation 'cubic-ish'"):
        PreprocessConfig.from_json({"size": 64, "interpolation": "cubic-ish"})


@pytest.mark.parametrize(
    ("size", "resized", "box"),
    [
        # 640x427 -> long side int(64*640/427)=95 (truncated, not 96); left=round(15.5)=16 (even)
        ((640, 427), (95, 64), (16, 0, 80, 64)),
        # 427x640 -> 64x95, top=16
        ((427, 640), (64, 95), (0, 16, 64, 80)),
        # 300x200 -> 96x64, left=round(16.0)=16
        ((300, 200), (96, 64), (16, 0, 80, 64)),
        # 130x100 -> 83x64: left = round(9.5) = 10 (half to even); Immich's int() would give 9
        ((130, 100), (83, 64), (10, 0, 74, 64)),
    ],
)
def test_shortest_matches_torchvision_arithmetic(size, resized, box):
    img = _gradient(*size)
    cfg = PreprocessConfig(size=64)
    expected = img.resize(resized, Image.Resampling.BICUBIC).crop(box)
    got = resize_crop(img, cfg)
    assert got.size == (64, 64)
    # resize_crop resizes only the kept box; fixed-point rounding may differ by one level.
    diff = np.abs(np.asarray(got, dtype=np.int16) - np.asarray(expected, dtype=np.int16))
    assert diff.max() <= 1 and diff.mean() < 0.01


def test_box_resize_matches_resize_then_crop_on_photos():
    """The box shortcut vs the literal torchvision order, on real photos at their draft size."""
    from pathlib import Path

    natural = Path(__file__).parent / "data" / "natural"
    photos = sorted(p for p in natural.iterdir() if p.suffix in (".jpg", ".png"))
    assert len(photos) >= 10
    cfg = PreprocessConfig(size=224)
    for path in photos:
        with Image.open(path) as im:
            im.draft("RGB", (336, 336))  # a JPEG comes at its reduced size, as indexed
            img = im.convert("RGB")
        width, height = img.size
        if width <= height:
            resized = (224, int(224 * height / width))
        else:
            resized = (int(224 * width / height), 224)
        left, top = round((resized[0] - 224) / 2.0), round((resized[1] - 224) / 2.0)
        expected = img.resize(resized, Image.Resampling.BICUBIC).crop(
            (left, top, left + 224, top + 224)
        )
        got = np.asarray(resize_crop(img, cfg), dtype=np.int16)
        diff = np.abs(got - np.asarray(expected, dtype=np.int16))
        assert diff.max() <= 1 and diff.mean() < 0.01, path.name


def test_squash_ignores_aspect():
    img = _gradient(120, 40)
    got = resize_crop(img, PreprocessConfig(size=32, resize_mode="squash", interpolation="bilinear"))
    want = img.resize((32, 32), Image.Resampling.BILINEAR)
    assert np.array_equal(np.asarray(got), np.asarray(want))


def test_normalised_chw_float32():
    cfg = PreprocessConfig(size=8, mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 1.0))
    arr = preprocess(Image.new("RGB", (8, 8), (255, 0, 51)), cfg)
    assert arr.shape == (3, 8, 8) and arr.dtype == np.float32
    np.testing.assert_allclose(arr[:, 0, 0], [1.0, -1.0, 0.2], atol=1e-6)
    raw = preprocess(Image.new("RGB", (8, 8), (255, 0, 51)), cfg, layout="nhwc_uint8")
    assert raw.shape == (8, 8, 3) and raw.dtype == np.uint8 and raw[0, 0].tolist() == [255, 0, 51]


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "CMYK", "P", "I;16", "I", "F", "1", "YCbCr"])
def test_any_mode_becomes_8bit_rgb(mode):
    img = _gradient(40, 30).convert(mode) if mode not in ("I;16", "I", "F") else None
    if img is None:
        data = (np.linspace(0, 65535, 40 * 30).reshape(30, 40)).astype(np.uint16)
        img = Image.fromarray(data)
        if mode != "I;16":
            img = img.convert(mode)
    rgb = to_rgb(img)
    assert rgb.mode == "RGB" and rgb.size == (40, 30)
    if mode in ("I;16", "I", "F"):  # 16-bit range scaled, not clipped to white
        values = np.asarray(rgb)[..., 0]
        assert values.min() <= 1 and values.max() >= 254 and 100 < values.mean() < 155


def test_palette_with_transparency_uses_rgba_route():
    img = Image.new("P", (10, 10), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.info["transparency"] = 1
    assert to_rgb(img).getpixel((0, 0)) == (255, 0, 0)


def test_normalize_matches_the_reference_formula():
    """x*a+b in float32 vs open_clip's (x/255 - mean)/std in float64, every 8-bit value."""
    from huisou.plugins.clip_search.preprocess import normalize

    cfg = PreprocessConfig(size=16)
    pixels = np.arange(256 * 3, dtype=np.int64).reshape(16, 16, 3) % 256
    pixels = pixels.astype(np.uint8)[None]
    got = normalize(pixels, cfg)
    want = ((pixels / 255.0 - np.asarray(cfg.mean)) / np.asarray(cfg.std)).transpose(0, 3, 1, 2)
    assert got.dtype == np.float32 and got.shape == (1, 3, 16, 16) and got.flags.c_contiguous
    assert np.abs(got - want).max() < 2e-6
