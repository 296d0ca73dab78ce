"""``huisou pick [QUERY]``: choose photos in the TUI, print their paths when it closes.

For shell pipelines (``huisou pick beach | xargs -d '\\n' cp -t ~/share``): the UI draws on
the terminal (Textual writes to stderr, reads keys from stdin) while stdout carries only the
chosen paths, one a line (or NUL-separated with ``--print0``). Space selects several; Enter
finishes with the selection, or with the highlighted photo when nothing is selected; Ctrl+Q
picks nothing (exit 1, like fzf when cancelled).
"""

from __future__ import annotations

import sys

import click
from huisou.cli.common import library_options
from huisou.core.config import Config


def write_paths(paths: list[str], print0: bool) -> None:
    """Paths exactly as stored (``surrogateescape`` keeps non-UTF-8 names byte-exact)."""
    end = b"\0" if print0 else b"\n"
    out = sys.stdout.buffer
    for path in paths:
        out.write(path.encode("utf-8", "surrogateescape") + end)
    out.flush()


@click.command()
@click.argument("query", nargs=-1)
@click.option("--print0", "-0", is_flag=True, help="End each path with NUL (for xargs -0).")
@library_options
def pick(config: Config, query: tuple[str, ...], print0: bool) -> None:
    """Pick photos in the terminal UI; print their paths on exit."""
    from huisou.cli.tui_cmd import check_library
    from huisou.core.errors import HuisouError

    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise HuisouError("pick needs a terminal on stdin and stderr (stdout may be a pipe)")
    check_library(config)
    from huisou.tui.app import create_app

    app = create_app(config, pick=True, query=" ".join(query))
    paths = app.run()
    if app.return_code:
        sys.exit(app.return_code)
    if not paths:
        sys.exit(1)
    write_paths(paths, print0)
