"""Config values and command-line arguments are checked, and errors are one documented line.

Issue 11 "Honest answers" and "Models and config are input too": ``threads = 100000`` ran for
minutes, ``batch_size = -4`` and unknown keys were accepted silently, usage errors were
click's four-line block, ``index FILE`` and ``sources add FILE`` exited differently, a failed
``index /x --model /nope`` still registered ``/x`` and a nested source stayed "not indexed".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from huisou.core.config import load_config
from huisou.core.errors import ConfigError

TESTS = Path(__file__).resolve().parent
TINY = TESTS / "models" / "tiny_clip"
NATURAL = TESTS / "data" / "natural"
FAKES = "from huisou.testing.fakes import register_embedding_backends  # noqa: F401\n"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("threads = 100000", ["threads", "between 0 and 256"]),
        ("threads = -3", ["threads", "between 0 and 256"]),
        ("batch_size = -4", ["batch_size", "between 1 and 1024"]),
        ("batch_size = 0", ["batch_size", "between 1 and 1024"]),
        ("batch_size = true", ["batch_size", "must be int"]),
        ('precision = "int4"', ["precision", "auto, int8, fp32"]),
        ("treads = 4", ["treads", "unknown setting", "threads"]),
        ('store_options = "dsn"', ["store_options", "table"]),
    ],
)
def test_config_values_are_checked_with_one_line_naming_file_and_key(tmp_path, line, words):
    config = tmp_path / "config.toml"
    config.write_text(line + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert str(config) in message and "\n" not in message
    for word in words:
        assert word in message, message


def test_relative_paths_in_config_are_read_against_the_config_file(tmp_path, monkeypatch):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "config.toml").write_text(
        'plugins_dir = "my-plugins"\nmodels_dir = "m"\ndb = "lib/x.db"\n'
    )
    monkeypatch.chdir(tmp_path)  # not the config's directory
    config = load_config(folder / "config.toml")
    assert config.plugins_dir == str(folder / "my-plugins")
    assert config.models_path == folder / "m"
    assert config.db_path == folder / "lib" / "x.db"


@pytest.fixture
def home(huisou_home: Path) -> Path:
    plugins = huisou_home / "plugins"
    plugins.mkdir()
    (plugins / "fakes.py").write_text(FAKES)
    (huisou_home / "config.toml").write_text(
        'backend = "fake"\nstore = "numpy"\nbatch_size = 2\nplugins_dir = "plugins"\n'
    )
    return huisou_home


@pytest.fixture
def run_cli(home, capsys):
    """``huisou ARGS`` in this process: (exit code, stdout, stderr)."""
    from huisou.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    return run


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    (root / "natural").mkdir(parents=True)
    for source in sorted(p for p in NATURAL.iterdir() if p.suffix == ".png")[:3]:
        shutil.copy(source, root / "natural" / source.name)
    return root


def _one_usage_line(code: int, err: str) -> None:
    assert code == 2, err
    assert err.startswith("huisou: error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "args",
    [
        ["index", "--threads", "-3"],
        ["index", "--threads", "100000"],
        ["search", "--no-such-option"],
        ["search"],
        ["sources", "add"],
        ["nonsense-command"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(run_cli, args):
    _one_usage_line(*run_cli(*args)[::2])


def test_a_file_is_the_same_usage_error_for_index_and_sources_add(run_cli, photos):
    photo = next((photos / "natural").iterdir())
    for command in (["index"], ["sources", "add"]):
        code, _out, err = run_cli(*command, str(photo))
        _one_usage_line(code, err)
        assert "is a file, not a folder" in err
        code, _out, err = run_cli(*command, str(photos / "missing"))
        _one_usage_line(code, err)
        assert "not an existing folder" in err


def test_a_failed_index_does_not_register_its_folder(run_cli, photos, tmp_path):
    code, _out, err = run_cli("index", str(photos), "--backend", "onnx-clip", "--model", "/nope")
    assert code == 1 and "/nope" in err and err.count("\n") == 1, err
    code, out, _err = run_cli("sources", "list", "--json")
    assert json.loads(out) == []


def test_a_nested_folder_is_indexed_by_its_source_not_added_beside_it(run_cli, photos):
    assert run_cli("index", str(photos))[0] == 0
    code, _out, err = run_cli("index", str(photos / "natural"))
    assert code == 0 and "inside source 1" in err, err
    code, out, _err = run_cli("sources", "list", "--json")
    rows = json.loads(out)
    assert [row["root"] for row in rows] == [str(photos)]
    assert rows[0]["counts"] == {"indexed": 3}
    code, _out, err = run_cli("sources", "add", str(photos / "natural"))
    assert code == 1 and "inside source 1" in err and err.count("\n") == 1, err


def test_sources_list_explains_a_nested_source_made_by_an_older_version(run_cli, photos, home):
    from huisou.core.catalog import Catalog

    assert run_cli("index", str(photos))[0] == 0
    catalog = Catalog(home / "library.db")
    catalog.add_source("folder", str(photos / "natural"), {})  # what older versions did
    catalog.close()
    code, out, _err = run_cli("sources", "list")
    assert code == 0 and "not indexed" not in out
    assert "photos indexed by source 1" in out, out


def test_sources_add_and_remove_print_json(run_cli, photos):
    code, out, _err = run_cli("sources", "add", str(photos), "--json")
    added = json.loads(out)
    assert code == 0 and added["root"] == str(photos) and added["type"] == "folder"
    code, out, _err = run_cli("sources", "remove", str(added["id"]), "--json")
    removed = json.loads(out)
    assert code == 0 and removed["removed"]["id"] == added["id"]
    assert removed["catalog_entries"] == 0


def test_plugin_new_prints_json(run_cli, tmp_path):
    code, out, err = run_cli(
        "plugin", "new", "huisou-demo", "--kind", "source", "--dir", str(tmp_path), "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["path"] == str(tmp_path / "huisou-demo") and data["kind"] == "source"
    assert "pyproject.toml" in data["files"]
