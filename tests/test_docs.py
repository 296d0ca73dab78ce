"""The plugin docs stay honest: every hook is documented with its arguments, and tested.

Modelled on datasette's ``test_plugin_hooks_are_documented`` and
``test_plugin_hooks_have_tests``: adding a hook to ``huisou.core.hookspecs`` without a section
in ``docs/plugin-hooks.md`` and a ``test_hook_<name>`` test fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from huisou.core import hookspecs
from huisou.core.plugins import PluginHost

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HEADING = re.compile(r"^## (\w+)\(([^)]*)\)\s*$", re.M)


def spec_argnames() -> dict[str, tuple[str, ...]]:
    """Hook name -> argnames, read from the plugin manager (what pluggy actually calls)."""
    host = PluginHost(load_entry_points=False, builtins=())
    names = [name for name in dir(host.pm.hook) if not name.startswith("_")]
    return {name: tuple(getattr(host.pm.hook, name).spec.argnames) for name in names}


def documented() -> dict[str, tuple[str, ...]]:
    text = (DOCS / "plugin-hooks.md").read_text(encoding="utf-8")
    return {
        name: tuple(a.strip() for a in args.split(",") if a.strip())
        for name, args in HEADING.findall(text)
    }


def test_hook_names_constant_matches_specs():
    assert set(hookspecs.HOOK_NAMES) == set(spec_argnames())


@pytest.mark.parametrize("hook", sorted(spec_argnames()))
def test_plugin_hooks_are_documented(hook):
    docs = documented()
    assert hook in docs, f"docs/plugin-hooks.md has no '## {hook}(...)' section"
    assert docs[hook] == spec_argnames()[hook], (
        f"docs/plugin-hooks.md documents {hook}{docs[hook]}, the spec takes "
        f"{spec_argnames()[hook]}"
    )


def test_no_documented_hook_is_unknown():
    assert set(documented()) <= set(spec_argnames())


def _test_function_names() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.add(node.name)
    return found


@pytest.mark.parametrize("hook", sorted(spec_argnames()))
def test_plugin_hooks_have_tests(hook):
    assert f"test_hook_{hook}" in _test_function_names(), (
        f"no test_hook_{hook} test in tests/: write one that drives the hook through the host"
    )


@pytest.mark.parametrize("page", ["plugin-hooks.md", "writing-plugins.md", "testing-plugins.md"])
def test_plugin_docs_exist_and_link(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([\w./-]+\.md)\)", text):
        assert (DOCS / target).exists(), f"{page} links to missing {target}"


def test_writing_plugins_covers_each_kind_with_an_entry_point():
    text = (DOCS / "writing-plugins.md").read_text(encoding="utf-8")
    assert text.count("[project.entry-points.huisou]") >= 4
    for base in ("MediaSource", "EmbeddingBackend", "VectorStore", "MetadataExtractor"):
        assert f"({base})" in text, f"writing-plugins.md has no {base} subclass example"
    assert "plugins_dir" in text


def test_writing_plugins_python_blocks_compile():
    text = (DOCS / "writing-plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    for block in blocks:
        compile(block, "writing-plugins.md", "exec")


@pytest.mark.parametrize("hook", sorted(spec_argnames()))
def test_documented_signature_block_matches_the_spec(hook):
    """The ``def`` line under each heading parses and takes the spec's arguments, in order."""
    text = (DOCS / "plugin-hooks.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {hook}\(.*?\)\n\n```python\n(.*?)```", text, re.M | re.S)
    assert match, f"no python signature block right under '## {hook}(...)'"
    func = next(n for n in ast.parse(match.group(1)).body if isinstance(n, ast.FunctionDef))
    assert func.name == hook
    assert tuple(a.arg for a in func.args.args) == spec_argnames()[hook]
