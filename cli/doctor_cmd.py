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
        library = open_library(config)
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


@click.command()
@click.option("--json", "as_json", is_flag=True)
@library_options
def doctor(as_json: bool, config: Config) -> None:
    """Python/SQLite versions, extension loading, vector store, ONNX providers, content
    hashing, HEIF, storage."""
    facts = collect(config)
    if as_json:
        print_json(facts)
        return
    for key, value in facts.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for sub, subvalue in value.items():
                click.echo(f"  {sub}: {subvalue}")
        else:
            click.echo(f"{key}: {value}")
