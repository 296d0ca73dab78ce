"""``huisou models import chinese-clip``: cn_clip's deployment exports give cn_clip's own cosines.

``tests/models/cn_clip_deploy/`` is a tiny random-weight Chinese-CLIP made by cn_clip's own
``CLIP`` class and exported exactly as ``cn_clip/deploy/pytorch_to_onnx.py`` does (fp32 and
fp16 + ``.extra_file`` pairs, batch fixed at 1), with cn_clip's vocab.txt;
``cn_clip_deploy_reference.json`` holds cn_clip's token ids, vectors and cosines
(scripts/make_cn_clip_test_model.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from huisou.core.errors import HuisouError

TESTS = Path(__file__).resolve().parent
DEPLOY = TESTS / "models" / "cn_clip_deploy"
REFERENCE = TESTS / "models" / "cn_clip_deploy_reference.json"
PHOTOS = TESTS / "data" / "natural"
FP32 = ("tiny-cn.img.fp32.onnx", "tiny-cn.txt.fp32.onnx", "vocab.txt")
FP16 = ("tiny-cn.img.fp16.onnx", "tiny-cn.img.fp16.onnx.extra_file", "tiny-cn.txt.fp16.onnx",
        "tiny-cn.txt.fp16.onnx.extra_file", "vocab.txt")


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUISOU_CONFIG", raising=False)
    return tmp_path / "home"


def upstream_dir(tmp_path: Path, files: tuple[str, ...], name: str = "upstream") -> Path:
    """A folder holding only some of the deployment files, under their upstream names."""
    folder = tmp_path / name
    folder.mkdir()
    for file in files:
        shutil.copyfile(DEPLOY / file, folder / file)
    return folder


def models(*args: str) -> Any:
    from huisou.cli.main import cli

    return CliRunner().invoke(cli, ["models", *args], catch_exceptions=True)


def backend_for(path: Path) -> Any:
    from huisou.plugins.clip_search.backend import OnnxClipBackend

    return OnnxClipBackend(model=str(path), precision="fp32", threads=2,
                           models_dir=str(path.parent))


def huisou_image_vectors(backend: Any, names: list[str]) -> np.ndarray:
    """Photos decoded as the indexer does (orientation, RGB) and prepared by the backend."""
    from PIL import Image, ImageOps

    prepared = []
    for name in names:
        with Image.open(PHOTOS / name) as image:
            prepared.append(backend.prepare_image(ImageOps.exif_transpose(image).convert("RGB")))
    return backend.embed_images(prepared)


def test_generated_tokenizer_gives_cn_clips_ids(reference):
    from huisou.plugins.clip_search.importers import build_cn_tokenizer
    from huisou.plugins.clip_search.tokenizer import TextTokenizer

    tok = build_cn_tokenizer(DEPLOY / "vocab.txt")
    assert [e.ids for e in tok.encode_batch(reference["queries"])] == reference["token_ids"]
    # and through the runtime's own loader (pad id from tokenizer_config, length 52)
    path = DEPLOY.parent / "cn_tok.json"
    try:
        tok.save(str(path))
        runtime = TextTokenizer(path, 52, {"pad_token": "[PAD]"})
        ids, _mask = runtime.encode(reference["queries"])
    finally:
        path.unlink(missing_ok=True)
    assert ids.tolist() == reference["token_ids"]
    long_ids = reference["token_ids"][reference["queries"].index("很长的描述" * 30)]
    assert len(long_ids) == 52 and long_ids[-1] == 102  # truncation keeps [SEP] last


def test_import_fp32_reproduces_cn_clip_cosines(home, tmp_path, reference):
    source = upstream_dir(tmp_path, FP32)
    result = models("import", "chinese-clip", str(source), "--name", "cn-tiny")
    assert result.exit_code == 0, result.output
    target = home / "models" / "cn-tiny"
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        "config.json", "import.json", "textual/model.onnx", "textual/tokenizer.json",
        "textual/tokenizer_config.json", "visual/model.onnx", "visual/preprocess_cfg.json"]
    backend = backend_for(target)
    texts = backend.embed_texts(reference["queries"])
    images = huisou_image_vectors(backend, reference["photos"])
    want_texts = np.asarray(reference["text_vectors"], np.float32)
    assert (texts * want_texts).sum(1).min() > 0.9999
    cosines = texts @ images.T
    want = np.asarray(reference["cosines"], np.float32)
    jpeg = np.array([name.endswith(".jpg") for name in reference["photos"]])
    error = np.abs(cosines - want)
    for group, queries in reference["groups"].items():
        rows = [reference["queries"].index(q) for q in queries]
        assert error[rows][:, ~jpeg].max() <= 1e-3, (group, error[rows].max())
        assert error[rows][:, jpeg].max() <= 5e-3, (group, error[rows].max())
    rows = {row["name"]: row for row in json.loads(models("list", "--json").output)}
    assert rows["cn-tiny"]["languages"] == ["zh", "en"]
    assert rows["cn-tiny"]["licence"].startswith("MIT")


def test_parity_check_is_sensitive(home, tmp_path, reference):
    """Feeding int32 zero-padded ids of another tokenizer (or crop instead of squash) moves
    the cosines well past the tolerance, so the test above can fail."""
    source = upstream_dir(tmp_path, FP32)
    assert models("import", "chinese-clip", str(source), "--name", "cn-tiny").exit_code == 0
    target = home / "models" / "cn-tiny"
    cfg_path = target / "visual" / "preprocess_cfg.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["resize_mode"] = "shortest"
    cfg_path.write_text(json.dumps(cfg))
    backend = backend_for(target)
    cosines = backend.embed_texts(reference["queries"]) @ huisou_image_vectors(
        backend, reference["photos"]).T
    assert np.abs(cosines - np.asarray(reference["cosines"])).max() > 1e-2


def test_import_fp16_pairs_converts_to_fp32(home, tmp_path, reference):
    source = upstream_dir(tmp_path, FP16)
    result = models("import", "chinese-clip", str(source), "--name", "cn-half")
    assert result.exit_code == 0, result.output
    target = home / "models" / "cn-half"
    assert not list(target.rglob("*.extra_file"))  # weights now inside the fp32 graphs
    import onnx

    for tower in ("visual", "textual"):
        graph = onnx.load(str(target / tower / "model.onnx")).graph
        assert not [t.name for t in graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
        casts = [n for n in graph.node if n.op_type == "Cast"
                 and n.attribute[0].i == onnx.TensorProto.FLOAT16]
        assert casts == []
    backend = backend_for(target)
    texts = backend.embed_texts(reference["queries"])
    images = huisou_image_vectors(backend, reference["photos"])
    assert (texts * np.asarray(reference["text_vectors"])).sum(1).min() > 0.99
    assert (images * np.asarray(reference["image_vectors"])).sum(1).min() > 0.99


def test_fp16_without_its_extra_file_is_one_line(home, tmp_path):
    source = upstream_dir(tmp_path, tuple(f for f in FP16 if f != "tiny-cn.txt.fp16.onnx.extra_file"))
    result = models("import", "chinese-clip", str(source), "--name", "broken")
    assert isinstance(result.exception, HuisouError)
    message = str(result.exception)
    assert "\n" not in message and "tiny-cn.txt.fp16.onnx" in message and "extra_file" in message
    assert not (home / "models" / "broken").exists()
    assert [p.name for p in (home / "models").iterdir()] == []


@pytest.mark.parametrize("case", ["no text tower", "english vocab", "no vocab", "foreign graph",
                                  "two models"])
def test_bad_input_is_one_line_naming_the_file(home, tmp_path, case):
    source = upstream_dir(tmp_path, FP32)
    tiny = TESTS / "models" / "tiny_clip"
    if case == "no text tower":
        (source / "tiny-cn.txt.fp32.onnx").unlink()
        expected = "no Chinese-CLIP text tower"
    elif case == "english vocab":
        words = ["!", '"', "#"] + [f"tok{i}</w>" for i in range(300)]
        (source / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
        expected = "vocab.txt: an English CLIP BPE vocabulary"
    elif case == "no vocab":
        (source / "vocab.txt").unlink()
        expected = "vocab.txt: missing"
    elif case == "foreign graph":  # an open_clip text tower: int32 [batch, 77]
        shutil.copyfile(tiny / "textual" / "model.onnx", source / "tiny-cn.txt.fp32.onnx")
        expected = "tiny-cn.txt.fp32.onnx: graph input is 'text' tensor(int32)"
    else:
        shutil.copyfile(source / "tiny-cn.img.fp32.onnx", source / "other.img.fp32.onnx")
        expected = "several image towers"
    result = models("import", "chinese-clip", str(source), "--name", "bad")
    assert isinstance(result.exception, HuisouError), result.output
    assert expected in str(result.exception) and "\n" not in str(result.exception)
    assert not (home / "models" / "bad").exists()


def _huisou(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HUISOU_HOME=str(home), HUISOU_LOAD_PLUGINS="")
    env.pop("HUISOU_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "huisou", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_import_index_search_scores_are_cn_clips_cosines(tmp_path, reference):
    """The issue's acceptance run: import, index the photos, search in Chinese, English and
    mixed text: every photo's score is cn_clip's cosine within 0.002 (PNG) / 0.005 (JPEG)."""
    home = tmp_path / "home"
    source = upstream_dir(tmp_path, FP32)
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in reference["photos"]:
        shutil.copyfile(PHOTOS / name, photos / name)
    step = _huisou(home, "models", "import", "chinese-clip", str(source), "--name", "cn-e2e")
    assert step.returncode == 0, step.stderr
    step = _huisou(home, "index", str(photos), "--model", "cn-e2e", "--backend", "onnx-clip")
    assert step.returncode == 0, step.stderr
    for query in ("一朵花的照片", "a photo of a flower", "一只cat在草地上"):
        step = _huisou(home, "search", query, "--model", "cn-e2e", "--json", "--top", "50",
                       "--min-score", "-1")
        assert step.returncode == 0, step.stderr
        scores = {Path(hit["path"]).name: hit["score"] for hit in json.loads(step.stdout)}
        want = reference["cosines"][reference["queries"].index(query)]
        assert set(scores) == set(reference["photos"])
        for name, cosine in zip(reference["photos"], want, strict=True):
            limit = 0.005 if name.endswith(".jpg") else 0.002
            assert abs(scores[name] - cosine) <= limit, (query, name, scores[name], cosine)


@pytest.mark.slow
def test_chinese_query_on_an_english_model_gets_one_notice(tmp_path):
    """English-only model (the toy one, installed under the English default's catalog name):
    a Chinese query gets one line on stderr naming the Chinese-capable catalog model; an
    English query gets none; results still come."""
    home = tmp_path / "home"
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("coffee.png", "china.jpg"):
        shutil.copyfile(PHOTOS / name, photos / name)
    toy = TESTS / "models" / "toy_shapes"
    assert _huisou(home, "models", "install", str(toy), "--name", "ViT-B-32__openai").returncode == 0
    assert _huisou(home, "index", str(photos)).returncode == 0
    chinese = _huisou(home, "search", "一朵花的照片", "--json")
    assert chinese.returncode == 0, chinese.stderr
    notes = [line for line in chinese.stderr.splitlines() if "the query is in" in line]
    assert len(notes) == 1 and "Chinese" in notes[0], chinese.stderr
    assert "huisou models download chinese-clip-vit-b-16" in notes[0]
    assert len(json.loads(chinese.stdout)) == 2
    english = _huisou(home, "search", "a photo of a flower", "--json")
    assert english.returncode == 0 and "the query is in" not in english.stderr
