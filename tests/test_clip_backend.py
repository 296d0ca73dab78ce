"""The ``onnx-clip`` backend: lazy separate sessions, precision rule, fingerprint, graph variants.

Graph variants (Immich's uint8 NHWC image input, batch fixed at 1, M-CLIP's ``input_ids`` +
``attention_mask``) are tiny ONNX graphs built here with ``onnx.helper`` whose outputs are
simple functions of their inputs, so the expected vectors can be computed with numpy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from huisou.core.errors import HuisouError, ModelNotAvailable
from huisou.plugins.clip_search.backend import OnnxClipBackend, choose_providers
from PIL import Image

TESTS = Path(__file__).resolve().parent
TINY = TESTS / "models" / "tiny_clip"
DIM = 8
SIZE = 16
CTX = 12


# --------------------------------------------------------------------------- graph builders


def _save(graph, path: Path) -> None:
    from onnx import helper, save

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    save(model, str(path))


def _weights(rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)


def build_model_dir(root: Path, *, image_uint8: bool = False, batch: int | str = "N",
                    mclip: bool = False, text_int64: bool = False) -> Path:
    """A model directory whose towers are ``mean(pixels) @ W`` and ``float(ids) @ V``."""
    from onnx import TensorProto, helper, numpy_helper

    w_img, w_txt = _weights(3, 1), _weights(CTX, 2)
    if image_uint8:
        image = helper.make_tensor_value_info("image", TensorProto.UINT8, [batch, SIZE, SIZE, 3])
        nodes = [helper.make_node("Cast", ["image"], ["f"], to=TensorProto.FLOAT),
                 helper.make_node("ReduceMean", ["f"], ["m"], axes=[1, 2], keepdims=0)]
    else:
        image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 3, SIZE, SIZE])
        nodes = [helper.make_node("ReduceMean", ["image"], ["m"], axes=[2, 3], keepdims=0)]
    nodes.append(helper.make_node("MatMul", ["m", "W"], ["embedding"]))
    out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, DIM])
    _save(helper.make_graph(nodes, "visual", [image], [out],
                            [numpy_helper.from_array(w_img, "W")]), root / "visual" / "model.onnx")

    int_type = TensorProto.INT64 if text_int64 else TensorProto.INT32
    if mclip:
        inputs = [helper.make_tensor_value_info("input_ids", int_type, [batch, CTX]),
                  helper.make_tensor_value_info("attention_mask", int_type, [batch, CTX])]
        nodes = [helper.make_node("Cast", ["input_ids"], ["a"], to=TensorProto.FLOAT),
                 helper.make_node("Cast", ["attention_mask"], ["b"], to=TensorProto.FLOAT),
                 helper.make_node("Mul", ["a", "b"], ["f"])]
    else:
        inputs = [helper.make_tensor_value_info("text", int_type, [batch, CTX])]
        nodes = [helper.make_node("Cast", ["text"], ["f"], to=TensorProto.FLOAT)]
    nodes.append(helper.make_node("MatMul", ["f", "V"], ["embedding"]))
    _save(helper.make_graph(nodes, "textual", inputs, [out],
                            [numpy_helper.from_array(w_txt, "V")]), root / "textual" / "model.onnx")

    shutil.copy(TINY / "textual" / "tokenizer.json", root / "textual" / "tokenizer.json")
    (root / "textual" / "tokenizer_config.json").write_text(
        json.dumps({"pad_token": "<|endoftext|>"}))
    (root / "config.json").write_text(json.dumps(
        {"embed_dim": DIM, "text_cfg": {"context_length": CTX}}))
    (root / "visual" / "preprocess_cfg.json").write_text(json.dumps(
        {"size": SIZE, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
         "interpolation": "bilinear", "resize_mode": "squash"}))
    return root


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _pictures() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    return [Image.fromarray(rng.integers(0, 256, (20 + i, 24, 3), dtype=np.uint8)) for i in range(5)]


# --------------------------------------------------------------------------- graph variants


@pytest.mark.parametrize("image_uint8", [False, True])
@pytest.mark.parametrize("batch", ["N", 1])
def test_image_input_layout_and_fixed_batch(tmp_path, image_uint8, batch):
    pytest.importorskip("onnx")
    model = build_model_dir(tmp_path / "m", image_uint8=image_uint8, batch=batch)
    b = OnnxClipBackend(str(model), precision="fp32", threads=1)
    prepared = [b.prepare_image(img) for img in _pictures()]
    assert all(p.shape == (SIZE, SIZE, 3) and p.dtype == np.uint8 for p in prepared)
    got = b.embed_images(prepared)
    pixels = np.stack(prepared).astype(np.float32)
    if image_uint8:  # raw RGB goes in; the graph normalises (here: it does not)
        means = pixels.mean(axis=(1, 2))
    else:
        means = ((pixels / 255.0 - 0.5) / 0.25).mean(axis=(1, 2))
    np.testing.assert_allclose(got, _unit(means @ _weights(3, 1)), atol=1e-5)


@pytest.mark.parametrize("mclip", [False, True])
@pytest.mark.parametrize("text_int64", [False, True])
def test_text_inputs_by_graph(tmp_path, mclip, text_int64):
    pytest.importorskip("onnx")
    model = build_model_dir(tmp_path / "m", mclip=mclip, text_int64=text_int64, batch=1)
    b = OnnxClipBackend(str(model), precision="fp32", threads=1)
    texts = ["a red circle", "dog", "a very long caption " * 10]
    got = b.embed_texts(texts)
    ids, mask = b.tokenizer().encode(texts)
    assert ids.shape == (3, CTX) and ids[2, -1] == 49407  # truncated, end token kept last
    feed = (ids * mask) if mclip else ids
    np.testing.assert_allclose(got, _unit(feed.astype(np.float32) @ _weights(CTX, 2)), rtol=1e-4)


# --------------------------------------------------------------------------- lifecycle


def test_sessions_are_lazy_separate_and_released():
    images = OnnxClipBackend(str(TINY), precision="fp32", threads=1)
    assert images.sessions_loaded() == set()
    assert images.dimensions == 32 and images.image_size == 64  # facts need no session
    assert images.model_fingerprint and images.sessions_loaded() == set()
    prepared = images.prepare_image(Image.new("RGB", (80, 50), (200, 30, 30)))
    assert images.sessions_loaded() == set()
    images.embed_images([prepared])
    assert images.sessions_loaded() == {"image"}
    images.release()
    assert images.sessions_loaded() == set()

    texts = OnnxClipBackend(str(TINY), precision="fp32", threads=1)
    texts.embed_texts(["a photo of a cat"])
    assert texts.sessions_loaded() == {"text"}
    texts.embed_images([prepared])
    assert texts.sessions_loaded() == {"image", "text"}
    texts.release()
    assert texts.sessions_loaded() == set()
    # usable again after release: loads what it needs
    assert texts.embed_texts(["cat"]).shape == (1, 32)
    assert texts.sessions_loaded() == {"text"}


def test_empty_query_rejected():
    b = OnnxClipBackend(str(TINY), precision="fp32", threads=1)
    for bad in ([""], ["   \n\t"], ["ok", ""]):
        with pytest.raises(HuisouError, match="empty query"):
            b.embed_texts(bad)
    assert b.sessions_loaded() == set()  # rejected before loading the text tower


def test_threads_and_providers():
    assert choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CPUExecutionProvider"]
    assert choose_providers(["CPUExecutionProvider", "XnnpackExecutionProvider"]) == [
        "XnnpackExecutionProvider", "CPUExecutionProvider"]
    b = OnnxClipBackend(str(TINY), precision="fp32", threads=3)
    b.embed_texts(["x"])
    session = b._sessions["text"]
    assert session.get_session_options().intra_op_num_threads == 3
    assert "CPUExecutionProvider" in b.describe()["providers"]


# --------------------------------------------------------------------------- model resolution


def test_missing_model_names_the_command(tmp_path):
    b = OnnxClipBackend("ViT-B-32__openai", models_dir=str(tmp_path))
    with pytest.raises(ModelNotAvailable) as info:
        _ = b.dimensions
    message = str(info.value)
    assert "ViT-B-32__openai" in message and "huisou models download ViT-B-32__openai" in message
    assert str(tmp_path / "ViT-B-32__openai") in message and "\n" not in message

    with pytest.raises(ModelNotAvailable, match="not found"):
        _ = OnnxClipBackend(str(tmp_path / "nowhere") + "/", models_dir=str(tmp_path)).dimensions
    with pytest.raises(ModelNotAvailable, match="unknown model 'nope'"):
        _ = OnnxClipBackend("nope", models_dir=str(tmp_path)).dimensions


def test_incomplete_install_is_reported(tmp_path):
    (tmp_path / "ViT-B-32__openai" / "visual").mkdir(parents=True)
    with pytest.raises(ModelNotAvailable, match="not fully installed.*missing config.json"):
        _ = OnnxClipBackend("ViT-B-32__openai", models_dir=str(tmp_path)).dimensions


def test_named_model_from_models_dir(tmp_path):
    shutil.copytree(TINY, tmp_path / "tiny")
    b = OnnxClipBackend("tiny", models_dir=str(tmp_path), threads=1)
    assert b.model_dir.path == tmp_path / "tiny" and b.dimensions == 32


# --------------------------------------------------------------------------- precision + fingerprint


def _copy_tiny(tmp_path: Path) -> Path:
    model = tmp_path / "tiny"
    shutil.copytree(TINY, model)
    return model


def test_precision_auto_needs_int8_files_and_a_passing_measurement(tmp_path):
    model = _copy_tiny(tmp_path)
    assert OnnxClipBackend(str(model)).precision == "fp32"  # no int8 files
    with pytest.raises(ModelNotAvailable, match="huisou models quantize"):
        _ = OnnxClipBackend(str(model), precision="int8").precision
    for tower in ("visual", "textual"):  # stand-in int8 files (a copy of the fp32 graph)
        shutil.copy(model / tower / "model.onnx", model / tower / "model_int8.onnx")
    assert OnnxClipBackend(str(model)).precision == "fp32"  # files but no measurement
    (model / "quantization.json").write_text(json.dumps({"recommended": False}))
    assert OnnxClipBackend(str(model)).precision == "fp32"
    (model / "quantization.json").write_text(json.dumps({"recommended": True}))
    auto = OnnxClipBackend(str(model))
    assert auto.precision == "int8"
    assert OnnxClipBackend(str(model), precision="fp32").precision == "fp32"
    with pytest.raises(HuisouError, match="precision 'fp16'"):
        OnnxClipBackend(str(model), precision="fp16")


def test_fingerprint_is_stable_safe_and_tracks_files(tmp_path):
    import re

    model = _copy_tiny(tmp_path)
    first = OnnxClipBackend(str(model), precision="fp32").model_fingerprint
    assert re.fullmatch(r"[a-z0-9_]+", first) and first.startswith("clip_tiny_fp32_")
    assert OnnxClipBackend(str(model), precision="fp32").model_fingerprint == first
    for tower in ("visual", "textual"):
        shutil.copy(model / tower / "model.onnx", model / tower / "model_int8.onnx")
    int8 = OnnxClipBackend(str(model), precision="int8").model_fingerprint
    assert int8 != first and "_int8_" in int8
    cfg = json.loads((model / "visual" / "preprocess_cfg.json").read_text())
    cfg["resize_mode"] = "squash"
    (model / "visual" / "preprocess_cfg.json").write_text(json.dumps(cfg))
    assert OnnxClipBackend(str(model), precision="fp32").model_fingerprint != first
    cfg["resize_mode"] = "shortest"
    (model / "visual" / "preprocess_cfg.json").write_text(json.dumps(cfg))
    with open(model / "visual" / "model.onnx", "ab") as fh:  # a changed weight file
        fh.write(b"\0")
    assert OnnxClipBackend(str(model), precision="fp32").model_fingerprint != first


def test_registered_as_plugin():
    from huisou.core.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    assert host.get_backend_class("onnx-clip") is OnnxClipBackend


@pytest.mark.parametrize(
    ("rel", "key", "value"),
    [("visual/preprocess_cfg.json", "size", "big"), ("config.json", "text_cfg", {"context_length": "x"}),
     ("config.json", "vision_cfg", {"image_size": -3})],
)
def test_malformed_sizes_in_a_model_dir_are_one_line_naming_the_file(tmp_path, rel, key, value):
    from huisou.plugins.clip_search.modeldir import InvalidModelDir, ModelDir

    model = tmp_path / "tiny"
    shutil.copytree(TINY, model)
    cfg = json.loads((model / rel).read_text())
    cfg[key] = value
    if key == "vision_cfg":
        pre = json.loads((model / "visual/preprocess_cfg.json").read_text())
        pre.pop("size", None)
        (model / "visual/preprocess_cfg.json").write_text(json.dumps(pre))
    (model / rel).write_text(json.dumps(cfg))
    with pytest.raises(InvalidModelDir) as info:
        ModelDir.open(model)
    assert str(model) in str(info.value) and "\n" not in str(info.value)


def test_image_batches_split_across_threads_give_the_same_vectors():
    """The indexing path runs chunks of a batch side by side; results must not change."""
    photos = sorted(p for p in (TESTS / "data" / "natural").iterdir() if p.suffix != ".json")[:5]
    assert len(photos) == 5
    serial = OnnxClipBackend(str(TINY), precision="fp32", threads=1)
    parallel = OnnxClipBackend(str(TINY), precision="fp32", threads=3)
    prepared = [serial.prepare_image(Image.open(p).convert("RGB")) for p in photos]
    one = serial.embed_images(prepared)
    many = parallel.embed_images(prepared)
    assert parallel._pool is not None  # the chunks really ran on the encode threads
    assert np.allclose(one, many, atol=1e-5)
    parallel.release()
    assert parallel._pool is None and not parallel.sessions_loaded()


def test_release_from_another_thread_does_not_break_a_batch_in_flight(monkeypatch):
    """release() may shut the encode pool while a batch is about to use it (a TUI search
    releasing models while an index runs): the batch finishes on the calling thread."""
    from concurrent.futures import ThreadPoolExecutor

    photos = sorted(p for p in (TESTS / "data" / "natural").iterdir() if p.suffix != ".json")[:4]
    backend = OnnxClipBackend(str(TINY), precision="fp32", threads=2)
    prepared = [backend.prepare_image(Image.open(p).convert("RGB")) for p in photos]
    want = backend.embed_images(prepared)
    closed = ThreadPoolExecutor(2)
    closed.shutdown()  # what _encode_pool handed out just before another thread released it
    monkeypatch.setattr(backend, "_encode_pool", lambda workers: closed)
    try:
        got = backend.embed_images(prepared)
    finally:
        backend.release()
    assert np.allclose(got, want, atol=1e-6)
