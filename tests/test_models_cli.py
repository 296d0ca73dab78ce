"""``huisou models`` commands through click, with HUISOU_HOME in a temp dir."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from huisou.core.errors import HuisouError

TINY = Path(__file__).resolve().parent / "models" / "tiny_clip"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUISOU_CONFIG", raising=False)
    return tmp_path / "home"


def run(*args: str):
    """Through the top-level group, so plugin subcommands (``export``) are there too."""
    from huisou.cli.main import cli

    return CliRunner().invoke(cli, ["models", *args], catch_exceptions=True)


def test_list_shows_catalog_with_status(home):
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert {"ViT-B-32__openai", "RN50__cc12m",
            "XLM-Roberta-Base-ViT-B-32__laion5b_s13b_b90k"} <= set(rows)
    assert rows["ViT-B-32__openai"]["installed"] is False
    assert "zh" in rows["XLM-Roberta-Base-ViT-B-32__laion5b_s13b_b90k"]["languages"]
    text = run("list").output
    assert "ViT-B-32__openai" in text and "LANGUAGES" in text


def test_install_copy_then_list_quantize_remove(home, tmp_path):
    pytest.importorskip("onnx")
    source = tmp_path / "download" / "my-model"
    shutil.copytree(TINY, source)
    result = run("install", str(source), "--name", "tiny")
    assert result.exit_code == 0, result.output
    assert (home / "models" / "tiny" / "visual" / "model.onnx").is_file()
    assert not (home / "models" / "tiny").is_symlink()
    shutil.rmtree(source)  # a copy survives the user's clean-up
    rows = {row["name"]: row for row in json.loads(run("list", "--json").output)}
    assert rows["tiny"]["installed"] and not rows["tiny"]["catalog"]

    again = run("install", str(TINY), "--name", "tiny")
    assert isinstance(again.exception, HuisouError) and "already installed" in str(again.exception)

    result = run("quantize", "tiny", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    from huisou.plugins.clip_search.quantize import default_weight_type

    assert record["options"]["weight_type"] == default_weight_type()
    for tower in ("visual", "textual"):
        assert (home / "models" / "tiny" / tower / "model_int8.onnx").is_file()
        assert record["sizes"][tower]["int8_bytes"] < record["sizes"][tower]["fp32_bytes"]
        assert 0.99 < record["checks"][tower]["min_cosine"] <= 1.0
    from huisou.plugins.clip_search.backend import OnnxClipBackend

    auto = OnnxClipBackend("tiny", models_dir=str(home / "models"))
    assert auto.precision == ("int8" if record["recommended"] else "fp32")

    assert run("remove", "tiny", "--int8-only").exit_code == 0
    assert not (home / "models" / "tiny" / "visual" / "model_int8.onnx").exists()
    assert run("remove", "tiny", "--yes").exit_code == 0
    assert not (home / "models" / "tiny").exists()
    gone = run("remove", "tiny", "--yes")
    assert isinstance(gone.exception, HuisouError) and "not installed" in str(gone.exception)


def test_install_link_and_validation(home, tmp_path):
    result = run("install", str(TINY), "--name", "linked", "--link")
    assert result.exit_code == 0, result.output
    assert (home / "models" / "linked").is_symlink()
    run("remove", "linked", "--yes")
    assert TINY.is_dir() and (TINY / "config.json").is_file()  # symlink removed, not the target

    broken = tmp_path / "broken"
    shutil.copytree(TINY, broken)
    (broken / "visual" / "preprocess_cfg.json").unlink()
    bad = run("install", str(broken))
    assert isinstance(bad.exception, HuisouError)
    assert "missing visual/preprocess_cfg.json" in str(bad.exception)


def test_download_unknown_name(home):
    result = run("download", "no-such-model")
    assert isinstance(result.exception, HuisouError)
    assert "unknown model 'no-such-model'" in str(result.exception)


def test_export_without_torch_says_what_to_install(home, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    result = run("export", "--arch", "ViT-B-32", "--name", "x")
    assert isinstance(result.exception, HuisouError)
    assert "pip install 'huisou[export]'" in str(result.exception)
    assert not (home / "models" / "x").exists()


def test_models_group_is_registered_on_the_cli():
    from huisou.cli.main import cli

    result = CliRunner().invoke(cli, ["models", "--help"])
    assert result.exit_code == 0
    for sub in ("list", "download", "install", "quantize", "remove", "export"):
        assert sub in result.output


def test_auto_weight_type_follows_the_cpu():
    from huisou.plugins.clip_search.quantize import default_weight_type

    assert default_weight_type("aarch64", "") == "qint8"
    assert default_weight_type("x86_64", "flags\t: fpu avx2 avx512f avx512_vnni\n") == "qint8"
    assert default_weight_type("x86_64", "flags\t: fpu avx2 avx_vnni\n") == "qint8"
    assert default_weight_type("x86_64", "flags\t: fpu sse4_2 avx2 fma\n") == "quint8"


@pytest.mark.parametrize("link", [False, True])
def test_install_force_of_the_installed_directory_itself_keeps_it(home, link):
    """``install --force`` pointed at the installed model must not delete it before copying."""
    assert run("install", str(TINY), "--name", "tiny", *(["--link"] if link else [])).exit_code == 0
    installed = home / "models" / "tiny"
    again = run("install", str(installed), "--name", "tiny", "--force")
    assert isinstance(again.exception, HuisouError), again.output
    assert "already installed" in str(again.exception) and str(installed) in str(again.exception)
    assert (installed / "visual" / "model.onnx").is_file()
    assert (TINY / "visual" / "model.onnx").is_file()


def test_a_failed_requantize_does_not_leave_the_old_recommendation(tmp_path, monkeypatch):
    """New int8 files must not inherit ``recommended: true`` measured on the previous ones."""
    pytest.importorskip("onnx")
    from huisou.plugins.clip_search import quantize as quantize_mod
    from huisou.plugins.clip_search.backend import int8_recommended
    from huisou.plugins.clip_search.modeldir import ModelDir

    model = tmp_path / "tiny"
    shutil.copytree(TINY, model)
    model_dir = ModelDir.open(model)
    quantize_mod.quantize_model(model_dir)
    (model / "quantization.json").write_text(json.dumps({"recommended": True}))
    assert int8_recommended(model_dir)

    def broken_measure(*_args, **_kwargs):
        raise RuntimeError("measurement interrupted")

    monkeypatch.setattr(quantize_mod, "measure", broken_measure)
    with pytest.raises(RuntimeError):
        quantize_mod.quantize_model(model_dir)
    assert not int8_recommended(model_dir)


@pytest.mark.parametrize("content", ["{not json", '{"models": [{"name": "x"}]}', None])
def test_a_broken_model_catalog_is_one_line_naming_the_file(home, tmp_path, monkeypatch, content):
    catalog = tmp_path / "catalog.json"
    if content is not None:
        catalog.write_text(content)
    monkeypatch.setenv("HUISOU_MODEL_CATALOG", str(catalog))
    result = run("list")
    assert isinstance(result.exception, HuisouError), repr(result.exception)
    message = str(result.exception)
    assert str(catalog) in message and "\n" not in message
