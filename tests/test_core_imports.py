"""The headless core and CLI must stay light: no UI, no numerical stack at start-up."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

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


ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(path: Path, text: str | None = None) -> set[str]:
    """Every ``huisou`` module a file imports, anywhere in it (lazy imports inside functions and
    ``TYPE_CHECKING`` blocks included), relative imports resolved, plus module names written as
    strings (``importlib.import_module("huisou.plugins...")`` is an import too)."""
    package = _package_of(path)
    names: set[str] = set()
    for node in ast.walk(ast.parse(text if text is not None else path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
            node.value.startswith("huisou.") and " " not in node.value
        ):
            names.add(node.value)
    return {name for name in names if name == "huisou" or name.startswith("huisou.")}


def _package_of(path: Path) -> list[str]:
    """The dotted package a file belongs to, for resolving its relative imports."""
    parts = path.relative_to(ROOT).parent.parts
    if parts[:1] == ("examples",):  # examples/<distribution>/<package>/...: not huisou's
        return list(parts[2:])
    return ["huisou", *parts]


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _offenders(files: list[Path], forbidden: Callable[[Path, str], bool]) -> dict[str, list[str]]:
    found = {
        str(path.relative_to(ROOT)): sorted(m for m in _imported_modules(path) if forbidden(path, m))
        for path in files
    }
    return {path: modules for path, modules in found.items() if modules}


def _under(module: str, *prefixes: str) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def test_the_layer_scan_sees_lazy_relative_and_string_imports():
    """Guard for the rules below: the scan finds imports hidden where a grep would not."""
    seen = _imported_modules(ROOT / "plugins" / "clip_search" / "export" / "cn_clip_export.py")
    assert "huisou.plugins.clip_search.export.open_clip_export" in seen  # relative import
    assert "huisou.plugins.media_sources.folder" in _imported_modules(ROOT / "core" / "plugins.py")
    lazy = "def f():\n    if True:\n        from huisou.plugins.x import y\n"
    assert "huisou.plugins.x.y" in _imported_modules(ROOT / "cli" / "probe.py", lazy)
    dynamic = "import importlib\nimportlib.import_module('huisou.tui.app')\n"
    assert "huisou.tui.app" in _imported_modules(ROOT / "core" / "probe.py", dynamic)
    example = ROOT / "examples" / "huisou-x" / "huisou_x" / "probe.py"
    assert _imported_modules(example, "from .source import X\n") == set()  # its own package


def test_core_imports_no_plugin_and_no_ui():
    """The host knows its built-ins only by name (DEFAULT_PLUGINS strings, loaded at run time)."""
    from huisou.core.plugins import DEFAULT_PLUGINS

    def forbidden(path: Path, module: str) -> bool:
        if path == ROOT / "core" / "plugins.py" and module in DEFAULT_PLUGINS:
            return False  # names the host loads as plugins, never imports as a dependency
        return _under(module, "huisou.plugins", "huisou.cli", "huisou.tui", "huisou.testing")

    assert _offenders(_files("core"), forbidden) == {}


def test_plugins_import_core_only():
    """A built-in plugin uses ``huisou`` (hookimpl), ``huisou.core`` and its own package: no
    CLI, no TUI, no test kit, and no other plugin's internals."""

    def forbidden(path: Path, module: str) -> bool:
        own = "huisou.plugins." + path.relative_to(ROOT / "plugins").parts[0].removesuffix(".py")
        return not (_core_or_top_level(module) or _under(module, own))

    assert _offenders(_files("plugins"), forbidden) == {}


def test_example_plugins_import_core_only():
    """The third-party examples follow the same rule (their tests may use the test kit)."""
    sources = [path for path in _files("examples") if "tests" not in path.relative_to(ROOT).parts]
    assert sources
    assert _offenders(sources, lambda _path, module: not _core_or_top_level(module)) == {}


def _core_or_top_level(module: str) -> bool:
    return module in ("huisou", "huisou.hookimpl", "huisou.__version__") or _under(
        module, "huisou.core"
    )


def test_cli_and_tui_import_nothing_from_plugins():
    """The CLI and TUI use the host API (models, sniffing, sources...): not even a lazy import
    of ``huisou.plugins`` inside a function."""

    def forbidden(path: Path, module: str) -> bool:
        return _under(module, "huisou.plugins")

    assert _offenders(_files("cli") + _files("tui"), forbidden) == {}
