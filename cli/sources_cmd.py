"""``huisou sources list|add|remove``."""

from __future__ import annotations

import os

import click
from huisou.cli.common import library_options, open_library, parse_source_options, print_json
from huisou.core.config import Config


@click.group()
def sources() -> None:
    """Manage photo sources (folders, the Android camera roll, plugin sources)."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True)
@library_options
def list_sources(as_json: bool, config: Config) -> None:
    """Each source with its type, root, options and counts."""
    catalog = open_library(config).catalog
    rows = [
        {**record.to_dict(), "counts": catalog.source_counts(record.id)}
        for record in catalog.sources()
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no sources; add one with 'huisou sources add FOLDER'", err=True)
    for row in rows:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(row["counts"].items())) or "not indexed"
        click.echo(f"{row['id']}  {row['type']:8} {row['root']}  ({counts})")


@sources.command("add")
@click.argument("root", required=False, default="")
@click.option("--type", "type_id", default="folder", show_default=True)
@click.option("--include-hidden", is_flag=True, default=None)
@click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable).")
@click.option(
    "--option",
    "option",
    multiple=True,
    metavar="KEY=VALUE",
    help="A source option (repeatable), e.g. all_files=true.",
)
@library_options
def add_source(
    root: str,
    type_id: str,
    include_hidden: bool | None,
    exclude: tuple[str, ...],
    option: tuple[str, ...],
    config: Config,
) -> None:
    """Add a source (indexed by the next 'huisou index')."""
    from huisou.core.errors import HuisouError

    library = open_library(config)
    cls = library.host.get_source_class(type_id)
    if type_id == "folder":
        if not root or not os.path.isdir(root):
            raise HuisouError(f"not a folder: {root or '(missing)'}")
        root = os.path.abspath(root)
    if hasattr(cls, "resolve_root"):
        root = cls.resolve_root(root)
    options: dict[str, object] = parse_source_options(cls, option)
    if include_hidden is not None:
        options["include_hidden"] = include_hidden
    if exclude:
        options["exclude"] = list(exclude)
    source_id = library.catalog.add_source(type_id, root, options)
    click.echo(f"source {source_id}: {type_id} {root}")


@sources.command("remove")
@click.argument("source")
@library_options
def remove_source(source: str, config: Config) -> None:
    """Forget SOURCE (an id or a root) and its catalog entries; photos are not touched."""
    from huisou.core.errors import HuisouError

    library = open_library(config)
    wanted = os.path.abspath(source) if not source.isdigit() else None
    for record in library.catalog.sources():
        if str(record.id) == source or record.root in (source, wanted):
            removed = library.remove_source(record.id)
            click.echo(f"removed source {record.id} ({record.root}) and {removed} catalog entries")
            return
    raise HuisouError(f"no source {source!r}; see 'huisou sources list'")
