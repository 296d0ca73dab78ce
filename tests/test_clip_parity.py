"""The production ``onnx-clip`` backend reproduces open_clip/torch on the tiny real-architecture CLIP.

``tests/models/tiny_clip`` (open_clip's CLIP classes, random weights, exported by the project's
export tool) and ``tiny_clip_reference.json`` (torch embeddings of ``tests/data/natural`` photos
and captions) are made by ``scripts/make_test_models.py``. Unlike ``test_export_parity.py``,
which checks the export with its own small helpers, this file drives the code users run:
``OnnxClipBackend.prepare_image`` / ``embed_images`` / ``embed_texts`` and ``TextTokenizer``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

TESTS = Path(__file__).resolve().parent
TINY = TESTS / "models" / "tiny_clip"
REFERENCE = TESTS / "models" / "tiny_clip_reference.json"
NATURAL = TESTS / "data" / "natural"
COSINE_MIN = 0.9999


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture
def backend():
    from huisou.plugins.clip_search.backend import OnnxClipBackend

    b = OnnxClipBackend(str(TINY), precision="fp32", threads=1)
    yield b
    b.release()


def _photo(name: str) -> Image.Image:
    """As the reference decoded it: EXIF orientation applied (the decode plugin's job)."""
    with Image.open(NATURAL / name) as im:
        return ImageOps.exif_transpose(im)


def test_images_match_torch(backend, reference):
    names = sorted(reference["images"])
    assert len(names) >= 5
    prepared = [backend.prepare_image(_photo(n)) for n in names]
    got = backend.embed_images(prepared)
    want = np.asarray([reference["images"][n] for n in names], dtype=np.float32)
    cos = np.sum(got * want, axis=1)
    worst = names[int(np.argmin(cos))]
    assert cos.min() > COSINE_MIN, f"{worst}: cosine {cos.min():.6f}"
    assert got.dtype == np.float32 and got.shape == (len(names), backend.dimensions)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_batching_does_not_change_vectors(backend, reference):
    names = sorted(reference["images"])[:4]
    prepared = [backend.prepare_image(_photo(n)) for n in names]
    batched = backend.embed_images(prepared)
    single = np.concatenate([backend.embed_images([p]) for p in prepared])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_texts_match_torch(backend, reference):
    texts = [t for t in reference["texts"] if t.strip()]
    assert len(texts) >= 10
    got = backend.embed_texts(texts)
    want = np.asarray([reference["texts"][t] for t in texts], dtype=np.float32)
    cos = np.sum(got * want, axis=1)
    assert cos.min() > COSINE_MIN, f"{texts[int(np.argmin(cos))]!r}: cosine {cos.min():.6f}"


def test_token_ids_match_open_clip(backend, reference):
    tok = backend.tokenizer()
    checked = 0
    for text, ids in reference["token_ids"].items():
        if not text.strip():
            continue
        got, mask = tok.encode([text])
        want = (ids + [tok.pad_id] * tok.context_length)[: tok.context_length]
        assert got[0].tolist() == want, text
        assert int(mask[0].sum()) == min(len(ids), tok.context_length)
        checked += 1
    assert checked >= 10


def test_cross_modal_similarities_match_torch(backend, reference):
    """The image-text score matrix (what search ranks by) agrees with torch's."""
    names = sorted(reference["images"])
    texts = [t for t in reference["texts"] if t.strip()]
    img = backend.embed_images([backend.prepare_image(_photo(n)) for n in names])
    txt = backend.embed_texts(texts)
    ref_img = np.asarray([reference["images"][n] for n in names], dtype=np.float32)
    ref_txt = np.asarray([reference["texts"][t] for t in texts], dtype=np.float32)
    np.testing.assert_allclose(img @ txt.T, ref_img @ ref_txt.T, atol=2e-3)


def test_int8_stays_close(tmp_path, reference):
    """Quantized tiny model runs and stays close to the torch reference (cosine reported)."""
    pytest.importorskip("onnx")
    import shutil

    from huisou.plugins.clip_search.backend import OnnxClipBackend
    from huisou.plugins.clip_search.modeldir import ModelDir
    from huisou.plugins.clip_search.quantize import quantize_model

    model = tmp_path / "tiny_clip"
    shutil.copytree(TINY, model)
    record = quantize_model(ModelDir.open(model))
    b = OnnxClipBackend(str(model), precision="int8", threads=1)
    names = sorted(reference["images"])
    got = b.embed_images([b.prepare_image(_photo(n)) for n in names])
    want = np.asarray([reference["images"][n] for n in names], dtype=np.float32)
    cos_img = np.sum(got * want, axis=1)
    texts = [t for t in reference["texts"] if t.strip()]
    cos_txt = np.sum(
        b.embed_texts(texts) * np.asarray([reference["texts"][t] for t in texts]), axis=1
    )
    print(f"int8 vs torch fp32: image min {cos_img.min():.5f} mean {cos_img.mean():.5f}; "
          f"text min {cos_txt.min():.5f} mean {cos_txt.mean():.5f}; record {record['checks']}")
    assert cos_img.min() > 0.99 and cos_txt.min() > 0.99
    assert cos_img.min() < 0.999999  # really a different (quantized) graph, not the fp32 one
