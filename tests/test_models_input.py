"""Model directories are input too: every value is checked, and a model's fault is never a photo's.

Issue 11: ``size: [100000, 100000]`` and ``embed_dim: 1e12`` exhausted 23 GB of RAM, a broken
``"mean": "x"`` marked all 600 photos unreadable (later runs skipped them), and ``models
install`` accepted a corrupt ``model.onnx``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from huisou.core.errors import ModelError

TESTS = Path(__file__).resolve().parent
TINY = TESTS / "models" / "tiny_clip"
NATURAL = TESTS / "data" / "natural"


def _model_with(tmp_path: Path, rel: str, key: str, value: object) -> Path:
    model = tmp_path / "broken-model"
    shutil.copytree(TINY, model)
    data = json.loads((model / rel).read_text())
    if "." in key:
        table, inner = key.split(".")
        data.setdefault(table, {})[inner] = value
    else:
        data[key] = value
    (model / rel).write_text(json.dumps(data))
    return model


@pytest.mark.parametrize(
    ("rel", "key", "value"),
    [
        ("visual/preprocess_cfg.json", "size", [100000, 100000]),
        ("visual/preprocess_cfg.json", "size", [64, 32]),
        ("visual/preprocess_cfg.json", "mean", "x"),
        ("visual/preprocess_cfg.json", "mean", [0.5, 0.5]),
        ("visual/preprocess_cfg.json", "mean", [float("nan"), 0.5, 0.5]),
        ("visual/preprocess_cfg.json", "std", [0.0, 0.5, 0.5]),
        ("visual/preprocess_cfg.json", "interpolation", "sharpest"),
        ("visual/preprocess_cfg.json", "resize_mode", 3),
        ("config.json", "embed_dim", 1e12),
        ("config.json", "embed_dim", 10**9),
        ("config.json", "embed_dim", True),
        ("config.json", "text_cfg.context_length", 10**8),
        ("config.json", "vision_cfg.image_size", 100000),
        ("textual/tokenizer_config.json", "pad_token", 7),
    ],
)
def test_out_of_bounds_model_values_are_one_line_naming_file_and_key(tmp_path, rel, key, value):
    from huisou.plugins.clip_search.modeldir import InvalidModelDir, ModelDir

    if key == "vision_cfg.image_size":  # only used when preprocess_cfg.json has no size
        pre = json.loads((TINY / "visual/preprocess_cfg.json").read_text())
        pre.pop("size")
        model = _model_with(tmp_path, rel, key, value)
        (model / "visual/preprocess_cfg.json").write_text(json.dumps(pre))
    else:
        model = _model_with(tmp_path, rel, key, value)
    with pytest.raises(InvalidModelDir) as info:
        ModelDir.open(model)
    message = str(info.value)
    assert str(model / rel) in message, message
    assert key.split(".")[-1] in message and "\n" not in message


def _write_config(home: Path, model: Path, **extra: str) -> None:
    lines = [f'model = "{model}"', 'store = "numpy"', "threads = 2", "batch_size = 4"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    (home / "config.toml").write_text("\n".join(lines) + "\n")


def _photos(tmp_path: Path, count: int = 4) -> Path:
    photos = tmp_path / "photos"
    photos.mkdir()
    for source in sorted(p for p in NATURAL.iterdir() if p.suffix == ".png")[:count]:
        shutil.copy(source, photos / source.name)
    return photos


def test_a_broken_model_stops_index_before_any_photo_is_blamed(huisou_home, run_cli, tmp_path):
    model = _model_with(tmp_path, "visual/preprocess_cfg.json", "mean", "x")
    photos = _photos(tmp_path)
    code, _out, err = run_cli("index", str(photos), "--model", str(model))
    assert code == 1
    assert err.count("\n") == 1 and "preprocess_cfg.json: mean" in err, err
    # no photo was recorded, and the failed run did not register the folder as a source
    code, out, _err = run_cli("status", "--json")
    status = json.loads(out)
    assert code == 0 and status["sources"] == [], status
    assert status["items"] == {}, status


def test_a_model_error_inside_the_run_stops_it_and_records_no_photo(
    fake_library, tmp_path, monkeypatch
):
    """Defence in depth: whatever the model raises mid-run (a preprocessing or encoder fault)
    stops the run instead of becoming one "unreadable" record per photo."""
    from huisou.core.indexer import Indexer

    photos = _photos(tmp_path)
    fake_library.catalog.add_source("folder", str(photos), {})

    def broken(image):
        raise ModelError("visual/preprocess_cfg.json: mean must be 3 finite numbers")

    monkeypatch.setattr(fake_library.backend, "prepare_image", broken)
    with pytest.raises(ModelError):
        list(Indexer(fake_library).run())
    assert fake_library.catalog.status_counts() == {}


def test_photos_old_versions_blamed_for_a_model_fault_are_read_again(fake_host, tmp_path):
    """Migration 3 on a library made by the schema before it: rows the old catch-all handler
    recorded as ``"<ExceptionType>: ..."`` are read again once; decoder verdicts stay."""
    from huisou.core.catalog import Catalog
    from huisou.core.config import Config
    from huisou.core.indexer import Indexer
    from huisou.core.library import Library
    from huisou.core.schema import MIGRATIONS

    photos = _photos(tmp_path, 2)
    good, other = sorted(photos.iterdir())
    broken = photos / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(";".join(MIGRATIONS[:2]) + "; PRAGMA user_version=2;")
        conn.execute(
            "INSERT INTO sources (id, type, root, added_at) VALUES (1, 'folder', ?, 1.0)",
            (str(photos),),
        )
        for path, error in (
            (good, "ValueError: could not convert string to float: 'x'"),
            (other, "HuisouError: preprocess_cfg.json: unknown interpolation 'x'"),
            (broken, "corrupt JPEG: Pillow cannot identify the image"),
        ):
            stat = path.stat()
            conn.execute(
                "INSERT INTO items (source_id, path, folder, name, size, mtime_ns, status, "
                "error, updated_at) VALUES (1, ?, ?, ?, ?, ?, 'unreadable', ?, 1.0)",
                (str(path), str(photos), path.name, stat.st_size, stat.st_mtime_ns, error),
            )
    catalog = Catalog(db)
    assert catalog.status_counts() == {"pending": 2, "unreadable": 1}
    catalog.close()
    config = Config(db=str(db), backend="fake", store="memory", batch_size=4)
    with Library(config, fake_host) as library:
        finished = list(Indexer(library).run())[-1]
        assert finished.indexed == 2 and finished.skipped == 1
        assert library.catalog.status_counts() == {"indexed": 2, "unreadable": 1}


def _install(*args: str):
    from click.testing import CliRunner
    from huisou.cli.models_cmd import models

    return CliRunner().invoke(models, ["install", *args], catch_exceptions=True)


def test_install_refuses_a_corrupt_model_onnx(huisou_home, tmp_path):
    model = tmp_path / "corrupt"
    shutil.copytree(TINY, model)
    onnx_file = model / "visual" / "model.onnx"
    onnx_file.write_bytes(b"\x08\x07garbage" * 1000)
    result = _install(str(model))
    assert isinstance(result.exception, ModelError), result.output
    assert str(onnx_file) in str(result.exception) and "\n" not in str(result.exception)
    assert not (huisou_home / "models" / "corrupt").exists()


def test_install_refuses_towers_whose_vectors_do_not_fit_config(huisou_home, tmp_path):
    model = _model_with(tmp_path, "config.json", "embed_dim", 48)
    result = _install(str(model))
    assert isinstance(result.exception, ModelError)
    assert "shape" in str(result.exception) and "embed_dim" in str(result.exception)


def test_install_refuses_towers_with_non_finite_weights(huisou_home, tmp_path):
    """Damaged weights that still load: the text tower's output turns NaN."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = tmp_path / "nan-weights"
    shutil.copytree(TINY, model)
    path = model / "textual" / "model.onnx"
    graph = onnx.load(str(path))
    biggest = max(graph.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    array = numpy_helper.to_array(biggest).copy()
    array.flat[: array.size // 2] = np.nan
    biggest.CopyFrom(numpy_helper.from_array(array, biggest.name))
    onnx.save(graph, str(path))
    result = _install(str(model))
    assert isinstance(result.exception, ModelError), result.output
    assert "non-finite" in str(result.exception) and str(path) in str(result.exception)


def test_install_accepts_a_good_model(huisou_home):
    result = _install(str(TINY), "--name", "tiny")
    assert result.exit_code == 0, result.output
    assert (huisou_home / "models" / "tiny" / "config.json").is_file()


class _Terminal(__import__("io").StringIO):
    """Typed answers on a stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _main(args: list[str], capsys) -> tuple[int, str, str]:
    from huisou.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_models_remove_asks_and_a_no_keeps_the_model(huisou_home, capsys, monkeypatch):
    assert _install(str(TINY), "--name", "tiny").exit_code == 0
    target = huisou_home / "models" / "tiny"
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, _out, err = _main(["models", "remove", "tiny"], capsys)
    assert code == 1 and "not removed" in err and "interrupted" not in err, err
    assert target.is_dir()


def test_models_remove_without_a_terminal_refuses_unless_yes(huisou_home, capsys, monkeypatch):
    assert _install(str(TINY), "--name", "tiny").exit_code == 0
    target = huisou_home / "models" / "tiny"
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(""))
    code, _out, err = _main(["models", "remove", "tiny"], capsys)
    assert code == 2 and "--yes" in err and err.count("\n") == 1, err
    assert target.is_dir()
    code, out, _err = _main(["models", "remove", "tiny", "--yes", "--json"], capsys)
    assert code == 0 and json.loads(out) == {"name": "tiny", "removed": "model", "path": str(target)}
    assert not target.exists()


def test_models_install_prints_json(huisou_home, capsys):
    code, out, err = _main(["models", "install", str(TINY), "--name", "tiny", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["name"] == "tiny" and data["checked"] == ["fp32"]
    assert data["size_bytes"] > 5_000_000


def test_onnx_runtime_writes_no_telemetry_or_device_id(tmp_path):
    """ONNX Runtime >= 1.2x writes ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,
    onnxruntime.db} on import unless ORT_DISABLE_TELEMETRY is set; huisou sets it."""
    import os
    import subprocess
    import sys

    home = tmp_path / "fresh-home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")}
    env.update(HOME=str(home), HUISOU_HOME=str(tmp_path / "huisou"))
    subprocess.run(
        [sys.executable, "-m", "huisou", "models", "install", str(TINY), "--name", "tiny"],
        env=env, check=True, capture_output=True, timeout=300,
    )
    assert (tmp_path / "huisou" / "models" / "tiny").is_dir()  # both towers were loaded
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert not any("Microsoft" in path for path in written), written
