"""The ``huisou`` command group.

Commands live one per module and are imported only when invoked (``LazyGroup``), so
``huisou --help`` costs an interpreter start and click, nothing else. Plugins add commands
through the ``register_commands`` hook. With no arguments, ``huisou`` opens the TUI.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click
from huisou import __version__

#: command name -> (module, attribute, one-line help shown by ``--help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "index": ("huisou.cli.index_cmd", "index", "Index photos (new, changed, moved, deleted)."),
    "search": ("huisou.cli.search_cmd", "search", "Find photos by describing them."),
    "status": ("huisou.cli.status_cmd", "status", "Show what the library holds."),
    "sources": ("huisou.cli.sources_cmd", "sources", "List, add and remove photo sources."),
    "info": ("huisou.cli.info_cmd", "info", "Explain one photo's catalog record."),
    "fields": ("huisou.cli.fields_cmd", "fields", "List the fields photos have (for --where)."),
    "plugins": ("huisou.cli.plugins_cmd", "plugins", "List plugins and the hooks they implement."),
    "plugin": ("huisou.cli.plugin_cmd", "plugin", "Create a new plugin package from a template."),
    "doctor": ("huisou.cli.doctor_cmd", "doctor", "Check this installation."),
    "models": ("huisou.cli.models_cmd", "models", "Manage models: list, download, import..."),
    "tui": ("huisou.cli.tui_cmd", "tui", "Open the terminal UI (the default)."),
    "pick": ("huisou.cli.pick_cmd", "pick", "Pick photos in the terminal UI; print their paths."),
    "thumbnails": ("huisou.cli.thumbnails_cmd", "thumbnails", "Rebuild the thumbnail cache."),
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class LazyGroup(click.Group):
    """A group whose built-in commands are imported on use and whose plugins load on demand."""

    _plugins_loaded = False

    def _load_plugin_commands(self, ctx: click.Context) -> None:
        if LazyGroup._plugins_loaded:
            return
        LazyGroup._plugins_loaded = True
        from huisou.core.plugins import get_host

        get_host(_plugins_dir(ctx)).register_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands(ctx)
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, attr, _help = COMMANDS[name]
            command = getattr(importlib.import_module(module), attr)
            if isinstance(command, click.Group):  # plugins may add subcommands to it
                self._load_plugin_commands(ctx)
            return command
        if name not in self.commands:
            self._load_plugin_commands(ctx)
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._load_plugin_commands(ctx)
        rows = [(name, help_text) for name, (_m, _a, help_text) in COMMANDS.items()]
        rows += [
            (name, cmd.get_short_help_str(60))
            for name, cmd in self.commands.items()
            if name not in COMMANDS and not cmd.hidden
        ]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


def _plugins_dir(ctx: click.Context) -> str | None:
    from huisou.core.config import load_config

    try:
        return load_config().plugins_dir or None
    except Exception:
        return None


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="huisou")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """huisou (慧搜): find your photos by describing them, fully offline.

    \b
    Exit codes: 0 done (unreadable photos are counted, not fatal), 1 failure,
    2 usage error, 130 interrupted (run again to resume).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(ctx.command.get_command(ctx, "tui"))


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: maps errors to the documented exit codes, one line each."""
    from huisou.core.errors import HuisouError

    if hasattr(sys.stdout, "reconfigure"):  # a non-UTF-8 file name never crashes a print
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        cli.main(args=argv, prog_name="huisou", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("huisou: interrupted; run the command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("huisou: interrupted; run the command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # also BadParameter, NoSuchOption, MissingParameter
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"huisou: error: {_one_line(exc.format_message())}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        click.echo(f"huisou: error: {_one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except HuisouError as exc:
        click.echo(f"huisou: error: {_one_line(str(exc))}", err=True)
        sys.exit(EXIT_FAILURE)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except Exception as exc:
        from huisou.core.db import describe_error

        message = describe_error(exc)  # a damaged, full, locked or read-only library
        if message is None:
            raise
        click.echo(f"huisou: error: {message}", err=True)
        sys.exit(EXIT_FAILURE)
    sys.exit(EXIT_OK)


def _one_line(message: str) -> str:
    """Errors are one line: messages that quote several lines are joined."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())
