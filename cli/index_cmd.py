"""``huisou index``: index folders (remembered as sources) or every configured source."""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import Any

import click
from huisou.cli.common import (
    covering_source,
    folder_argument,
    library_options,
    open_library,
    parse_source_options,
    print_json,
    shown_path,
)
from huisou.core.config import Config


@functools.cache
def _executor_specs() -> dict[str, tuple[str, Any]]:
    """``{option name: (executor id, OptionSpec)}`` of every installed executor."""
    from huisou.core.config import load_config
    from huisou.core.plugins import get_host

    try:
        host = get_host(load_config().plugins_dir or None)
    except Exception:  # a broken config is reported by the command itself
        return {}
    specs: dict[str, tuple[str, Any]] = {}
    for executor_id, cls in sorted(host.executors().items()):
        for spec in cls.options:
            specs.setdefault(spec.name, (executor_id, spec))
    return specs


@functools.cache
def _executor_params() -> list[click.Parameter]:
    params: list[click.Parameter] = []
    for name, (executor_id, spec) in sorted(_executor_specs().items()):
        flag = "--" + name.replace("_", "-")
        help_text = f"{spec.help} (--executor {executor_id})"
        if isinstance(spec.default, bool):
            params.append(click.Option([flag, name], is_flag=True, default=None, help=help_text))
        else:
            params.append(click.Option([flag, name], default=None, help=help_text))
    return params


class _IndexCommand(click.Command):
    """``index`` plus one ``--NAME`` flag per option an executor declares (``--ray-address``).
    Why added when the command is parsed: the executors are plugins, and plugins load only
    when a command runs (``huisou --help`` loads none)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        return params[:-1] + _executor_params() + params[-1:]  # --help stays last


def _chosen_options(executor_id: str, given: dict[str, Any]) -> dict[str, Any]:
    """The executor flags given on the command line, refused for another executor."""
    options = {}
    for name, value in given.items():
        if value is None:
            continue
        owner = _executor_specs()[name][0]
        if owner != executor_id:
            flag = "--" + name.replace("_", "-")
            raise click.UsageError(f"{flag} is an option of --executor {owner}, "
                                   f"not of --executor {executor_id}")
        options[name] = value
    return options


@click.command(cls=_IndexCommand)
@click.argument("paths", nargs=-1)
@click.option(
    "--source",
    "source_type",
    default=None,
    help="Source type for PATHs, or alone to index that type's default location (e.g. android).",
)
@click.option("--root", default=None, help="Root for --source (e.g. a copied phone tree).")
@click.option(
    "--include-hidden", is_flag=True, default=None, help="Also index dot-files and dot-folders."
)
@click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable).")
@click.option(
    "--option",
    "option",
    multiple=True,
    metavar="KEY=VALUE",
    help="A source option for PATHs (repeatable), e.g. all_files=true.",
)
@click.option("--retry-failed", is_flag=True, help="Try unreadable/unsupported files again.")
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line on stdout.")
@click.option(
    "--ocr",
    type=click.Choice(["auto", "all", "off"]),
    default=None,
    help="Read text in photos: those the image model says carry text (auto, the default), "
    "every photo (all) or none this run (off). Needs huisou[ocr]; config key `ocr`.",
)
@click.option(
    "--executor", "executor_id", default="local", show_default=True,
    help="Who reads, decodes and embeds: local threads, or an executor plugin (ray).",
)
@library_options
def index(
    paths: tuple[str, ...],
    source_type: str | None,
    root: str | None,
    include_hidden: bool | None,
    exclude: tuple[str, ...],
    option: tuple[str, ...],
    retry_failed: bool,
    as_json: bool,
    ocr: str | None,
    executor_id: str,
    config: Config,
    **executor_flags: Any,
) -> None:
    """Index PATHs (remembered as sources), or all configured sources when none is given.

    Unchanged photos cost a stat only; moved or renamed photos keep their vectors;
    deleted photos leave the library. Safe to interrupt: the next run resumes.
    """
    from huisou.core.errors import HuisouError
    from huisou.core.indexer import Indexer

    if ocr is not None:
        config.ocr = ocr
    library = open_library(config)
    executor_cls = library.host.get_executor_class(executor_id)
    executor = executor_cls(**_chosen_options(executor_id, executor_flags))
    catalog = library.catalog
    type_id = source_type or "folder"
    options: dict[str, Any] = parse_source_options(library.host.get_source_class(type_id), option)
    if include_hidden is not None:
        options["include_hidden"] = include_hidden
    if exclude:
        options["exclude"] = list(exclude)
    records = []
    targets = [folder_argument(p, "PATHS") if type_id == "folder" else os.path.abspath(p)
               for p in paths]
    if root:
        targets.append(os.path.abspath(root))
    if not targets and source_type:
        targets = [""]  # the source type's own default location
    if targets:
        library.store  # noqa: B018 - a model or store that fails must not leave a source behind
        cls = library.host.get_source_class(type_id)
        for target in targets:
            resolved = cls.resolve_root(target) if hasattr(cls, "resolve_root") else target
            covering = covering_source(catalog.sources(), type_id, resolved)
            if covering is not None:
                if not as_json:
                    click.echo(
                        f"{resolved} is inside source {covering.id} ({covering.root}); "
                        "indexing that source",
                        err=True,
                    )
                if covering not in records:
                    records.append(covering)
                continue
            source_id = catalog.add_source(type_id, resolved, options)
            records.append(next(r for r in catalog.sources() if r.id == source_id))
    else:
        records = catalog.sources()
        if not records:
            raise HuisouError("no sources yet: run 'huisou index FOLDER' to add one")
    sources = [(record, library.source_for(record)) for record in records]
    cancel = threading.Event()
    indexer = Indexer(library, sources, cancel=cancel, retry_failed=retry_failed,
                      executor=executor)
    progress = _Progress(enabled=not as_json and sys.stderr.isatty(), quiet=as_json)
    summary = None
    try:
        for event in indexer.run():
            if as_json:
                print_json(event.to_json())
            else:
                progress.show(event)
            summary = event
    except KeyboardInterrupt:
        cancel.set()
        progress.close()
        raise
    progress.close()
    if summary is not None and getattr(summary, "cancelled", False):
        raise KeyboardInterrupt


class _Progress:
    """Human progress on stderr: a one-line bar with rate and ETA, then a summary."""

    def __init__(self, enabled: bool, quiet: bool) -> None:
        self.enabled = enabled
        self.quiet = quiet
        self._drawn = False

    def show(self, event: Any) -> None:
        if self.quiet:
            return
        name = event.name
        if name == "scan_finished":
            click.echo(
                f"{event.seen} files: {event.new} new, {event.changed} changed, "
                f"{event.unchanged} unchanged, {event.gone} gone; {event.to_embed} to read",
                err=True,
            )
        elif name == "warning":
            self._clear()
            click.echo(f"warning: {event.source}: {event.message}", err=True)
        elif name == "item_failed" and event.status != "skipped":
            self._clear()
            click.echo(f"{event.status}: {shown_path(event.path)}: {event.reason}", err=True)
        elif name == "batch_done" and self.enabled:
            width = 24
            filled = int(width * event.done / max(event.total, 1))
            eta = f"{event.eta_seconds:.0f}s" if event.eta_seconds is not None else "?"
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] {event.done}/{event.total} "
                f"{event.rate:.1f}/s ETA {eta}"
            )
            click.echo("\r" + line[:79].ljust(79), err=True, nl=False)
            self._drawn = True
        elif name == "finished":
            self._clear()
            click.echo(
                f"{'cancelled' if event.cancelled else 'done'} in {event.seconds:.1f}s: "
                f"{event.indexed} indexed, {event.unchanged} unchanged, {event.moved} moved, "
                f"{event.removed} removed, {event.failed} failed, {event.skipped} skipped",
                err=True,
            )

    def _clear(self) -> None:
        if self._drawn:
            click.echo("\r" + " " * 79 + "\r", err=True, nl=False)
            self._drawn = False

    def close(self) -> None:
        self._clear()
