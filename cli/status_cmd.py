"""``huisou status``: what the library holds, without loading any model."""

from __future__ import annotations

import click
from huisou.cli.common import library_options, open_library, print_json
from huisou.core.config import Config


@click.command()
@click.option("--json", "as_json", is_flag=True)
@library_options
def status(as_json: bool, config: Config) -> None:
    """Counts per status, sources and models with vectors."""
    library = open_library(config, readonly=True)
    catalog = library.catalog
    data = {
        "db": str(config.db_path),
        "exists": catalog.exists,
        "items": catalog.status_counts(),
        "sources": [
            {**record.to_dict(), "counts": catalog.source_counts(record.id)}
            for record in catalog.sources()
        ],
        "models": catalog.models(),
        "config": {"backend": config.backend, "model": config.model, "store": config.store},
    }
    if as_json:
        print_json(data)
        return
    missing = "" if catalog.exists else " (not created yet: 'huisou index FOLDER' creates it)"
    click.echo(f"library: {data['db']}{missing}")
    counts = data["items"]
    click.echo("items: " + (", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"))
    for source in data["sources"]:
        click.echo(f"source {source['id']}: {source['type']} {source['root']}")
    for model in data["models"]:
        click.echo(f"model {model['name']} ({model['fingerprint']}): {model['vectors']} vectors")
