"""Options and helpers shared by the CLI commands (one module per command imports these)."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click
from huisou.core.config import BOUNDS, Config, load_config


def library_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--db``, ``--model``, ``--backend``, ``--store``, ``--precision`` for any command."""

    @click.option("--db", "db", type=click.Path(dir_okay=False), help="Library database file.")
    @click.option("--model", help="Model: a catalog name or a model directory.")
    @click.option("--backend", help="Embedding backend id (default: onnx-clip).")
    @click.option("--store", help="Vector store id (default: auto).")
    @click.option(
        "--precision", type=click.Choice(["auto", "int8", "fp32"]), help="Model precision."
    )
    @click.option(
        "--threads",
        type=click.IntRange(*BOUNDS["threads"]),
        help="Worker threads (default: all cores).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        overrides = {
            key: kwargs.pop(key)
            for key in ("db", "model", "backend", "store", "precision", "threads")
        }
        model = overrides["model"]
        if model and os.path.isdir(model):  # a model directory: remember it absolutely
            overrides["model"] = os.path.abspath(model)
        kwargs["config"] = load_config(**overrides)
        return func(*args, **kwargs)

    return wrapper


class QueryCommand(click.Command):
    """A command whose free text may start with ``-`` (``huisou search -people``).

    Only this command's own option names (``--top 3``, ``--top=3``, ``-n3``) are read as
    options; any other word starting with a single ``-`` is text, as if after ``--``.
    A misspelt ``--long-option`` is still an error.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not param.is_flag and not param.count
        options: list[str] = []
        texts: list[str] = []
        index = 0
        while index < len(args):
            arg = args[index]
            name = arg.split("=", 1)[0]
            if arg == "--":
                texts += args[index + 1 :]
                break
            if name in takes_value:
                options.append(arg)
                if takes_value[name] and "=" not in arg and index + 1 < len(args):
                    index += 1
                    options.append(args[index])
            elif arg.startswith("--") or (arg[:2] in takes_value and arg[2:].isdigit()):
                options.append(arg)  # unknown long options stay errors; -n5 is --top 5
            else:
                texts.append(arg)
            index += 1
        return super().parse_args(ctx, [*options, "--", *texts])


def folder_argument(path: str, param_hint: str) -> str:
    """The absolute form of a folder argument, or a usage error (exit 2) when ``path`` is
    missing, a file, or does not exist: every command treats a bad folder the same way."""
    if not path:
        raise click.BadParameter("a folder is required", param_hint=param_hint)
    if not os.path.isdir(path):
        what = "is a file, not a folder" if os.path.exists(path) else "is not an existing folder"
        raise click.BadParameter(f"{path!r} {what}", param_hint=param_hint)
    return os.path.abspath(path)


def covering_source(records: list[Any], type_id: str, root: str) -> Any:
    """The existing folder source whose root holds ``root`` (strictly inside it), if any.

    A nested folder is not a source of its own: the outer source's scan already owns its
    photos, so a second source would stay "not indexed" forever.
    """
    if type_id != "folder":
        return None
    for record in records:
        if record.type == "folder" and root.startswith(record.root.rstrip(os.sep) + os.sep):
            return record
    return None


def open_library(config: Config, *, readonly: bool = False) -> Any:
    """The library of ``config``; ``readonly`` for commands that only look (never write)."""
    from huisou.core.library import Library

    return Library(config, readonly=readonly)


def print_json(data: Any) -> None:
    """One JSON document on a line. A file name's undecodable bytes (``surrogateescape``) are
    written as ``\\udcXX`` escapes: valid JSON that ``json.loads`` turns back into the same
    str, so ``os.fsencode`` gives the exact name (readers that reject lone surrogates see
    U+FFFD)."""
    text = json.dumps(data, ensure_ascii=False)
    sys.stdout.write(text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
    sys.stdout.flush()


#: Control characters (a newline inside a file name) as escapes, so one name is one line.
_CONTROL_ESCAPES = {
    code: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(chr(code), f"\\x{code:02x}")
    for code in (*range(0x20), *range(0x7F, 0xA0))
}


def shown_path(path: str) -> str:
    """``path`` as one readable terminal line: bytes that are not UTF-8 as ``\\xe9``, control
    characters as ``\\n``, ``\\x1b``... Display only: ``--print0`` and ``--json`` are lossless."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return text.translate(_CONTROL_ESCAPES)


def parse_source_options(cls: Any, pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs checked against the source class's declared options.

    Values are read as JSON when they parse (``true``, ``3``, ``["a", "b"]``), else kept as
    strings, so plugin sources get typed options without a CLI flag of their own.
    """
    declared = {spec.name: spec for spec in getattr(cls, "options", ())}
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--option")
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise click.BadParameter(
                f"unknown option {key!r} for source type {cls.type_id!r} (known: {known})",
                param_hint="--option",
            )
        value = _coerce(raw, declared[key], cls.type_id)
        if declared[key].multiple:
            options.setdefault(key, []).extend(value if isinstance(value, list) else [value])
        else:
            options[key] = value
    return options


_BOOLEANS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}


def _coerce(raw: str, spec: Any, type_id: str) -> Any:
    """Read ``raw`` as the declared option's type (from its default); one line if it isn't."""
    default = spec.default
    if isinstance(default, bool):
        if raw.strip().lower() not in _BOOLEANS:
            raise click.BadParameter(
                f"option {spec.name!r} of source type {type_id!r} is true or false, not {raw!r}",
                param_hint="--option",
            )
        return _BOOLEANS[raw.strip().lower()]
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise click.BadParameter(
                f"option {spec.name!r} of source type {type_id!r} is a number, not {raw!r}",
                param_hint="--option",
            ) from None
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, (list, str)) else raw
