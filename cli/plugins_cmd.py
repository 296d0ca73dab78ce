"""``huisou plugins``: what is installed, which hooks each plugin implements, what failed."""

from __future__ import annotations

import click
from huisou.cli.common import print_json


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Include built-in plugins.")
@click.option("--json", "as_json", is_flag=True)
def plugins(show_all: bool, as_json: bool) -> None:
    """List plugins with versions, hooks and load errors."""
    from huisou.core.config import load_config
    from huisou.core.plugins import get_host

    host = get_host(load_config().plugins_dir or None)
    infos = [info.to_dict() for info in host.plugin_infos(include_builtins=show_all)]
    if as_json:
        print_json(infos)
        return
    if not infos:
        click.echo("no plugins installed (use --all to show built-ins)", err=True)
    for info in infos:
        click.echo(f"{info['name']} {info['version'] or ''}".rstrip())
        if info["hooks"]:
            click.echo("  hooks: " + ", ".join(info["hooks"]))
        for error in info["errors"]:
            click.echo(f"  error: {error}")
