"""``huisou sources list|add|remove``."""

from __future__ import annotations

import os

import click
from huisou.cli.common import (
    covering_source,
    folder_argument,
    library_options,
    open_library,
    parse_source_options,
    print_json,
)
from huisou.core.config import Config


@click.group()
def sources() -> None:
    """Manage photo sources (folders, the Android camera roll, plugin sources)."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True)
@library_options
def list_sources(as_json: bool, config: Config) -> None:
    """Each source with its type, root, options and counts."""
    catalog = open_library(config, readonly=True).catalog
    records = catalog.sources()
    rows = []
    for record in records:
        covering = covering_source(records, record.type, record.root)
        rows.append({
            **record.to_dict(),
            "counts": catalog.source_counts(record.id),
            "inside_source": covering.id if covering else None,
        })
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no sources; add one with 'huisou sources add FOLDER'", err=True)
    for row in rows:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(row["counts"].items()))
        if not counts:
            inside = row["inside_source"]
            counts = f"photos indexed by source {inside}" if inside else "not indexed"
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
@click.option("--json", "as_json", is_flag=True, help="Print the added source as JSON.")
@library_options
def add_source(
    root: str,
    type_id: str,
    include_hidden: bool | None,
    exclude: tuple[str, ...],
    option: tuple[str, ...],
    as_json: bool,
    config: Config,
) -> None:
    """Add a source (indexed by the next 'huisou index')."""
    from huisou.core.errors import HuisouError

    library = open_library(config)
    cls = library.host.get_source_class(type_id)
    if type_id == "folder":
        root = folder_argument(root, "ROOT")
    if hasattr(cls, "resolve_root"):
        root = cls.resolve_root(root)
    covering = covering_source(library.catalog.sources(), type_id, root)
    if covering is not None:
        raise HuisouError(
            f"{root} is inside source {covering.id} ({covering.root}), which already "
            "indexes it; search it with --folder"
        )
    options: dict[str, object] = parse_source_options(cls, option)
    if include_hidden is not None:
        options["include_hidden"] = include_hidden
    if exclude:
        options["exclude"] = list(exclude)
    source_id = library.catalog.add_source(type_id, root, options)
    if as_json:
        record = next(r for r in library.catalog.sources() if r.id == source_id)
        print_json(record.to_dict())
        return
    click.echo(f"source {source_id}: {type_id} {root}")


@sources.command("remove")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@library_options
def remove_source(source: str, as_json: bool, config: Config) -> None:
    """Forget SOURCE (an id or a root) and its catalog entries; photos are not touched."""
    from huisou.core.errors import HuisouError

    library = open_library(config)
    wanted = os.path.abspath(source) if not source.isdigit() else None
    for record in library.catalog.sources():
        if str(record.id) == source or record.root in (source, wanted):
            removed = library.remove_source(record.id)
            if as_json:
                print_json({"removed": record.to_dict(), "catalog_entries": removed})
                return
            click.echo(f"removed source {record.id} ({record.root}) and {removed} catalog entries")
            return
    raise HuisouError(f"no source {source!r}; see 'huisou sources list'")
