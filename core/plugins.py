"""The plugin host: loads built-ins, entry points and one-file plugins; a typed facade over pluggy.

Nothing outside this module calls ``pm.hook.*``. Pluggy itself calls every hook, so hook
wrappers (``@hookimpl(wrapper=True)``, old-style ``hookwrapper=True``) run and tracing works;
what the host adds is a guard around each implementation, put in place when its plugin is
registered: an implementation that raises, or returns or registers something of the wrong
type, is reported under its plugin's name and the call goes on with the other plugins.

Environment:
- ``HUISOU_LOAD_PLUGINS``: comma-separated distribution or module names to load instead of
  all entry points (empty = load no external plugin; built-ins always load).
- ``HUISOU_DISABLE_PLUGINS``: comma-separated plugin names to block (built-ins included).
- ``HUISOU_TRACE_PLUGINS=1``: write every hook call, its arguments and its result to stderr
  (pluggy's tracing, as ``DATASETTE_TRACE_PLUGINS`` does).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Generator, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from huisou.core import hookspecs
from huisou.core.errors import MediaError, PluginError
from huisou.core.fields import BUILTIN_FIELDS, Field, FieldError, declare
from huisou.core.interfaces import (
    EmbeddingBackend,
    Executor,
    MediaSource,
    MetadataExtractor,
    SearchSignal,
    VectorStore,
)
from huisou.core.models import ModelHost

log = logging.getLogger(__name__)

#: Built-in plugins, registered before entry points (so third parties run first, LIFO).
DEFAULT_PLUGINS: tuple[str, ...] = (
    "huisou.core.local_executor",
    "huisou.plugins.media_sources.decode",
    "huisou.plugins.media_sources.exif",
    "huisou.plugins.media_sources.folder",
    "huisou.plugins.media_sources.android",
    "huisou.plugins.clip_search.backend",
    "huisou.plugins.clip_search.stores",
    "huisou.plugins.clip_search.commands",
    "huisou.plugins.postgres",
    "huisou.plugins.text_signal",
    "huisou.plugins.thumbnails",
    "huisou.plugins.ocr",
    "huisou.plugins.ray_executor",
)

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME

#: The plugin whose hook implementation is running on this thread, so that the ``register``
#: callback of a ``register_*`` hook knows whom to credit (or blame) for what it receives.
_calling: ContextVar[str | None] = ContextVar("huisou_plugin_calling", default=None)

#: Who a ``register`` callback credits when it is called outside any hook implementation (a
#: plugin that kept the callback and called it later).
UNKNOWN_PLUGIN = "<unknown plugin>"

#: Problems reported with ``once=True`` that were already warned about: one warning per process,
#: however many hosts the process builds.
_warned_once: set[tuple[str, str | None, str]] = set()


@dataclass(frozen=True)
class Registry:
    """A ``register_*`` hook whose plugins register classes under a string id."""

    hook: str
    base: type
    id_attr: str
    noun: str


SOURCES = Registry("register_media_sources", MediaSource, "type_id", "source type")
BACKENDS = Registry("register_embedding_backends", EmbeddingBackend, "backend_id",
                    "embedding backend")
STORES = Registry("register_vector_stores", VectorStore, "store_id", "vector store")
EXECUTORS = Registry("register_executors", Executor, "executor_id", "executor")


@dataclass(frozen=True)
class _Rules:
    """How the guard treats one hook's implementations (the default: report any exception)."""

    #: Exceptions that are the implementation's answer, not its bug: they reach the caller.
    verdicts: tuple[type[BaseException], ...] = ()
    #: A one-line complaint about a non-None result, or None when it is acceptable.
    check: Callable[[Any], str | None] | None = None
    #: Argument to rewind (``seek(0)``) before each implementation reads it.
    rewind: str | None = None


def _decoded_check(result: Any) -> str | None:
    return None if hasattr(result, "image") else f"returned {type(result).__name__}, not DecodedImage"


#: A MediaError from a decoder is its verdict on the photo (UnreadableMedia...), for the indexer;
#: every decoder reads the file from its start.
_RULES: dict[str, _Rules] = {
    "load_image": _Rules(verdicts=(MediaError,), check=_decoded_check, rewind="fp"),
}


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
    #: Hooks the plugin implements that huisou has no spec for (a typo, or a hook of another
    #: huisou version): never called.
    unknown_hooks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "hooks": self.hooks,
            "builtin": self.builtin,
            "errors": self.errors,
            "unknown_hooks": self.unknown_hooks,
        }


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _raised(exc: BaseException) -> str:
    return f"raised {type(exc).__name__}: {exc}"


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
        self._reported_once: set[tuple[str, str | None, str]] = set()
        if os.environ.get("HUISOU_TRACE_PLUGINS", "") not in ("", "0"):
            self.pm.trace.root.setwriter(lambda message: sys.stderr.write(message))
            self.pm.enable_tracing()
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
        self._guard_impls(plugin)
        self._report_unknown_hooks(plugin, registered)
        if builtin:
            self._builtin_names.add(registered)
        self._versions[registered] = version
        self._cache.clear()
        return registered

    def unregister(self, name: str) -> None:
        """Remove a plugin by name (tests register temporary plugins this way)."""
        self.pm.unregister(name=name)
        self._cache.clear()

    def _problem(self, plugin: str, hook: str | None, message: str, *, once: bool = False) -> None:
        key = (plugin, hook, message)
        if once and key in self._reported_once:
            return
        problem = PluginProblem(plugin, hook, message)
        self.problems.append(problem)
        if once:
            self._reported_once.add(key)
            if key in _warned_once:
                return
            _warned_once.add(key)
        log.warning("%s", problem)

    # -- guarding implementations -------------------------------------------------------------

    def _guard_impls(self, plugin: object) -> None:
        """Wrap each of the plugin's hook functions in a guard, before pluggy ever calls them.

        pluggy keeps the argument names it read from the original function, so it still passes
        each implementation exactly the arguments it declares.
        """
        for caller in self.pm.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    wrap = self._guard_wrapper if impl.wrapper or impl.hookwrapper else self._guard
                    impl.function = wrap(impl, caller.name)  # type: ignore[misc]

    def _guard(self, impl: pluggy.HookImpl, hook: str) -> Callable[..., Any]:
        """An ordinary implementation: its exception or wrong result is reported, and it
        answers None instead, so the next plugin gets its turn."""
        function, plugin, rules = impl.function, impl.plugin_name, _RULES.get(hook, _Rules())
        rewind = impl.argnames.index(rules.rewind) if rules.rewind in impl.argnames else None

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            token = _calling.set(plugin)
            try:
                if rewind is not None:
                    args[rewind].seek(0)
                result = function(*args, **kwargs)
            except rules.verdicts:
                raise
            except Exception as exc:
                self._problem(plugin, hook, _raised(exc))
                return None
            finally:
                _calling.reset(token)
            problem = rules.check(result) if rules.check and result is not None else None
            if problem:
                self._problem(plugin, hook, problem)
                return None
            return result

        return guarded

    def _guard_wrapper(self, impl: pluggy.HookImpl, hook: str) -> Callable[..., Any]:
        """A hook wrapper (new or old style): if its code before or after ``yield`` raises, that
        is reported and the wrapped call goes on (or its result stands) as if it were absent."""
        function, plugin = impl.function, impl.plugin_name

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Generator[None, Any, Any]:
            token = _calling.set(plugin)
            try:
                teardown = function(*args, **kwargs)
                next(teardown)
            except StopIteration:
                self._problem(plugin, hook, "wrapper returned without yielding")
                teardown = None
            except Exception as exc:
                self._problem(plugin, hook, _raised(exc))
                teardown = None
            finally:
                _calling.reset(token)
            if teardown is None:
                return (yield)
            try:
                sent = yield
            except BaseException as exc:  # the wrapped call raised: the wrapper sees it
                return self._finish_wrapper(teardown, plugin, hook, None, exc)
            return self._finish_wrapper(teardown, plugin, hook, sent, None)

        return guarded

    def _finish_wrapper(
        self,
        teardown: Generator[None, Any, Any],
        plugin: str,
        hook: str,
        sent: Any,
        thrown: BaseException | None,
    ) -> Any:
        """Run a wrapper's code after ``yield``; its return value replaces the result (new
        style; pluggy ignores it for old-style wrappers, which are sent a ``Result``)."""
        token = _calling.set(plugin)
        try:
            if thrown is not None:
                teardown.throw(thrown)
            else:
                teardown.send(sent)
        except StopIteration as stop:
            return stop.value
        except Exception as exc:
            if exc is thrown:
                raise
            self._problem(plugin, hook, _raised(exc))
        else:
            teardown.close()
            self._problem(plugin, hook, "wrapper yielded more than once")
        finally:
            _calling.reset(token)
        if thrown is not None:
            raise thrown
        return sent

    # -- unknown hooks ------------------------------------------------------------------------

    def _unknown_hooks(self, plugin: object) -> list[str]:
        """Hooks the plugin implements that have no spec, except those marked optional."""
        return sorted(
            caller.name
            for caller in self.pm.get_hookcallers(plugin) or []
            if not caller.has_spec()
            and any(impl.plugin is plugin and not impl.optionalhook
                    for impl in caller.get_hookimpls())
        )

    def _report_unknown_hooks(self, plugin: object, name: str) -> None:
        """``pm.check_pending()`` semantics, but every unknown hook is reported (pluggy raises
        on the first one) and the plugin's other hooks keep working."""
        known = [n for n, c in vars(self.pm.hook).items() if not n.startswith("_") and c.has_spec()]
        for hook in self._unknown_hooks(plugin):
            close = difflib.get_close_matches(hook, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self._problem(name, hook, f"unknown hook {hook!r}{hint}: huisou never calls it",
                          once=True)

    # -- calling hooks -----------------------------------------------------------------------

    def _call(self, hook: str, **kwargs: Any) -> Any:
        return getattr(self.pm.hook, hook)(**kwargs)

    def _collect(
        self,
        hook: str,
        check: Callable[[Any], str | None],
        pack: Callable[..., Any] = lambda obj, *_args, **_kw: obj,
    ) -> list[tuple[str, Any]]:
        """Run a ``register_*`` hook once: ``(plugin name, object)`` pairs that pass ``check``.

        ``pack`` turns the arguments of one ``register(...)`` call into the object kept (by
        default the first one; later keyword options are ignored until the host uses them).
        """
        if hook in self._cache:
            return self._cache[hook]
        collected: list[tuple[str, Any]] = []

        def register(*args: Any, **kwargs: Any) -> None:
            plugin = _calling.get() or UNKNOWN_PLUGIN
            obj = pack(*args, **kwargs)
            problem = check(obj)
            if problem:
                self._problem(plugin, hook, problem)
            else:
                collected.append((plugin, obj))

        self._call(hook, register=register)
        self._cache[hook] = collected
        return collected

    def classes(self, registry: Registry) -> dict[str, Any]:
        """Registered classes by id. When two plugins claim one id, the first called wins
        (third-party plugins are called before built-ins, so they can replace one) and the
        other is reported, so ``huisou plugins`` shows the clash instead of hiding it."""
        key = f"{registry.hook}/by-id"
        if key not in self._cache:
            by_id: dict[str, Any] = {}
            owners: dict[str, str] = {}
            for plugin, cls in self._collect(registry.hook, _class_check(registry)):
                ident = getattr(cls, registry.id_attr)
                if ident in by_id:
                    self._problem(
                        plugin,
                        registry.hook,
                        f"{registry.id_attr} {ident!r} is also registered by plugin"
                        f" {owners[ident]!r}, which takes precedence",
                    )
                    continue
                by_id[ident], owners[ident] = cls, plugin
            self._cache[key] = by_id
        return self._cache[key]

    def get_class(self, registry: Registry, ident: str) -> Any:
        """The class registered under ``ident``; a :class:`PluginError` naming the known ids."""
        found = self.classes(registry)
        if ident not in found:
            known = ", ".join(sorted(found)) or "none"
            raise PluginError(f"unknown {registry.noun} {ident!r} (known: {known})")
        return found[ident]

    def media_sources(self) -> dict[str, type[MediaSource]]:
        """Registered source classes by ``type_id``."""
        return self.classes(SOURCES)

    def embedding_backends(self) -> dict[str, type[EmbeddingBackend]]:
        """Registered backend classes by ``backend_id``."""
        return self.classes(BACKENDS)

    def vector_stores(self) -> dict[str, type[VectorStore]]:
        """Registered store classes by ``store_id``."""
        return self.classes(STORES)

    def get_source_class(self, type_id: str) -> type[MediaSource]:
        return self.get_class(SOURCES, type_id)

    def get_backend_class(self, backend_id: str) -> type[EmbeddingBackend]:
        return self.get_class(BACKENDS, backend_id)

    def get_store_class(self, store_id: str) -> type[VectorStore]:
        return self.get_class(STORES, store_id)

    def executors(self) -> dict[str, type[Executor]]:
        """Registered executor classes by ``executor_id``."""
        return self.classes(EXECUTORS)

    def get_executor_class(self, executor_id: str) -> type[Executor]:
        return self.get_class(EXECUTORS, executor_id)

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

        def register(name: Any, type: Any, description: Any = "", *, fulltext: Any = False) -> None:
            plugin = _calling.get() or UNKNOWN_PLUGIN
            self._declare(fields, plugin, name, type, description, fulltext)

        self._call("register_fields", register=register)
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
        """Report a plugin's problem once (an undeclared field key is met on every photo;
        saying it once is enough): recorded once per host, warned about once per process."""
        self._problem(plugin, hook, message, once=True)

    def tui_panels(self) -> list[tuple[str, Callable[..., Any]]]:
        """Extra TUI panels as ``(name, factory)``."""

        def check(panel: tuple[Any, Any]) -> str | None:
            name, factory = panel
            if not (isinstance(name, str) and callable(factory)):
                return f"registered {panel!r}, not a name and a factory"
            return None

        def pack(name: Any, factory: Any, *_args: Any, **_kw: Any) -> tuple[Any, Any]:
            return (name, factory)

        return [panel for _plugin, panel in self._collect("register_tui_panels", check, pack)]

    def load_image(self, item: Any, fp: Any, size_hint: int) -> Any:
        """First decoder that answers wins; decoder errors (UnreadableMedia...) propagate.

        A :class:`~huisou.core.errors.MediaError` is the decoder's verdict on the photo and is
        raised to the indexer; any other exception, or a result that is not a DecodedImage, is
        the plugin's bug: it is reported under the plugin's name and the next decoder gets its
        turn (each one reads ``fp`` from the start).
        """
        return self._call("load_image", item=item, fp=fp, size_hint=size_hint)

    def register_commands(self, cli: Any) -> None:
        self._call("register_commands", cli=cli)

    def before_index(self, run: Any) -> None:
        self._call("before_index", run=run)

    def items_indexed(self, run: Any, paths: list[str]) -> None:
        self._call("items_indexed", run=run, paths=paths)

    def items_failed(self, run: Any, failures: list[tuple[str, str, str]]) -> None:
        self._call("items_failed", run=run, failures=failures)

    def after_index(self, run: Any, summary: Any) -> None:
        self._call("after_index", run=run, summary=summary)

    def items_moved(self, run: Any, moves: list[tuple[str, str]]) -> None:
        self._call("items_moved", run=run, moves=moves)

    def items_removed(self, run: Any, paths: list[str]) -> None:
        self._call("items_removed", run=run, paths=paths)

    def on_index_error(self, run: Any, error: BaseException) -> None:
        self._call("on_index_error", run=run, error=error)

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
                    hooks=sorted(caller.name for caller in callers if caller.has_spec()),
                    builtin=builtin,
                    errors=[str(p) for p in self.problems if p.plugin == name],
                    unknown_hooks=self._unknown_hooks(plugin),
                )
            )
        registered = {info.name for info in infos} | self._builtin_names
        for problem in self.problems:
            if problem.plugin not in registered and problem.hook is None:
                infos.append(PluginInfo(problem.plugin, None, [], False, [str(problem)]))
                registered.add(problem.plugin)
        return infos


def _class_check(registry: Registry) -> Callable[[Any], str | None]:
    def check(obj: Any) -> str | None:
        if not (isinstance(obj, type) and issubclass(obj, registry.base)):
            return f"registered {obj!r}, which is not a {registry.base.__name__} subclass"
        if not isinstance(getattr(obj, registry.id_attr, None), str):
            return f"{obj.__name__} has no string {registry.id_attr}"
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
