"""The plugin host: loads built-ins, entry points and one-file plugins; a typed facade over pluggy.

Nothing outside this module calls ``pm.hook.*``. Every hook call goes through
:meth:`PluginHost._call_each`, which calls implementations one by one so that a plugin that
raises or returns garbage is reported by name and the others go on.

Environment:
- ``HUISOU_LOAD_PLUGINS``: comma-separated distribution or module names to load instead of
  all entry points (empty = load no external plugin; built-ins always load).
- ``HUISOU_DISABLE_PLUGINS``: comma-separated plugin names to block (built-ins included).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from huisou.core import hookspecs
from huisou.core.errors import PluginError
from huisou.core.fields import BUILTIN_FIELDS, Field, FieldError, declare
from huisou.core.interfaces import (
    EmbeddingBackend,
    MediaSource,
    MetadataExtractor,
    SearchSignal,
    VectorStore,
)
from huisou.core.models import ModelHost

log = logging.getLogger(__name__)

#: Built-in plugins, registered before entry points (so third parties run first, LIFO).
DEFAULT_PLUGINS: tuple[str, ...] = (
    "huisou.plugins.media_sources.decode",
    "huisou.plugins.media_sources.exif",
    "huisou.plugins.media_sources.folder",
    "huisou.plugins.media_sources.android",
    "huisou.plugins.clip_search.backend",
    "huisou.plugins.clip_search.stores",
    "huisou.plugins.clip_search.commands",
    "huisou.plugins.postgres",
    "huisou.plugins.thumbnails",
)

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME


@dataclass
class PluginProblem:
    """A plugin that failed to load or misbehaved in a hook, with a one-line reason."""

    plugin: str
    hook: str | None
    message: str

    def __str__(self) -> str:
        where = f" in {self.hook}" if self.hook else ""
        return f"plugin {self.plugin!r}{where}: {self.message}"


@dataclass
class PluginInfo:
    """One row of ``huisou plugins``."""

    name: str
    version: str | None
    hooks: list[str]
    builtin: bool
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "hooks": self.hooks,
            "builtin": self.builtin,
            "errors": self.errors,
        }


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


class PluginHost(ModelHost):
    """Owns the pluggy manager and answers typed questions about registered plugins."""

    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        plugins_dir: str | os.PathLike[str] | None = None,
        builtins: Iterable[str] = DEFAULT_PLUGINS,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.problems: list[PluginProblem] = []
        self._builtin_names: set[str] = set()
        self._versions: dict[str, str | None] = {}
        self._cache: dict[str, Any] = {}
        for name in _env_list("HUISOU_DISABLE_PLUGINS") or []:
            self.pm.set_blocked(name)
        for module_path in builtins:
            self._register_module_path(module_path, builtin=True)
        if load_entry_points:
            self._load_entry_points()
        if plugins_dir:
            self.load_plugins_dir(plugins_dir)

    # -- loading ---------------------------------------------------------------------------

    def _register_module_path(self, module_path: str, *, builtin: bool) -> None:
        if self.pm.is_blocked(module_path):
            return
        try:
            module = importlib.import_module(module_path)
        except Exception as exc:  # a broken plugin must never take huisou down
            self._problem(module_path, None, f"failed to import: {type(exc).__name__}: {exc}")
            return
        self.register(module, name=module_path, builtin=builtin)

    def _load_entry_points(self) -> None:
        wanted = _env_list("HUISOU_LOAD_PLUGINS")
        try:
            entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:  # pragma: no cover - broken metadata
            self._problem("<entry points>", None, str(exc))
            return
        for ep in entry_points:
            dist_name = ep.dist.name if ep.dist else None
            if wanted is not None and ep.name not in wanted and dist_name not in wanted:
                continue
            if self.pm.is_blocked(ep.name) or self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                self._problem(ep.name, None, f"failed to import: {type(exc).__name__}: {exc}")
                continue
            version = ep.dist.version if ep.dist else None
            self.register(plugin, name=ep.name, version=version)

    def load_plugins_dir(self, directory: str | os.PathLike[str]) -> None:
        """Load every ``*.py`` file of a directory as a plugin (for users who do not package)."""
        path = Path(directory).expanduser()
        if not path.is_dir():
            return
        for file in sorted(path.glob("*.py")):
            name = f"plugins_dir:{file.stem}"
            if self.pm.is_blocked(file.stem) or self.pm.get_plugin(name) is not None:
                continue
            try:
                module = _import_file(file, f"huisou_local_plugins.{file.stem}")
            except BaseException as exc:  # SyntaxError included
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._problem(name, None, f"failed to import {file}: {type(exc).__name__}: {exc}")
                continue
            self.register(module, name=name)

    def register(
        self,
        plugin: object,
        name: str | None = None,
        *,
        builtin: bool = False,
        version: str | None = None,
    ) -> str | None:
        """Register a plugin object (module or instance); returns its name, or None on error."""
        try:
            registered = self.pm.register(plugin, name=name)
        except Exception as exc:
            self._problem(name or repr(plugin), None, f"rejected: {exc}")
            return None
        if registered is None:
            return None
        if builtin:
            self._builtin_names.add(registered)
        self._versions[registered] = version
        self._cache.clear()
        return registered

    def unregister(self, name: str) -> None:
        """Remove a plugin by name (tests register temporary plugins this way)."""
        self.pm.unregister(name=name)
        self._cache.clear()

    def _problem(self, plugin: str, hook: str | None, message: str) -> None:
        problem = PluginProblem(plugin, hook, message)
        self.problems.append(problem)
        log.warning("%s", problem)

    # -- calling hooks -----------------------------------------------------------------------

    def _impls(self, hook_name: str) -> list[pluggy.HookImpl]:
        """Implementations in call order (pluggy calls the list back to front)."""
        return list(reversed(getattr(self.pm.hook, hook_name).get_hookimpls()))

    def _call_each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call each implementation on its own; an exception is reported, not propagated."""
        results: list[tuple[str, Any]] = []
        for impl in self._impls(hook_name):
            args = {name: kwargs[name] for name in impl.argnames}
            try:
                results.append((impl.plugin_name, impl.function(**args)))
            except Exception as exc:
                self._problem(impl.plugin_name, hook_name, f"raised {type(exc).__name__}: {exc}")
        return results

    def _collect(self, hook_name: str, check: Callable[[Any], str | None]) -> list[tuple[str, Any]]:
        """Run a ``register_*`` hook: ``(plugin name, object)`` pairs that pass ``check``."""
        if hook_name in self._cache:
            return self._cache[hook_name]
        collected: list[tuple[str, Any]] = []
        for impl in self._impls(hook_name):

            def register(
                obj: Any, *_args: Any, _plugin: str = impl.plugin_name, **_kw: Any
            ) -> None:
                problem = check(obj)
                if problem:
                    self._problem(_plugin, hook_name, problem)
                else:
                    collected.append((_plugin, obj))

            try:
                impl.function(**{name: register for name in impl.argnames})
            except Exception as exc:
                self._problem(impl.plugin_name, hook_name, f"raised {type(exc).__name__}: {exc}")
        self._cache[hook_name] = collected
        return collected

    def _by_id(self, hook_name: str, base: type, id_attr: str) -> dict[str, Any]:
        """Registered classes by id. When two plugins claim one id, the first called wins
        (third-party plugins are called before built-ins, so they can replace one) and the
        other is reported, so ``huisou plugins`` shows the clash instead of hiding it."""
        key = f"{hook_name}/by-id"
        if key not in self._cache:
            by_id: dict[str, Any] = {}
            owners: dict[str, str] = {}
            for plugin, cls in self._collect(hook_name, _class_check(base, id_attr)):
                ident = getattr(cls, id_attr)
                if ident in by_id:
                    self._problem(
                        plugin,
                        hook_name,
                        f"{id_attr} {ident!r} is also registered by plugin {owners[ident]!r},"
                        " which takes precedence",
                    )
                    continue
                by_id[ident], owners[ident] = cls, plugin
            self._cache[key] = by_id
        return self._cache[key]

    def media_sources(self) -> dict[str, type[MediaSource]]:
        """Registered source classes by ``type_id``."""
        return self._by_id("register_media_sources", MediaSource, "type_id")

    def embedding_backends(self) -> dict[str, type[EmbeddingBackend]]:
        """Registered backend classes by ``backend_id``."""
        return self._by_id("register_embedding_backends", EmbeddingBackend, "backend_id")

    def vector_stores(self) -> dict[str, type[VectorStore]]:
        """Registered store classes by ``store_id``."""
        return self._by_id("register_vector_stores", VectorStore, "store_id")

    def metadata_extractors(self) -> list[MetadataExtractor]:
        """Registered extractor instances, in call order (later ones override earlier keys)."""

        def check(obj: Any) -> str | None:
            if not isinstance(obj, MetadataExtractor):
                return f"registered {obj!r}, which is not a MetadataExtractor instance"
            return None

        return [obj for _plugin, obj in self._collect("register_metadata_extractors", check)]

    def fields(self) -> dict[str, Field]:
        """Every field by name: the built-ins, then those plugins declare. A plugin that
        declares a built-in's name, or a name another plugin declared with another type, is
        reported and its declaration ignored (the same declaration twice is fine)."""
        if "fields" in self._cache:
            return self._cache["fields"]
        fields = {f.name: f for f in BUILTIN_FIELDS}
        for impl in self._impls("register_fields"):

            def register(
                name: Any, type: Any, description: Any = "", *, fulltext: Any = False,
                _plugin: str = impl.plugin_name,
            ) -> None:
                self._declare(fields, _plugin, name, type, description, fulltext)

            try:
                impl.function(**{arg: register for arg in impl.argnames})
            except Exception as exc:
                self._problem(impl.plugin_name, "register_fields", f"raised {exc}")
        self._cache["fields"] = fields
        return fields

    def _declare(self, fields: dict[str, Field], plugin: str, name: Any, type_: Any,
                 description: Any, fulltext: Any) -> None:
        try:
            field_ = declare(name, type_, description, fulltext=fulltext, owner=plugin)
        except FieldError as exc:
            self._problem(plugin, "register_fields", str(exc))
            return
        earlier = fields.get(field_.name)
        if earlier is None:
            fields[field_.name] = field_
        elif earlier.builtin or earlier.type != field_.type:
            self._problem(
                plugin, "register_fields",
                f"field {field_.name!r} ({field_.type}) is already declared by "
                f"{earlier.owner!r} as {earlier.type}; this declaration is ignored",
            )

    def search_signals(self) -> list[SearchSignal]:
        """Registered search signal instances (names unique: a clash is reported)."""
        if "search_signals" in self._cache:
            return self._cache["search_signals"]

        def check(obj: Any) -> str | None:
            if not isinstance(obj, SearchSignal):
                return f"registered {obj!r}, which is not a SearchSignal instance"
            if not isinstance(getattr(obj, "name", None), str):
                return f"{type(obj).__name__} has no string name"
            return None

        seen: set[str] = set()
        signals = []
        for plugin, obj in self._collect("register_search_signals", check):
            if obj.name in seen:
                self._problem(plugin, "register_search_signals",
                              f"signal {obj.name!r} is already registered; ignored")
                continue
            seen.add(obj.name)
            signals.append(obj)
        self._cache["search_signals"] = signals
        return signals

    def report_once(self, plugin: str, hook: str | None, message: str) -> None:
        """Report a plugin's problem once per process (an undeclared field key is met on
        every photo; saying it once is enough)."""
        key = (plugin, hook, message)
        reported = self._cache.setdefault("reported-once", set())
        if key not in reported:
            reported.add(key)
            self._problem(plugin, hook, message)

    def tui_panels(self) -> list[tuple[str, Callable[..., Any]]]:
        """Extra TUI panels as ``(name, factory)``."""
        panels: list[tuple[str, Callable[..., Any]]] = []
        for impl in self._impls("register_tui_panels"):

            def register(name: str, factory: Callable[..., Any]) -> None:
                panels.append((name, factory))

            try:
                impl.function(register=register)
            except Exception as exc:
                self._problem(impl.plugin_name, "register_tui_panels", f"raised {exc}")
        return panels

    def get_source_class(self, type_id: str) -> type[MediaSource]:
        sources = self.media_sources()
        if type_id not in sources:
            known = ", ".join(sorted(sources)) or "none"
            raise PluginError(f"unknown source type {type_id!r} (known: {known})")
        return sources[type_id]

    def get_backend_class(self, backend_id: str) -> type[EmbeddingBackend]:
        backends = self.embedding_backends()
        if backend_id not in backends:
            known = ", ".join(sorted(backends)) or "none"
            raise PluginError(f"unknown embedding backend {backend_id!r} (known: {known})")
        return backends[backend_id]

    def get_store_class(self, store_id: str) -> type[VectorStore]:
        stores = self.vector_stores()
        if store_id not in stores:
            known = ", ".join(sorted(stores)) or "none"
            raise PluginError(f"unknown vector store {store_id!r} (known: {known})")
        return stores[store_id]

    def load_image(self, item: Any, fp: Any, size_hint: int) -> Any:
        """First decoder that answers wins; decoder errors (UnreadableMedia...) propagate.

        A :class:`~huisou.core.errors.MediaError` is the decoder's verdict on the photo and is
        raised to the indexer; any other exception is the plugin's bug: it is reported under
        the plugin's name and the next decoder gets its turn.
        """
        from huisou.core.errors import MediaError

        for impl in self._impls("load_image"):
            fp.seek(0)
            args = {"item": item, "fp": fp, "size_hint": size_hint}
            try:
                result = impl.function(**{name: args[name] for name in impl.argnames})
            except MediaError:
                raise
            except Exception as exc:
                self._problem(impl.plugin_name, "load_image", f"raised {type(exc).__name__}: {exc}")
                continue
            if result is not None:
                if not hasattr(result, "image"):
                    self._problem(
                        impl.plugin_name,
                        "load_image",
                        f"returned {type(result).__name__}, not DecodedImage",
                    )
                    continue
                return result
        return None

    def register_commands(self, cli: Any) -> None:
        self._call_each("register_commands", cli=cli)

    def before_index(self, run: Any) -> None:
        self._call_each("before_index", run=run)

    def items_indexed(self, run: Any, paths: list[str]) -> None:
        self._call_each("items_indexed", run=run, paths=paths)

    def items_failed(self, run: Any, failures: list[tuple[str, str, str]]) -> None:
        self._call_each("items_failed", run=run, failures=failures)

    def after_index(self, run: Any, summary: Any) -> None:
        self._call_each("after_index", run=run, summary=summary)

    def items_moved(self, run: Any, moves: list[tuple[str, str]]) -> None:
        self._call_each("items_moved", run=run, moves=moves)

    def items_removed(self, run: Any, paths: list[str]) -> None:
        self._call_each("items_removed", run=run, paths=paths)

    def on_index_error(self, run: Any, error: BaseException) -> None:
        self._call_each("on_index_error", run=run, error=error)

    # -- introspection -------------------------------------------------------------------------

    def plugin_infos(self, include_builtins: bool = False) -> list[PluginInfo]:
        """Each plugin with the hooks it implements, its version and any reported problems."""
        infos: list[PluginInfo] = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda pair: pair[0]):
            builtin = name in self._builtin_names
            if builtin and not include_builtins:
                continue
            callers = self.pm.get_hookcallers(plugin) or []
            version = self._versions.get(name)
            if builtin:
                from huisou import __version__

                version = __version__
            infos.append(
                PluginInfo(
                    name=name,
                    version=version,
                    hooks=sorted(caller.name for caller in callers),
                    builtin=builtin,
                    errors=[str(p) for p in self.problems if p.plugin == name],
                )
            )
        registered = {info.name for info in infos} | self._builtin_names
        for problem in self.problems:
            if problem.plugin not in registered and problem.hook is None:
                infos.append(PluginInfo(problem.plugin, None, [], False, [str(problem)]))
                registered.add(problem.plugin)
        return infos


def _class_check(base: type, id_attr: str) -> Callable[[Any], str | None]:
    def check(obj: Any) -> str | None:
        if not (isinstance(obj, type) and issubclass(obj, base)):
            return f"registered {obj!r}, which is not a {base.__name__} subclass"
        if not isinstance(getattr(obj, id_attr, None), str):
            return f"{obj.__name__} has no string {id_attr}"
        return None

    return check


def _import_file(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


_default_host: PluginHost | None = None


def get_host(plugins_dir: str | os.PathLike[str] | None = None) -> PluginHost:
    """The process-wide host, built on first use (lazy and idempotent, as in llm)."""
    global _default_host
    if _default_host is None:
        _default_host = PluginHost(plugins_dir=plugins_dir)
    elif plugins_dir:
        _default_host.load_plugins_dir(plugins_dir)
    return _default_host


def reset_host() -> None:
    """Forget the process-wide host (tests)."""
    global _default_host
    _default_host = None
