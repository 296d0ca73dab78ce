"""``huisou tui`` (and plain ``huisou``): open the terminal UI.

Without a terminal (a pipe, cron, CI) a full-screen UI can only hang, so the command says so
and prints the help instead. The library is opened before the UI starts: a database another
program holds locked, or one that is damaged, is one line and exit 1, not a traceback
inside the UI.
"""

from __future__ import annotations

import sys

import click
from huisou.cli.common import library_options
from huisou.core.config import Config

#: ``--images`` values: ask the terminal, force a protocol, or draw half blocks only.
IMAGE_MODES = {"auto": "auto", "kitty": "tgp", "sixel": "sixel", "halfblock": None}


def has_terminal() -> bool:
    """stdin and stdout are both a terminal (the UI reads keys and draws the screen)."""
    return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout))


def check_library(config: Config, wait_seconds: float = 3.0) -> None:
    """Read the library once, waiting at most ``wait_seconds`` for a lock; any failure
    becomes one line (HuisouError) before the UI takes the screen."""
    import sqlite3
    from urllib.parse import quote

    from huisou.core import db
    from huisou.core.errors import HuisouError

    path = config.db_path
    if not path.exists():
        return  # a new library: the UI creates it
    errors = (sqlite3.Error, db.driver_module().Error)
    conn = None
    try:
        conn = db.driver_module().connect(
            f"file:{quote(str(path))}?mode=ro", uri=True, timeout=wait_seconds
        )
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except errors as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise HuisouError(
                f"library {path} is locked by another program; close it or try again later"
            ) from exc
        raise HuisouError(f"cannot open library {path}: {exc}; run `huisou doctor`") from exc
    finally:
        if conn is not None:
            conn.close()


@click.command()
@click.option(
    "--images", type=click.Choice(sorted(IMAGE_MODES)), default=None, envvar="HUISOU_IMAGES",
    help="Thumbnails: ask the terminal (auto, the default), force kitty or sixel graphics, "
         "or halfblock colour cells everywhere.",
)
@library_options
@click.pass_context
def tui(ctx: click.Context, config: Config, images: str | None) -> None:
    """Open the terminal UI."""
    if not has_terminal():
        parent = ctx.parent or ctx
        click.echo(parent.get_help())
        click.echo("huisou: error: the terminal UI needs a terminal; give a command "
                   "(e.g. huisou search TEXT)", err=True)
        sys.exit(2)  # a usage error (click returns, not raises, ctx.exit codes here)
    check_library(config)
    from huisou.tui.app import create_app

    app = create_app(config, image_protocol=IMAGE_MODES[images or "auto"])
    app.run()
    if app.return_code:
        sys.exit(app.return_code)
