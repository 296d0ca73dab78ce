"""Hostile models, configs and command lines (issue 11: "Models and config are input too",
"Honest answers"): absurd values stop with one line naming the file and key, a model's fault
is never recorded against the photos, and empty answers say why."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from battery import Case, expect_error, expect_ok, fake_home, huisou, make_photos

TINY = Path(__file__).resolve().parent.parent / "models" / "tiny_clip"


def _model(tmp: Path, rel: str, key: str, value: object) -> Path:
    model = tmp / "model"
    shutil.copytree(TINY, model)
    data = json.loads((model / rel).read_text())
    data[key] = value
    (model / rel).write_text(json.dumps(data))
    return model


def _index_with_broken_model(tmp: Path, rel: str, key: str, value: object) -> None:
    model = _model(tmp, rel, key, value)
    photos = tmp / "photos"
    make_photos(photos, 3)
    (Path(os.environ["HUISOU_HOME"]) / "config.toml").write_text('store = "numpy"\n')
    run = expect_error(huisou("index", photos, "--model", model), code=1, naming=model / rel)
    assert key in run.stderr, run.describe()
    status = json.loads(expect_ok(huisou("status", "--json")).stdout)
    assert status["items"] == {} and status["sources"] == [], status


def huge_preprocess_size(tmp: Path) -> None:
    """size [100000, 100000] once exhausted 23 GB of RAM."""
    _index_with_broken_model(tmp, "visual/preprocess_cfg.json", "size", [100000, 100000])


def huge_embed_dim(tmp: Path) -> None:
    """embed_dim 1e12 once exhausted 23 GB of RAM."""
    _index_with_broken_model(tmp, "config.json", "embed_dim", 1e12)


def mean_is_text(tmp: Path) -> None:
    """"mean": "x" once marked every photo unreadable; now the run stops and blames the model."""
    _index_with_broken_model(tmp, "visual/preprocess_cfg.json", "mean", "x")


def install_corrupt_onnx(tmp: Path) -> None:
    model = tmp / "corrupt"
    shutil.copytree(TINY, model)
    (model / "textual" / "model.onnx").write_bytes(os.urandom(4096))
    expect_error(huisou("models", "install", model), code=1, naming=model / "textual/model.onnx")
    assert not (Path(os.environ["HUISOU_HOME"]) / "models" / "corrupt").exists()


def install_nan_weights(tmp: Path) -> None:
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = tmp / "nan"
    shutil.copytree(TINY, model)
    path = model / "visual" / "model.onnx"
    graph = onnx.load(str(path))
    biggest = max(graph.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    array = numpy_helper.to_array(biggest).copy()
    array[...] = np.nan
    biggest.CopyFrom(numpy_helper.from_array(array, biggest.name))
    onnx.save(graph, str(path))
    run = expect_error(huisou("models", "install", model), code=1, naming=path)
    assert "non-finite" in run.stderr, run.describe()


def _config_error(line: str, key: str) -> None:
    home = Path(os.environ["HUISOU_HOME"])
    (home / "config.toml").write_text(line + "\n")
    run = expect_error(huisou("status"), code=1, naming=home / "config.toml")
    assert key in run.stderr, run.describe()


def config_threads_100000(tmp: Path) -> None:
    """threads = 100000 once ran for minutes."""
    _config_error("threads = 100000", "threads")


def config_negative_batch(tmp: Path) -> None:
    _config_error("batch_size = -4", "batch_size")


def config_unknown_key(tmp: Path) -> None:
    _config_error("treads = 4", "treads")


def relative_plugins_dir_follows_the_config_file(tmp: Path) -> None:
    home = fake_home()
    (home / "config.toml").write_text(
        'backend = "fake"\nstore = "numpy"\nplugins_dir = "plugins"\n'
    )
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    run = expect_ok(huisou("plugins", "--json", cwd=elsewhere))
    assert "plugins_dir:fakes" in run.stdout, run.describe()


def _usage(*args: object) -> None:
    fake_home()
    run = expect_error(huisou(*args), code=2)
    assert run.stderr.startswith("huisou: error: "), run.describe()


def usage_threads_negative(tmp: Path) -> None:
    _usage("index", "--threads", "-3")


def usage_min_score_out_of_range(tmp: Path) -> None:
    _usage("search", "red", "--min-score", "2")


def usage_min_score_nan(tmp: Path) -> None:
    _usage("search", "red", "--min-score", "nan")


def usage_reversed_dates(tmp: Path) -> None:
    _usage("search", "red", "--after", "2024-01-01", "--before", "2020-01-01")


def usage_unknown_option_is_one_line(tmp: Path) -> None:
    _usage("search", "red", "--no-such-option")


def a_file_is_a_usage_error_for_index_and_sources_add(tmp: Path) -> None:
    photo = make_photos(tmp / "photos", 1)[0]
    _usage("index", photo)
    _usage("sources", "add", photo)


def failed_index_registers_nothing(tmp: Path) -> None:
    fake_home()
    make_photos(tmp / "x", 2)
    expect_error(huisou("index", tmp / "x", "--backend", "onnx-clip", "--model", "/nope"),
                 code=1, naming="/nope")
    assert json.loads(expect_ok(huisou("sources", "list", "--json")).stdout) == []


def nested_source_is_not_left_unindexed(tmp: Path) -> None:
    fake_home()
    make_photos(tmp / "photos" / "natural", 3)
    expect_ok(huisou("index", tmp / "photos"))
    expect_ok(huisou("index", tmp / "photos" / "natural"))
    listing = expect_ok(huisou("sources", "list")).stdout
    assert "not indexed" not in listing and listing.count("\n") == 1, listing


def models_remove_without_terminal_refuses(tmp: Path) -> None:
    expect_ok(huisou("models", "install", TINY, "--name", "tiny"))
    expect_error(huisou("models", "remove", "tiny"), code=2)
    assert (Path(os.environ["HUISOU_HOME"]) / "models" / "tiny").is_dir()


def search_says_the_library_is_empty(tmp: Path) -> None:
    fake_home()
    run = expect_ok(huisou("search", "red"))
    assert "library is empty" in run.stderr, run.describe()


def search_query_starting_with_a_dash(tmp: Path) -> None:
    fake_home()
    make_photos(tmp / "photos", 2)
    expect_ok(huisou("index", tmp / "photos"))
    run = expect_ok(huisou("search", "-people", "--json"))
    assert isinstance(json.loads(run.stdout), list), run.describe()


def search_after_quantize_explains(tmp: Path) -> None:
    """auto switches to int8 after quantize; a library indexed at fp32 is told why it finds
    nothing and how to search its fp32 vectors."""
    (Path(os.environ["HUISOU_HOME"]) / "config.toml").write_text('store = "numpy"\n')
    make_photos(tmp / "photos", 3)
    expect_ok(huisou("models", "install", TINY, "--name", "tiny"))
    expect_ok(huisou("index", tmp / "photos", "--model", "tiny"))
    expect_ok(huisou("models", "quantize", "tiny", timeout=240))
    run = expect_ok(huisou("search", "a cat", "--model", "tiny", "--precision", "int8"))
    assert "no vectors for model 'tiny'" in run.stderr and "--precision" in run.stderr, (
        run.describe()
    )


def onnx_runtime_writes_no_telemetry(tmp: Path) -> None:
    home = tmp / "fresh-home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    expect_ok(huisou("models", "install", TINY, "--name", "tiny", env=env))
    written = [str(p) for p in home.rglob("*")]
    assert not any("Microsoft" in p for p in written), written


CASES = [
    Case("models: preprocess size 100000x100000", huge_preprocess_size, timeout=60),
    Case("models: embed_dim 1e12", huge_embed_dim, timeout=60),
    Case("models: mean is text, photos not blamed", mean_is_text, timeout=60),
    Case("models: install a corrupt model.onnx", install_corrupt_onnx, timeout=90),
    Case("models: install towers with NaN weights", install_nan_weights, timeout=90),
    Case("models: config threads = 100000", config_threads_100000),
    Case("models: config batch_size = -4", config_negative_batch),
    Case("models: config unknown key", config_unknown_key),
    Case("models: relative plugins_dir follows config.toml", relative_plugins_dir_follows_the_config_file),
    Case("models: --threads -3", usage_threads_negative),
    Case("models: --min-score 2", usage_min_score_out_of_range),
    Case("models: --min-score nan", usage_min_score_nan),
    Case("models: reversed dates", usage_reversed_dates),
    Case("models: unknown option is one line", usage_unknown_option_is_one_line),
    Case("models: a file for index and sources add", a_file_is_a_usage_error_for_index_and_sources_add),
    Case("models: failed index registers nothing", failed_index_registers_nothing),
    Case("models: nested source", nested_source_is_not_left_unindexed),
    Case("models: remove without a terminal", models_remove_without_terminal_refuses, timeout=90),
    Case("models: search in an empty library", search_says_the_library_is_empty),
    Case("models: search -people", search_query_starting_with_a_dash),
    Case("models: search after quantize", search_after_quantize_explains, timeout=300),
    Case("models: no ONNX Runtime telemetry", onnx_runtime_writes_no_telemetry, timeout=90),
]
