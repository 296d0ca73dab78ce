"""The host lets pluggy call the hooks: wrappers run, unknown hooks are reported, tracing works.

Pluggy itself calls every hook (``pm.hook.<name>(...)``); the host only guards each plugin's
implementation so that a plugin that raises is reported by name while the others go on. These
tests check what that buys plugin authors: ``@hookimpl(wrapper=True)`` and old-style
``hookwrapper=True`` implementations run (around a real ``huisou index`` with the toy CLIP
model), a misspelled hook is reported with its name instead of being silently never called,
and ``HUISOU_TRACE_PLUGINS=1`` traces every hook call.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest
from huisou import hookimpl
from huisou.core.errors import PluginError
from huisou.core.interfaces import MediaSource, VectorStore
from huisou.core.plugins import STORES, PluginHost

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "tests" / "models" / "toy_shapes"
DEMO = ROOT / "docs" / "demo-photos"
FAKES_PLUGIN = "from huisou.testing.fakes import register_embedding_backends, register_vector_stores\n"

LOGGING_PLUGIN_HEAD = textwrap.dedent("""
    import json
    import os

    from huisou import hookimpl


    def _log(*entry):
        with open(os.environ["HUISOU_TEST_LOG"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\\n")
""")

WRAPPERS_PLUGIN = LOGGING_PLUGIN_HEAD + textwrap.dedent("""
    @hookimpl(wrapper=True)
    def after_index(run, summary):
        _log("wrapper before", summary.indexed)
        result = yield
        _log("wrapper after", result)
        return result


    @hookimpl(hookwrapper=True)
    def items_indexed(run, paths):
        outcome = yield
        _log("old-style wrapper after", len(paths), outcome.get_result())
""")

PLAIN_PLUGIN = LOGGING_PLUGIN_HEAD + textwrap.dedent("""
    @hookimpl
    def after_index(run, summary):
        _log("plain after_index", summary.indexed)
        return "plain result"
""")

TYPO_PLUGIN = textwrap.dedent("""
    from huisou import hookimpl
    from huisou.core.interfaces import MediaSource
    from huisou.testing.fakes import MemoryVectorStore


    class TypoSource(MediaSource):
        type_id = "typo-source"

        def scan(self, cancel=None):
            return iter(())


    @hookimpl
    def register_vector_store(register):  # misspelled: huisou never calls it
        register(MemoryVectorStore)


    @hookimpl
    def after_indexx(run, summary):  # misspelled too
        raise AssertionError("never called")


    @hookimpl(optionalhook=True)
    def register_something_from_a_newer_huisou(register):  # declared optional: no report
        pass


    @hookimpl
    def register_media_sources(register):  # spelled right: still works
        register(TypoSource)
""")


def huisou(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh process (one process = one plugin host)."""
    full_env = {k: v for k, v in os.environ.items() if k != "HUISOU_TRACE_PLUGINS"}
    full_env.update(HUISOU_HOME=str(home), HUISOU_LOAD_PLUGINS="", **env)
    return subprocess.run([sys.executable, "-m", "huisou", *args], capture_output=True,
                          text=True, env=full_env, timeout=180)


@pytest.fixture
def home_with_plugins(tmp_path: Path) -> tuple[Path, Path]:
    """``(HUISOU_HOME, plugins_dir)``: the fake backend/store as a one-file plugin."""
    home, plugins = tmp_path / "home", tmp_path / "local-plugins"
    home.mkdir()
    plugins.mkdir()
    (plugins / "fakes_plugin.py").write_text(FAKES_PLUGIN)
    (home / "config.toml").write_text(f"plugins_dir = {str(plugins)!r}\n")
    return home, plugins


def read_log(path: Path) -> list[list[Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- wrappers run ------------------------------------------------------------------------------


def test_wrappers_run_around_hooks_during_a_real_index(home_with_plugins, tmp_path):
    """``wrapper=True`` around after_index sees the other implementations' results; an old-style
    ``hookwrapper=True`` around items_indexed gets its outcome: pluggy runs both."""
    home, plugins = home_with_plugins
    (plugins / "wrappers.py").write_text(WRAPPERS_PLUGIN)
    (plugins / "plain.py").write_text(PLAIN_PLUGIN)
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("red-circle.jpg", "blue-square.jpg", "green-triangle.jpg", "yellow-circle.jpg"):
        shutil.copy(DEMO / name, photos / name)
    log = tmp_path / "hooks.log"
    indexed = huisou(["index", str(photos), "--model", str(TOY), "--backend", "onnx-clip",
                      "--store", "numpy", "--json"], home, HUISOU_TEST_LOG=str(log))
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout.splitlines()[-1])["indexed"] == 4
    entries = read_log(log)
    old_style = [e for e in entries if e[0] == "old-style wrapper after"]
    assert old_style and sum(e[1] for e in old_style) == 4
    assert all(e[2] == [] for e in old_style)  # the outcome of the wrapped call
    assert [e for e in entries if e[0] != "old-style wrapper after"] == [
        ["wrapper before", 4],
        ["plain after_index", 4],
        ["wrapper after", ["plain result"]],
    ]
    assert "plugin" not in indexed.stderr  # no plugin was reported


def test_wrapper_raising_is_reported_by_name_and_the_hook_goes_on():
    calls: list[Any] = []

    class Outer:
        @hookimpl(wrapper=True)
        def after_index(self, run, summary):
            calls.append("outer before")
            result = yield
            calls.append(("outer after", result))
            return result

    class BrokenSetup:
        @hookimpl(wrapper=True)
        def after_index(self, run, summary):
            raise ValueError("setup bug")
            yield  # pragma: no cover - a generator that fails before yielding

    class BrokenTeardown:
        @hookimpl(hookwrapper=True)
        def after_index(self, run, summary):
            yield
            raise KeyError("teardown bug")

    class Quiet:
        @hookimpl
        def after_index(self, run, summary):
            calls.append("quiet")
            return "quiet result"

    class Noisy:
        @hookimpl
        def after_index(self, run, summary):
            raise RuntimeError("noisy")

    host = PluginHost(load_entry_points=False, builtins=())  # only these plugins
    for plugin, name in ((Quiet(), "quiet"), (Noisy(), "noisy"), (BrokenSetup(), "broken-setup"),
                         (BrokenTeardown(), "broken-teardown"), (Outer(), "outer")):
        host.register(plugin, name=name)
    host.after_index(object(), object())
    assert calls == ["outer before", "quiet", ("outer after", ["quiet result"])]
    assert [str(p) for p in host.problems] == [
        "plugin 'broken-setup' in after_index: raised ValueError: setup bug",
        "plugin 'noisy' in after_index: raised RuntimeError: noisy",
        "plugin 'broken-teardown' in after_index: raised KeyError: 'teardown bug'",
    ]


def test_raising_plugin_is_reported_by_name_and_the_others_still_run(huisou_host,
                                                                     register_plugin):
    """Each implementation is guarded on its own, and each registration is credited to the
    plugin that made it, even though pluggy calls them all in one go."""

    class Mine(MediaSource):
        type_id: ClassVar[str] = "mine"

        def scan(self, cancel=None):
            return iter(())

    class Theirs(Mine):
        type_id: ClassVar[str] = "theirs"

    class RegistersThenRaises:
        @hookimpl
        def register_media_sources(self, register):
            register(Mine)
            raise ImportError("optional SDK missing")

    class Sloppy:
        @hookimpl
        def register_media_sources(self, register):
            register("not a class")

    class Good:
        @hookimpl
        def register_media_sources(self, register):
            register(Theirs)

    register_plugin(Good(), name="good")
    register_plugin(RegistersThenRaises(), name="raises")
    register_plugin(Sloppy(), name="sloppy")
    sources = huisou_host.media_sources()
    assert {"folder", "android", "mine", "theirs"} <= set(sources)
    assert [str(p) for p in huisou_host.problems] == [
        "plugin 'sloppy' in register_media_sources: registered 'not a class', which is not a "
        "MediaSource subclass",
        "plugin 'raises' in register_media_sources: raised ImportError: optional SDK missing",
    ]
    assert huisou_host.media_sources() is sources  # cached: registered once per host


def test_one_generic_class_lookup():
    host = PluginHost(load_entry_points=False)
    import huisou.testing.fakes as fakes

    host.register(fakes, name="fakes")
    assert host.get_class(STORES, "memory") is fakes.MemoryVectorStore
    assert issubclass(host.get_store_class("numpy"), VectorStore)
    with pytest.raises(PluginError, match=r"unknown vector store 'nope' \(known: .*memory"):
        host.get_class(STORES, "nope")
    with pytest.raises(PluginError, match="unknown source type 'nope'"):
        host.get_source_class("nope")
    with pytest.raises(PluginError, match="unknown embedding backend 'nope'"):
        host.get_backend_class("nope")


# -- unknown hooks ------------------------------------------------------------------------------


def test_misspelled_hooks_are_reported_with_their_names(home_with_plugins, photo_folder):
    home, plugins = home_with_plugins
    (plugins / "typo.py").write_text(TYPO_PLUGIN)
    listed = huisou(["plugins", "--all", "--json"], home)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    row = rows["plugins_dir:typo"]
    assert row["unknown_hooks"] == ["after_indexx", "register_vector_store"]
    assert row["hooks"] == ["register_media_sources"]
    assert len(row["errors"]) == 2
    assert "unknown hook 'register_vector_store'" in row["errors"][1]
    assert "did you mean 'register_vector_stores'?" in row["errors"][1]
    assert "unknown hook 'after_indexx'" in row["errors"][0]
    assert "register_something_from_a_newer_huisou" not in listed.stdout + listed.stderr
    assert rows["plugins_dir:fakes_plugin"]["errors"] == []
    assert all(r["unknown_hooks"] == [] for name, r in rows.items() if name != row["name"])

    text = huisou(["plugins"], home)
    assert "unknown hook 'register_vector_store'" in text.stdout

    # the other plugins (and this one's correctly spelled hook) keep working; one warning each
    indexed = huisou(["index", str(photo_folder), "--backend", "fake", "--store", "memory",
                      "--json"], home)
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout.splitlines()[-1])["indexed"] == len(photo_folder.photos)
    warnings = [line for line in indexed.stderr.splitlines() if "unknown hook" in line]
    assert len(warnings) == 2, indexed.stderr
    assert any("plugins_dir:typo" in w and "'register_vector_store'" in w for w in warnings)
    host = PluginHost(load_entry_points=False, plugins_dir=plugins)
    assert "typo-source" in host.media_sources()


def test_unknown_hook_of_a_registered_object(huisou_host, register_plugin):
    class Typo:
        @hookimpl
        def items_index(self, run, paths):
            pass

    register_plugin(Typo(), name="typo")
    (problem,) = huisou_host.problems
    assert (problem.plugin, problem.hook) == ("typo", "items_index")
    assert "did you mean 'items_indexed'?" in problem.message
    (info,) = [i for i in huisou_host.plugin_infos() if i.name == "typo"]
    assert info.unknown_hooks == ["items_index"] and info.hooks == []


# -- tracing ------------------------------------------------------------------------------------


def test_trace_plugins_prints_every_hook_call(monkeypatch, capsys):
    monkeypatch.delenv("HUISOU_TRACE_PLUGINS", raising=False)
    quiet = PluginHost(load_entry_points=False)
    quiet.media_sources()
    quiet.after_index(object(), object())
    assert capsys.readouterr().err == ""

    monkeypatch.setenv("HUISOU_TRACE_PLUGINS", "1")
    host = PluginHost(load_entry_points=False)
    host.media_sources()
    host.after_index("the-run", "the-summary")
    err = capsys.readouterr().err
    assert "register_media_sources [hook]" in err
    assert "finish register_media_sources" in err
    assert "after_index [hook]" in err and "the-summary" in err


def test_trace_plugins_in_a_real_run(home_with_plugins, photo_folder):
    home, _plugins = home_with_plugins
    indexed = huisou(["index", str(photo_folder), "--backend", "fake", "--store", "memory",
                      "--json"], home, HUISOU_TRACE_PLUGINS="1")
    assert indexed.returncode == 0, indexed.stderr
    for hook in ("register_media_sources", "before_index", "load_image", "items_indexed",
                 "after_index"):
        assert f"{hook} [hook]" in indexed.stderr, hook
