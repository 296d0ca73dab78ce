"""``huisou doctor``: facts about this installation that explain most support questions."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from typing import Any

import click
from huisou.cli.common import library_options, open_library, print_json
from huisou.core.config import Config


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def collect(config: Config) -> dict[str, Any]:
    """Gather the checks; never raises (a broken piece is reported, not fatal)."""
    from huisou.core import db

    info = db.driver_info()
    facts: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": f"{platform.system()} {platform.machine()}",
        "termux": "TERMUX_VERSION" in os.environ or os.path.isdir("/data/data/com.termux"),
        "sqlite": {
            "driver": info.module,
            "version": info.sqlite_version,
            "can_load_extensions": info.can_load_extensions,
            "note": info.reason,
        },
        "db": str(config.db_path),
        "models_dir": str(config.models_path),
    }
    try:
        import onnxruntime

        facts["onnxruntime"] = {
            "version": onnxruntime.__version__,
            "providers": onnxruntime.get_available_providers(),
        }
    except Exception as exc:
        facts["onnxruntime"] = {"error": f"{type(exc).__name__}: {exc}"}
    from huisou.core import content_hash

    facts["content_hash"] = {"algorithm": content_hash.PREFERRED, "xxhash": _version("xxhash")}
    if content_hash.PREFERRED != content_hash.XXH3:
        facts["content_hash"]["hint"] = (
            "pip install xxhash: hashing each photo (to recognise moved ones) gets several "
            "times cheaper; hashes already stored keep matching"
        )
    facts["heif"] = (
        {"pillow_heif": _version("pillow-heif")}
        if importlib.util.find_spec("pillow_heif")
        else {"pillow_heif": None, "hint": "pip install 'huisou[heic]' to index HEIC/HEIF photos"}
    )
    try:
        library = open_library(config, readonly=True)
        store = library.store
        facts["vector_store"] = {**store.describe(), "notices": library.notices}
    except Exception as exc:
        facts["vector_store"] = {"error": str(exc)}
    storage = os.path.expanduser("~/storage/shared")
    if facts["termux"]:
        facts["termux_storage"] = (
            "ok" if os.access(storage, os.R_OK) else "not accessible: run termux-setup-storage"
        )
    return facts


def check_library(config: Config) -> dict[str, Any]:
    """The library's own health: SQLite's integrity check and every vector against the
    catalog (see :mod:`huisou.core.health`)."""
    from huisou.core.health import examine

    library = open_library(config, readonly=True)
    try:
        return examine(library).to_json()
    finally:
        library.close()


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--repair",
    is_flag=True,
    help="Rebuild what can be rebuilt (keeps a copy of a damaged library) and say what.",
)
@library_options
def doctor(as_json: bool, repair: bool, config: Config) -> None:
    """Python/SQLite versions, extension loading, vector store, ONNX providers, content
    hashing, HEIF, storage, and the library's health (exit 1 when it has problems)."""
    from huisou.core.errors import LibraryError

    repairs = _repair(config) if repair else None
    facts = collect(config)
    facts["library"] = check_library(config)
    if repairs is not None:
        facts["repairs"] = repairs
    if as_json:
        print_json(facts)
    else:
        _print(facts)
    if facts["library"]["problems"]:
        problems = facts["library"]["problems"]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        hint = "" if repair else "; run 'huisou doctor --repair'"
        raise LibraryError(f"library {config.db_path} has problems: {problems[0]}{more}{hint}")


def _repair(config: Config) -> list[str]:
    from huisou.core.health import repair

    def factory(readonly: bool) -> Any:
        return open_library(config, readonly=readonly)

    return repair(factory, str(config.db_path)) or ["nothing needed repair"]


def _print(facts: dict[str, Any]) -> None:
    for key, value in facts.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for sub, subvalue in value.items():
                if isinstance(subvalue, list) and subvalue:
                    click.echo(f"  {sub}:")
                    for entry in subvalue:
                        click.echo(f"    - {entry}")
                else:
                    click.echo(f"  {sub}: {subvalue}")
        elif isinstance(value, list):
            click.echo(f"{key}:")
            for line in value:
                click.echo(f"  {line}")
        else:
            click.echo(f"{key}: {value}")
