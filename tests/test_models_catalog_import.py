"""Catalog entries in upstream layouts (``"import": FORMAT``): download from a local hub, verify,
import. A served tree ``REPO/resolve/REVISION/PATH`` on 127.0.0.1 stands in for Hugging Face.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from huisou.core.errors import HuisouError

TESTS = Path(__file__).resolve().parent
DEPLOY = TESTS / "models" / "cn_clip_deploy"
TINY = TESTS / "models" / "tiny_clip"
REV = "0123456789abcdef0123456789abcdef01234567"
VOCAB_REV = "fedcba9876543210fedcba9876543210fedcba98"
CN_FILES = ("tiny-cn.img.fp16.onnx", "tiny-cn.img.fp16.onnx.extra_file", "tiny-cn.txt.fp16.onnx",
            "tiny-cn.txt.fp16.onnx.extra_file")


def _spec(path: Path, rel: str, **extra: object) -> dict[str, object]:
    data = path.read_bytes()
    return {"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), **extra}


def _transformers_js_tree(root: Path) -> None:
    """The tiny open_clip model in the transformers.js layout (as Xenova's repos have it)."""
    (root / "onnx").mkdir(parents=True)
    shutil.copyfile(TINY / "visual" / "model.onnx", root / "onnx" / "vision_model.onnx")
    shutil.copyfile(TINY / "textual" / "model.onnx", root / "onnx" / "text_model.onnx")
    shutil.copyfile(TINY / "textual" / "tokenizer.json", root / "tokenizer.json")
    shutil.copyfile(TINY / "textual" / "tokenizer_config.json", root / "tokenizer_config.json")
    (root / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": 64, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
        "size": {"shortest_edge": 64}}))
    (root / "config.json").write_text(json.dumps({"projection_dim": 32}))


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """Serve the files and write a catalog that names them (HUISOU_MODEL_CATALOG)."""
    root = tmp_path / "hub"
    cn = root / "up" / "cn-clip" / "resolve" / REV
    cn.mkdir(parents=True)
    for name in CN_FILES:
        shutil.copyfile(DEPLOY / name, cn / name)
    vocab = root / "ofa" / "vocab" / "resolve" / VOCAB_REV
    vocab.mkdir(parents=True)
    shutil.copyfile(DEPLOY / "vocab.txt", vocab / "vocab.txt")
    tjs = root / "up" / "tjs" / "resolve" / REV
    _transformers_js_tree(tjs)
    catalog = {"models": [
        {"name": "cn-remote", "repo": "up/cn-clip", "revision": REV, "import": "chinese-clip",
         "languages": ["zh", "en"], "license": "MIT", "description": "test",
         "files": [_spec(cn / n, n) for n in CN_FILES]
         + [_spec(vocab / "vocab.txt", "vocab.txt", repo="ofa/vocab", revision=VOCAB_REV)]},
        {"name": "tjs-remote", "repo": "up/tjs", "revision": REV, "import": "transformers-js",
         "languages": ["en"], "license": "apple-ascl", "description": "test",
         "files": [_spec(tjs / rel, rel) for rel in (
             "onnx/vision_model.onnx", "onnx/text_model.onnx", "tokenizer.json",
             "tokenizer_config.json", "preprocessor_config.json")]
         + [{"path": "config.json", "size": None, "sha256": None}]},
    ]}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    monkeypatch.setenv("HUISOU_MODEL_CATALOG", str(path))
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUISOU_CONFIG", raising=False)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server.catalog_path = path  # type: ignore[attr-defined]
    server.models = tmp_path / "home" / "models"  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _endpoint(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def models(*args: str):
    from huisou.cli.main import cli

    return CliRunner().invoke(cli, ["models", *args], catch_exceptions=True)


def _backend(path: Path):
    from huisou.plugins.clip_search.backend import OnnxClipBackend

    return OnnxClipBackend(model=str(path), precision="fp32", threads=1,
                           models_dir=str(path.parent))


def test_download_keeps_external_data_pairs_together_then_imports(hub):
    result = models("download", "cn-remote", "--endpoint", _endpoint(hub), "--quantize")
    assert result.exit_code == 0, result.output
    target = hub.models / "cn-remote"
    quantized = json.loads((target / "quantization.json").read_text())  # the measured rule
    assert (target / "visual" / "model_int8.onnx").is_file() and "recommended" in quantized
    record = json.loads((target / "download.json").read_text())
    assert set(record["files"]) == {*CN_FILES, "vocab.txt"}
    assert all(f["verified"] == "sha256+size" for f in record["files"].values())
    assert not (hub.models / ".downloads" / "cn-remote").exists()  # upstream files imported, gone
    reference = json.loads((TESTS / "models" / "cn_clip_deploy_reference.json").read_text())
    vectors = _backend(target).embed_texts(reference["queries"][:3])
    assert (vectors * np.asarray(reference["text_vectors"][:3])).sum(1).min() > 0.99
    rows = {row["name"]: row for row in json.loads(models("list", "--json").output)}
    assert rows["cn-remote"]["installed"] and rows["cn-remote"]["unverified"] == []
    again = models("download", "cn-remote", "--endpoint", _endpoint(hub))
    assert again.exit_code == 0 and "ready" in again.output


def test_wrong_digest_leaves_nothing_in_place(hub):
    catalog = json.loads(hub.catalog_path.read_text())
    extra = catalog["models"][0]["files"][1]
    extra["sha256"] = "0" * 64
    hub.catalog_path.write_text(json.dumps(catalog))
    from huisou.plugins.clip_search import model_catalog

    model_catalog._load.cache_clear()
    result = models("download", "cn-remote", "--endpoint", _endpoint(hub))
    assert isinstance(result.exception, HuisouError)
    assert "tiny-cn.img.fp16.onnx.extra_file: sha256" in str(result.exception)
    assert not (hub.models / "cn-remote").exists()
    raw = hub.models / ".downloads" / "cn-remote"
    leftovers = [p.name for p in raw.rglob("*") if p.is_file()] if raw.exists() else []
    assert extra["path"] not in leftovers and not [n for n in leftovers if n.endswith(".part")]


def test_transformers_js_layout_with_trust_on_first_use(hub):
    result = models("download", "tjs-remote", "--endpoint", _endpoint(hub))
    assert result.exit_code == 0, result.output
    assert "config.json" in result.output  # the note names the file without a digest
    target = hub.models / "tjs-remote"
    record = json.loads((target / "download.json").read_text())
    assert record["files"]["config.json"]["verified"] == "recorded on first download"
    rows = {row["name"]: row for row in json.loads(models("list", "--json").output)}
    assert rows["tjs-remote"]["unverified"] == ["config.json"]
    assert "trusted on first download: config.json" in models("list").output
    ours, theirs = _backend(target), _backend(TINY)
    texts = ["a red circle", "a dog on the beach"]
    assert (ours.embed_texts(texts) * theirs.embed_texts(texts)).sum(1).min() > 0.99999
    from PIL import Image

    with Image.open(TESTS / "data" / "natural" / "coffee.png") as image:
        rgb = image.convert("RGB")
        a = ours.embed_images([ours.prepare_image(rgb)])
        b = theirs.embed_images([theirs.prepare_image(rgb)])
    assert float((a * b).sum()) > 0.99999
