"""End to end with the toy model trained on coloured shapes: "red circle" finds red circles.

In-process through Library/Indexer/Searcher (with the in-memory store), which also checks the
session lifecycle on the real paths: indexing never creates the text session, searching never
creates the image session, and the indexer releases the model. Then through the real CLI in a
subprocess (``HUISOU_HOME`` = a temp dir, persistent ``numpy`` store).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TOY = TESTS / "models" / "toy_shapes"
sys.path.insert(0, str(TESTS / "models"))
import shapes  # noqa: E402 - tests/models is not a package


@pytest.fixture
def shape_photos(tmp_path: Path) -> Path:
    """Two fresh pictures per (colour, shape) class, seeds unlike the training set's."""
    root = tmp_path / "photos"
    root.mkdir()
    for i, (colour, shape) in enumerate(shapes.all_classes() * 2):
        img = shapes.make_shape_image(colour, shape, size=96, seed=7_000_000 + i)
        suffix = "jpg" if i % 2 else "png"
        img.save(root / f"{colour}_{shape}_{i}.{suffix}", quality=95)
    return root


def _label(path: str) -> str:
    colour, shape = Path(path).stem.split("_")[:2]
    return f"{colour} {shape}"


def test_index_and_search_in_process(shape_photos, tmp_path, monkeypatch):
    import huisou.testing.fakes as fakes
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.plugins import PluginHost
    from huisou.core.search import Searcher
    from huisou.plugins.clip_search.backend import OnnxClipBackend

    created: list[str] = []
    original = OnnxClipBackend._create_session

    def spy(self, kind):
        created.append(kind)
        return original(self, kind)

    monkeypatch.setattr(OnnxClipBackend, "_create_session", spy)
    host = PluginHost(load_entry_points=False)
    host.register(fakes, name="fakes")
    # ocr off: the OCR gate's first run with a model encodes its anchors with the text
    # encoder (once, tests/test_ocr_plugin.py); this test is about CLIP's own sessions
    config = Config(db=str(tmp_path / "lib.db"), backend="onnx-clip", model=str(TOY),
                    store="memory", precision="fp32", batch_size=8, threads=2,
                    models_dir=str(tmp_path / "models"), ocr="off")
    with Library(config, host) as library:
        library.catalog.add_source("folder", str(shape_photos))
        events = list(Indexer(library).run())
        failures = [e for e in events if type(e).__name__ == "ItemFailed"]
        assert events[-1].indexed == 36 and events[-1].failed == 0, failures[:2]
        assert created == ["image"]  # indexing never built the text session...
        assert library.backend.sessions_loaded() == set()  # ...and released the image one

        searcher = Searcher(library)
        for query in ("red circle", "blue square", "green triangle"):
            hits = searcher.search(query, top=3)
            assert [_label(h.path) for h in hits] == [query] * 2 + [_label(hits[2].path)], query
            assert _label(hits[0].path) == query and hits[0].score > hits[2].score
        assert created == ["image", "text"]  # searching built only the text session
        assert library.backend.sessions_loaded() == {"text"}


def _huisou(args: list[str], home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HUISOU_HOME=str(home), HUISOU_LOAD_PLUGINS="")
    return subprocess.run([sys.executable, "-m", "huisou", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("store", ["numpy", "sqlite-vec"])
def test_cli_index_then_search(shape_photos, tmp_path, store):
    home = tmp_path / "home"
    common = ["--model", str(TOY), "--backend", "onnx-clip", "--store", store]
    indexed = _huisou(["index", str(shape_photos), *common, "--json"], home)
    assert indexed.returncode == 0, indexed.stderr
    for query in ("red circle", "blue square"):
        found = _huisou(["search", query, "--json", "--top", "4", "--min-score", "off", *common],
                        home)
        assert found.returncode == 0, found.stderr
        hits = json.loads(found.stdout)
        assert [_label(h["path"]) for h in hits[:2]] == [query, query], (query, hits)
        assert hits[0]["score"] >= hits[-1]["score"]


def test_cli_missing_model_is_one_line(tmp_path):
    result = _huisou(["search", "red circle", "--model", "ViT-B-32__openai",
                      "--backend", "onnx-clip"], tmp_path / "home")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("huisou: error")]
    assert len(lines) == 1 and "huisou models download ViT-B-32__openai" in lines[0], result.stderr


def test_int8_toy_model_still_ranks_by_meaning(tmp_path):
    """After ``quantize`` the int8 towers keep retrieval: every class's top 2 are that class."""
    pytest.importorskip("onnx")
    import shutil

    import numpy as np
    from huisou.plugins.clip_search.backend import OnnxClipBackend
    from huisou.plugins.clip_search.modeldir import ModelDir
    from huisou.plugins.clip_search.quantize import quantize_model

    model = tmp_path / "toy"
    shutil.copytree(TOY, model)
    record = quantize_model(ModelDir.open(model))
    backend = OnnxClipBackend(str(model), threads=1)  # precision auto
    assert backend.precision == ("int8" if record["recommended"] else "fp32")
    backend = OnnxClipBackend(str(model), precision="int8", threads=1)
    classes = shapes.all_classes()
    pictures = [(c, s, shapes.make_shape_image(c, s, 96, 9_000_000 + i))
                for i, (c, s) in enumerate(classes * 2)]
    images = backend.embed_images([backend.prepare_image(img) for _, _, img in pictures])
    texts = backend.embed_texts([f"{c} {s}" for c, s in classes])
    top2 = np.argsort(-(texts @ images.T), axis=1)[:, :2]
    wrong = [(classes[q], [pictures[i][:2] for i in row]) for q, row in enumerate(top2)
             if any(pictures[i][:2] != classes[q] for i in row)]
    assert not wrong, wrong
