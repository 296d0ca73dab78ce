"""Models are a host concept: any backend's models through ``PluginHost.model_manager``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from huisou import hookimpl
from huisou.core.errors import HuisouError, PluginError
from huisou.core.interfaces import EmbeddingBackend
from huisou.core.models import ModelInfo, ModelManager, language_notice, query_languages
from huisou.core.plugins import PluginHost


class FakeManager(ModelManager):
    backend_id = "fake-models"
    removed: list[str] = []

    def list_models(self) -> list[ModelInfo]:
        return [ModelInfo("fake-zh", self.backend_id, languages=("zh",), licence="CC0",
                          installed=True, size=1234)]

    def download(self, name, progress=None, endpoint=None, timeout=30.0) -> Path:
        raise HuisouError(f"{name}: nothing to download")

    def install(self, directory, name=None, link=False, force=False) -> Path:
        return Path(directory)

    def remove(self, name, int8_only=False) -> None:
        self.removed.append(name)


class FakeBackend(EmbeddingBackend):
    backend_id = "fake-models"
    dimensions = 4
    model_fingerprint = "fake"

    def embed_images(self, prepared):  # pragma: no cover - not used here
        raise NotImplementedError

    def embed_texts(self, texts):  # pragma: no cover - not used here
        raise NotImplementedError

    @classmethod
    def model_manager(cls, models_dir):
        return FakeManager(models_dir)


class NoModelsBackend(FakeBackend):
    backend_id = "no-models"

    @classmethod
    def model_manager(cls, models_dir):
        return None


class Plugin:
    @hookimpl
    def register_embedding_backends(self, register):
        register(FakeBackend)
        register(NoModelsBackend)


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setenv("HUISOU_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUISOU_CONFIG", raising=False)
    host = PluginHost(load_entry_points=False)
    host.register(Plugin(), name="fake-models-plugin")
    return host


def test_each_backend_answers_through_the_host(host, tmp_path):
    clip = host.model_manager("onnx-clip", tmp_path)
    rows = {info.name: info for info in clip.list_models()}
    assert "ViT-B-32__openai" in rows and rows["ViT-B-32__openai"].licence.startswith("MIT")
    assert rows["ViT-B-32__openai"].languages == ("en",)
    assert host.model_manager("fake-models", tmp_path).languages("fake-zh") == ("zh",)
    assert {m.backend_id for m in host.model_managers(tmp_path)} >= {"onnx-clip", "fake-models"}
    with pytest.raises(PluginError, match="has no models"):
        host.model_manager("no-models", tmp_path)
    with pytest.raises(PluginError, match="unknown embedding backend 'nope'"):
        host.model_manager("nope", tmp_path)


def test_models_cli_serves_a_third_party_backend(host, monkeypatch):
    import huisou.core.plugins as plugins
    from huisou.cli.main import cli

    monkeypatch.setattr(plugins, "_default_host", host)
    result = CliRunner().invoke(cli, ["models", "--backend", "fake-models", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["name"] == "fake-zh"
    assert json.loads(result.output)[0]["licence"] == "CC0"
    result = CliRunner().invoke(cli, ["models", "--backend", "fake-models", "remove", "x", "-y"])
    assert result.exit_code == 0 and FakeManager.removed == ["x"]
    result = CliRunner().invoke(cli, ["models", "--backend", "fake-models", "import", "chinese-clip",
                                      "."])
    assert isinstance(result.exception, HuisouError)
    assert "unknown import format 'chinese-clip' (known: none)" in str(result.exception)


def test_query_languages_reads_scripts_not_words():
    assert query_languages("一朵花的照片") == ["zh"]
    assert query_languages("a photo of a flower, café") == []
    assert query_languages("一只cat在草地上") == ["zh"]
    assert query_languages("ＡＢＣ") == []  # full-width Latin is still Latin
    assert query_languages("ねこ 猫 고양이") == ["ja", "zh", "ko"]
    assert query_languages("🌸🐱") == []


def test_language_notice_names_a_model_that_covers_the_query():
    english = ModelInfo("en-model", "b", languages=("en",), installed=True)
    chinese = ModelInfo("zh-model", "b", languages=("zh", "en"), catalog=True)
    multi = ModelInfo("multi", "b", languages=("multilingual",), installed=True)
    notice = language_notice("一朵花", english, [english, chinese])
    assert notice is not None and "Chinese" in notice and "en-model" in notice
    assert "`huisou models download zh-model`" in notice
    assert "--model multi (installed)" in language_notice("一朵花", english, [chinese, multi])
    assert language_notice("a flower", english, [chinese]) is None
    assert language_notice("一朵花", chinese, [english]) is None
    assert language_notice("一朵花", multi, [english]) is None
    unknown = ModelInfo("local", "b")
    assert language_notice("一朵花", unknown, [chinese]) is None
