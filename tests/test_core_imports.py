"""The headless core and CLI must stay light: no UI, no numerical stack at start-up."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("onnxruntime", "numpy", "PIL", "textual", "sqlite_vec", "tokenizers")


def _loaded_after(code: str) -> set[str]:
    probe = (
        "import sys, json\n"
        f"{code}\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy():
    code = (
        "from huisou.cli.main import cli\n"
        "try:\n"
        "    cli.main(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass"
    )
    assert _loaded_after(code) == set()


def test_cli_command_modules_import_no_textual():
    code = "\n".join(
        f"import {module}"
        for module in (
            "huisou.cli.index_cmd",
            "huisou.cli.search_cmd",
            "huisou.cli.status_cmd",
            "huisou.cli.sources_cmd",
            "huisou.cli.info_cmd",
            "huisou.cli.plugins_cmd",
            "huisou.cli.doctor_cmd",
            "huisou.core.indexer",
            "huisou.core.search",
            "huisou.core.plugins",
        )
    )
    assert "textual" not in _loaded_after(code)


def test_builtin_plugins_import_light():
    code = (
        "from huisou.core.plugins import PluginHost, DEFAULT_PLUGINS\n"
        "host = PluginHost(load_entry_points=False)\n"
        "assert not host.problems, host.problems"
    )
    assert _loaded_after(code) == set()


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "huisou", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "huisou" in result.stdout


def _imported_modules(path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_cli_and_tui_use_the_host_model_api_not_the_clip_plugin():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = {
        str(path.relative_to(root)): sorted(m for m in _imported_modules(path)
                                            if m.startswith("huisou.plugins.clip_search"))
        for folder in ("cli", "tui", "core")
        for path in (root / folder).rglob("*.py")
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}
