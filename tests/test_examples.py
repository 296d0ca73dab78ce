"""The example plugin in ``examples/`` passes its own test suite, installed as users install it.

``examples/install.sh`` (called by ``scripts/test.sh`` and CI) pip-installs the distribution;
here its tests run in a subprocess with ``python -P`` from a neutral directory, so the plugin can
only come from the installed distribution through its ``huisou`` entry point.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CASES = [
    pytest.param("huisou-listfile", "listfile", id="listfile"),
    pytest.param("huisou-xmp-rating", "xmp-rating", id="xmp-rating"),
    pytest.param("huisou-takeout", "takeout", id="takeout"),
]


@pytest.mark.parametrize(("dist", "entry_point"), CASES)
def test_example_is_installed_with_its_entry_point(dist, entry_point):
    try:
        distribution = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        pytest.fail(f"{dist} is not installed: run examples/install.sh (scripts/test.sh does)")
    names = {ep.name for ep in distribution.entry_points if ep.group == "huisou"}
    assert entry_point in names


@pytest.mark.parametrize(("dist", "entry_point"), CASES)
def test_example_suite_passes(dist, entry_point, tmp_path):
    test_example_is_installed_with_its_entry_point(dist, entry_point)
    result = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", str(EXAMPLES / dist / "tests"), "-q",
         "-p", "no:cacheprovider", "--rootdir", str(EXAMPLES / dist)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
    assert result.returncode == 0, f"{dist} tests failed:\n{tail}"
    assert " passed" in result.stdout and " failed" not in result.stdout, tail


#: What plugins may import of huisou: the names the plugin docs use (writing-plugins.md,
#: testing-plugins.md). Anything else is internal and may change under a plugin.
PUBLIC = ("huisou.core.interfaces", "huisou.core.fields", "huisou.core.errors")
TEMPLATES = Path(__file__).resolve().parent.parent / "cli" / "templates" / "plugin"


def _huisou_imports(source: str) -> set[tuple[str, str]]:
    """``(module, name)`` of every ``huisou`` import in ``source``, nested ones too."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "huisou":
            found |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {(a.name, "") for a in node.names if a.name.split(".")[0] == "huisou"}
    return found


@pytest.mark.parametrize("path", [
    *sorted(EXAMPLES.glob("huisou-*/huisou_*/*.py")),
    *sorted(TEMPLATES.glob("*.py.tmpl")),
], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plugins_and_templates_import_only_the_public_api(path):
    text = path.read_text(encoding="utf-8").replace("{{module}}", "plugin").replace(
        "{{class}}", "Plugin")
    private = {(module, name) for module, name in _huisou_imports(text)
               if (module, name) != ("huisou", "hookimpl") and module not in PUBLIC
               and not module.startswith("huisou.testing")}
    assert not private, f"{path.name} imports huisou internals: {sorted(private)}"
