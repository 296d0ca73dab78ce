"""The ONNX pipeline reproduces open_clip/torch, without torch.

``tests/models/tiny_clip`` is open_clip's real CLIP architecture with random weights, exported by
``huisou.plugins.clip_search.export``; ``tiny_clip_reference.json`` holds the embeddings torch
computed for the photos in ``tests/data/natural`` and their English captions (see
``scripts/make_test_models.py``). Here only onnxruntime, numpy, Pillow and tokenizers run, with
small self-contained helpers that follow open_clip step by step. If these tests pass, real
weights loaded the same way give real results.

``tests/models/toy_shapes`` is a tiny CLIP trained on coloured shapes; it must rank red circles
first for "red circle" over a folder of freshly generated pictures.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

ort = pytest.importorskip("onnxruntime")
tokenizers = pytest.importorskip("tokenizers")

TESTS = Path(__file__).resolve().parent
MODELS = TESTS / "models"
TINY = MODELS / "tiny_clip"
TOY = MODELS / "toy_shapes"
NATURAL = TESTS / "data" / "natural"
COSINE_MIN = 0.9999

_PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


# --------------------------------------------------------------------------- helpers


def load_photo(path: Path) -> Image.Image:
    """Decode as the reference did: EXIF orientation applied, then RGB (before any resize)."""
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def resized_size_shortest(width: int, height: int, size: int) -> tuple[int, int]:
    """torchvision ``Resize(int)`` output size: short side = size, long side *truncated*.

    torchvision computes ``int(size * long / short)``: 640x427 -> 95x64, not round()'s 96x64.
    """
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def center_crop_box(width: int, height: int, crop_w: int, crop_h: int) -> tuple[int, ...]:
    """torchvision ``CenterCrop`` box: offsets use Python ``round`` (half to even)."""
    top = int(round((height - crop_h) / 2.0))
    left = int(round((width - crop_w) / 2.0))
    return (left, top, left + crop_w, top + crop_h)


def clip_preprocess(
    img: Image.Image,
    cfg: dict[str, Any],
    *,
    output_size: Callable[[int, int, int], tuple[int, int]] = resized_size_shortest,
    crop_box: Callable[[int, int, int, int], tuple[int, ...]] = center_crop_box,
) -> np.ndarray:
    """open_clip's eval transform for a PIL image, in Pillow + numpy: float32 [3, H, W].

    ``resize_mode`` "shortest" with a square target is torchvision ``Resize(size)`` (Pillow
    resize, which always antialiases) + ``CenterCrop``; "squash" resizes straight to [H, W].
    Then ``ToTensor`` (/255) and ``Normalize`` in float32. ``output_size``/``crop_box`` exist
    only so the negative-control test can inject plausible mistakes.
    """
    height, width = cfg["size"]
    resample = _PIL_FILTERS[cfg.get("interpolation", "bicubic")]
    mode = cfg.get("resize_mode", "shortest")
    img = img.convert(cfg.get("mode", "RGB"))
    if mode == "squash":
        img = img.resize((width, height), resample)
    elif mode == "shortest":
        if height != width:
            pytest.skip("non-square shortest-side resize (ResizeKeepRatio) not replicated here")
        new_size = output_size(img.width, img.height, height)
        if new_size != img.size:
            img = img.resize(new_size, resample)
        img = img.crop(crop_box(img.width, img.height, width, height))
    else:
        pytest.skip(f"resize_mode {mode!r} not replicated here")
    x = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    mean = np.asarray(cfg["mean"], dtype=np.float32)
    std = np.asarray(cfg["std"], dtype=np.float32)
    return ((x - mean) / std).transpose(2, 0, 1)


def load_tokenizer(model_dir: Path) -> Any:
    """tokenizer.json with truncation and padding as tokenizer_config.json / config.json say.

    open_clip pads with id 0 (token "!"), not with <|endoftext|> like HF's CLIPTokenizerFast;
    the pad id is looked up from the pad token, as a runtime loading any model would.
    """
    tok = tokenizers.Tokenizer.from_file(str(model_dir / "textual" / "tokenizer.json"))
    tok_cfg = json.loads((model_dir / "textual" / "tokenizer_config.json").read_text())
    config = json.loads((model_dir / "config.json").read_text())
    context_length = int(config["text_cfg"].get("context_length", 77))
    pad_token = tok_cfg["pad_token"]
    pad_id = tok.token_to_id(pad_token)
    assert pad_id is not None, pad_token
    tok.enable_truncation(max_length=context_length)
    tok.enable_padding(length=context_length, pad_id=pad_id, pad_token=pad_token)
    return tok


def tokenize(tok: Any, texts: list[str]) -> np.ndarray:
    """int32 [batch, context_length] ids: the textual graph's input dtype (as Immich feeds)."""
    return np.asarray([e.ids for e in tok.encode_batch(texts)], dtype=np.int32)


def l2n(x: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation (the graphs return unnormalised embeddings)."""
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


class Clip:
    """Both towers of a model directory through onnxruntime."""

    def __init__(self, model_dir: Path) -> None:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.visual = ort.InferenceSession(
            str(model_dir / "visual" / "model.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        self.textual = ort.InferenceSession(
            str(model_dir / "textual" / "model.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        self.pp_cfg = json.loads((model_dir / "visual" / "preprocess_cfg.json").read_text())
        self.tok = load_tokenizer(model_dir)

    def images(self, imgs: list[Image.Image]) -> np.ndarray:
        """Normalised image embeddings."""
        batch = np.stack([clip_preprocess(im, self.pp_cfg) for im in imgs])
        return l2n(self.visual.run(None, {"image": batch})[0])

    def texts(self, texts: list[str]) -> np.ndarray:
        """Normalised text embeddings."""
        return l2n(self.textual.run(None, {"text": tokenize(self.tok, texts)})[0])


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """Torch reference embeddings and token ids for the tiny model."""
    return json.loads((MODELS / "tiny_clip_reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tiny() -> Clip:
    """The tiny random-weight real-architecture CLIP."""
    return Clip(TINY)


# --------------------------------------------------------------------------- tiny_clip


def test_model_dir_layout() -> None:
    """The exported directory has the Immich layout and graph signatures."""
    for rel in (
        "config.json",
        "textual/model.onnx",
        "textual/tokenizer.json",
        "textual/tokenizer_config.json",
        "visual/model.onnx",
        "visual/preprocess_cfg.json",
    ):
        assert (TINY / rel).is_file(), rel
    clip = Clip(TINY)
    (vin,) = clip.visual.get_inputs()
    (tin,) = clip.textual.get_inputs()
    assert vin.name == "image" and vin.type == "tensor(float)"
    assert tin.name == "text" and tin.type == "tensor(int32)"
    assert isinstance(vin.shape[0], str) and isinstance(tin.shape[0], str)  # dynamic batch
    assert tin.shape[1] == 77
    pp = clip.pp_cfg
    assert set(pp) >= {"size", "mode", "mean", "std", "interpolation", "resize_mode"}


def test_tokenizer_matches_open_clip(reference: dict[str, Any]) -> None:
    """tokenizer.json gives open_clip.tokenize's ids (zero padded) for every stored string."""
    tok = load_tokenizer(TINY)
    bad = []
    for text, ids in reference["token_ids"].items():
        want = ids + [0] * (77 - len(ids))
        got = tok.encode(text).ids
        if got != want:
            bad.append(text)
    assert not bad, f"{len(bad)} strings tokenized differently: {bad[:5]}"
    assert len(reference["token_ids"]) >= 30


def test_text_embeddings_match_torch(tiny: Clip, reference: dict[str, Any]) -> None:
    """Every caption's ONNX embedding has cosine > 0.9999 with torch's."""
    texts = list(reference["texts"])
    got = tiny.texts(texts)
    want = np.asarray([reference["texts"][t] for t in texts], dtype=np.float32)
    cos = (got * want).sum(1)
    assert cos.min() > COSINE_MIN, dict(zip(texts, cos.round(6), strict=True))


def test_image_embeddings_match_torch(tiny: Clip, reference: dict[str, Any]) -> None:
    """Every photo's ONNX embedding (Pillow + numpy preprocessing) has cosine > 0.9999."""
    names = sorted(reference["images"])
    got = tiny.images([load_photo(NATURAL / n) for n in names])
    want = np.asarray([reference["images"][n] for n in names], dtype=np.float32)
    cos = (got * want).sum(1)
    assert cos.min() > COSINE_MIN, dict(zip(names, cos.round(6), strict=True))


def test_batch_size_does_not_change_results(tiny: Clip) -> None:
    """Dynamic batch: one-by-one and batched embeddings agree."""
    names = sorted(p.name for p in NATURAL.iterdir() if p.suffix in (".png", ".jpg"))[:4]
    imgs = [load_photo(NATURAL / n) for n in names]
    batched = tiny.images(imgs)
    single = np.concatenate([tiny.images([im]) for im in imgs])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    texts = ["a cat", "a dog on the grass", "x"]
    np.testing.assert_allclose(
        tiny.texts(texts), np.concatenate([tiny.texts([t]) for t in texts]), atol=1e-5
    )


def test_parity_check_is_sensitive(tiny: Clip, reference: dict[str, Any]) -> None:
    """Negative control: plausible preprocessing mistakes fall below the 0.9999 bar.

    Without this, a random model whose embeddings barely depend on the pixels could pass the
    parity test with wrong preprocessing.
    """
    names = sorted(reference["images"])
    want = np.asarray([reference["images"][n] for n in names], dtype=np.float32)
    imgs = [load_photo(NATURAL / n) for n in names]

    def cosines(cfg: dict[str, Any], **kwargs: Any) -> np.ndarray:
        batch = np.stack([clip_preprocess(im, cfg, **kwargs) for im in imgs])
        return (l2n(tiny.visual.run(None, {"image": batch})[0]) * want).sum(1)

    for wrong in ({"interpolation": "bilinear"}, {"resize_mode": "squash"}):
        assert cosines({**tiny.pp_cfg, **wrong}).min() < COSINE_MIN, wrong

    def rounded_size(width: int, height: int, size: int) -> tuple[int, int]:
        # round() instead of torchvision's int(): 640x427 -> 96x64 instead of 95x64.
        if width <= height:
            return size, round(size * height / width)
        return round(size * width / height), size

    def floor_crop(width: int, height: int, crop_w: int, crop_h: int) -> tuple[int, ...]:
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        return (left, top, left + crop_w, top + crop_h)

    assert cosines(tiny.pp_cfg, output_size=rounded_size).min() < COSINE_MIN
    assert cosines(tiny.pp_cfg, crop_box=floor_crop).min() < COSINE_MIN
    # Captions: the right words in the wrong order must not match either.
    texts = list(reference["texts"])[:5]
    swapped = [" ".join(reversed(t.split())) for t in texts]
    got = tiny.texts(swapped)
    assert ((got * np.asarray([reference["texts"][t] for t in texts])).sum(1) < COSINE_MIN).all()


# --------------------------------------------------------------------------- toy_shapes


def _load_shapes() -> Any:
    """tests/models/shapes.py, imported by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("huisou_test_shapes", MODELS / "shapes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shape_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[str]]:
    """A folder of JPEG shape photos (seeds never used in training), and their classes."""
    shapes = _load_shapes()
    folder = tmp_path_factory.mktemp("shapes")
    paths, labels = [], []
    for color, shape in shapes.all_classes():
        for i in range(4):
            path = folder / f"{color}_{shape}_{i}.jpg"
            shapes.make_shape_image(color, shape, 128, 5_000_000 + i).save(path, quality=90)
            paths.append(path)
            labels.append(f"{color} {shape}")
    return paths, labels


def test_toy_model_ranks_red_circles_first(shape_folder: tuple[list[Path], list[str]]) -> None:
    """Query "red circle" puts all red circles on top; "blue square" all blue squares."""
    paths, labels = shape_folder
    clip = Clip(TOY)
    img = clip.images([load_photo(p) for p in paths])
    for query in ("red circle", "blue square", "a yellow triangle"):
        target = query.removeprefix("a ")
        scores = img @ clip.texts([query])[0]
        order = np.argsort(-scores)
        n = labels.count(target)
        top = [labels[i] for i in order[:n]]
        assert top == [target] * n, (query, top)


def test_toy_model_top1_over_all_classes(shape_folder: tuple[list[Path], list[str]]) -> None:
    """Top-1 retrieval is right for at least 90% of the colour+shape queries."""
    paths, labels = shape_folder
    clip = Clip(TOY)
    img = clip.images([load_photo(p) for p in paths])
    queries = sorted(set(labels))
    txt = clip.texts(queries)
    hits = [labels[int(np.argmax(img @ q))] == name for name, q in zip(queries, txt, strict=True)]
    assert np.mean(hits) >= 0.9, dict(zip(queries, hits, strict=True))


def test_export_package_imports_without_torch() -> None:
    """The export tool is importable where torch is absent (it imports torch lazily)."""
    import subprocess
    import sys

    code = (
        "import sys, huisou.plugins.clip_search.export as e; "
        "assert callable(e.run_export); "
        "heavy = {'torch', 'open_clip', 'onnx'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if "No module named 'huisou'" in result.stderr:
        pytest.skip("huisou is not installed in this interpreter")
    assert result.returncode == 0, result.stderr
