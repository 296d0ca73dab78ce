"""Model-file digests: remembered under the data directory, never written into model dirs."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest
from huisou.plugins.clip_search import digest_cache, modeldir
from huisou.plugins.clip_search.modeldir import ModelDir

TINY = Path(__file__).parent / "models" / "tiny_clip"


@pytest.fixture
def read_only_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    model = tmp_path / "shared-models" / "tiny"
    shutil.copytree(TINY, model, ignore=shutil.ignore_patterns(".huisou-digests.json"))
    for path in [model, *model.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    yield model
    for path in [model, *model.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_read_only_model_is_hashed_once_and_left_untouched(read_only_model, monkeypatch):
    # (as root the chmod does not stop writes: the listing below still proves none happened)
    calls: list[Path] = []
    real = modeldir.sha256_file
    monkeypatch.setattr(modeldir, "sha256_file", lambda path: calls.append(path) or real(path))
    before = sorted(p.relative_to(read_only_model) for p in read_only_model.rglob("*"))
    rel = "visual/model.onnx"
    want = hashlib.sha256((read_only_model / rel).read_bytes()).hexdigest()

    assert ModelDir.open(read_only_model).file_digest(rel) == want
    assert ModelDir.open(read_only_model).file_digest(rel) == want  # a new process alike

    assert len(calls) == 1
    assert sorted(p.relative_to(read_only_model) for p in read_only_model.rglob("*")) == before
    assert digest_cache.cache_path().is_file()
    assert str(digest_cache.cache_path()).startswith(os.environ["HUISOU_HOME"])


def test_a_replaced_file_is_hashed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    model = tmp_path / "m"
    shutil.copytree(TINY, model, ignore=shutil.ignore_patterns(".huisou-digests.json"))
    rel = "visual/preprocess_cfg.json"
    first = ModelDir.open(model).file_digest(rel)
    path = model / rel
    text = path.read_text()
    mtime = path.stat().st_mtime_ns
    path.write_text(text.replace("bicubic", "BICUBIC"))  # same size, other bytes
    os.utime(path, ns=(mtime, mtime))  # and the old mtime, as cp -p would leave it
    second = ModelDir.open(model).file_digest(rel)
    assert path.stat().st_size == len(text.encode())
    assert first != second == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_cache_keeps_the_most_recent_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(digest_cache, "MAX_ENTRIES", 2)
    files = []
    for name in ("a", "b", "c"):
        files.append(tmp_path / name)
        files[-1].write_text(name)
        digest_cache.cached_sha256(files[-1])
    import json

    kept = json.loads(digest_cache.cache_path().read_text())
    assert list(kept) == [str(files[1].resolve()), str(files[2].resolve())]


def test_an_unwritable_cache_only_costs_a_hash(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").write_text("a file where the cache directory should be")
    monkeypatch.setenv("HUISOU_HOME", str(home))
    rel = "visual/preprocess_cfg.json"
    want = hashlib.sha256((TINY / rel).read_bytes()).hexdigest()
    assert ModelDir.open(TINY).file_digest(rel) == want
