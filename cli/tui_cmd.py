"""``huisou tui`` (and plain ``huisou``): open the terminal UI."""

from __future__ import annotations

import click
from huisou.cli.common import library_options
from huisou.core.config import Config


@click.command()
@library_options
def tui(config: Config) -> None:
    """Open the terminal UI."""
    from huisou.tui.app import create_app

    create_app(config).run()
