"""``huisou info PATH``: why is this photo (not) found? Its catalog record, explained."""

from __future__ import annotations

import os
from typing import Any

import click

from huisou.cli.common import library_options, open_library, print_json
from huisou.core.config import Config


def explain(library: Any, path: str) -> dict[str, Any]:
    """The record of one path: source, status, reason, metadata; or why it is not a candidate."""
    catalog = library.catalog
    record = catalog.item_by_path(path)
    owner = None
    exclusion = None
    for source_record, source in library.sources():
        if source.contains(path):
            owner = source_record
            exclusion = source.explain_exclusion(path)
            break
    data: dict[str, Any] = {
        "path": path,
        "source": owner.to_dict() if owner else None,
        "exists": os.path.exists(path),
    }
    if record is None:
        if owner is None:
            data["status"] = "outside sources"
            data["reason"] = "no source covers this path; add its folder with 'huisou index'"
        elif exclusion:
            data["status"] = "excluded"
            data["reason"] = exclusion
        else:
            data["status"] = "not indexed yet"
            data["reason"] = "run 'huisou index' to index it"
        return data
    models = [
        row[0]
        for row in catalog.conn.execute(
            "SELECT model FROM embeddings WHERE item_id=?", (record["id"],)
        )
    ]
    data.update(
        status=record["status"],
        reason=record["error"],
        models=models,
        size=record["size"],
        metadata={
            key: record[key]
            for key in (
                "format", "width", "height", "orientation", "taken_at", "taken_at_source",
                "camera_make", "camera_model",
            )
        },
        gps=[record["gps_lat"], record["gps_lon"]] if record["gps_lat"] is not None else None,
        group=record["group_key"],
    )
    if exclusion:
        data["status"] = "excluded"
        data["reason"] = exclusion
    return data


@click.command()
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True)
@library_options
def info(path: str, as_json: bool, config: Config) -> None:
    """Show PATH's status (indexed, unreadable, unsupported, excluded...) and metadata."""
    data = explain(open_library(config), os.path.abspath(path))
    if as_json:
        print_json(data)
        return
    click.echo(f"path:   {data['path']}")
    click.echo(f"status: {data['status']}" + (f" ({data['reason']})" if data.get("reason") else ""))
    if data.get("source"):
        click.echo(f"source: {data['source']['type']} {data['source']['root']}")
    for key, value in (data.get("metadata") or {}).items():
        if value is not None:
            click.echo(f"{key}: {value}")
    if data.get("gps"):
        click.echo(f"gps: {data['gps'][0]:.5f}, {data['gps'][1]:.5f}")
