"""Choices made in the TUI that must outlast it: the model in use, written to config.toml.

Only top-level ``key = "value"`` lines are touched; comments, other keys and tables stay as
the user wrote them. The new text is parsed before it replaces the file (atomically, mode
0600), so a choice can never leave a config that huisou cannot read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import tomllib
from huisou.core.errors import HuisouError


def set_config_values(path: Path, values: Mapping[str, str]) -> None:
    """Set top-level string keys in the TOML file at ``path`` (created if missing)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    except (OSError, UnicodeDecodeError) as exc:
        raise HuisouError(f"cannot read config file {path}: {exc}") from exc
    first_table = next((n for n, line in enumerate(lines) if line.lstrip().startswith("[")),
                       len(lines))
    top, rest = lines[:first_table], lines[first_table:]
    for key, value in values.items():
        line = f"{key} = {json.dumps(value, ensure_ascii=False)}"
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        where = next((n for n, old in enumerate(top) if pattern.match(old)), None)
        if where is None:
            top.append(line)
        else:
            top[where] = line
    text = "\n".join(top + rest) + "\n"
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HuisouError(f"config file {path} is not valid TOML ({exc}); fix it first") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise HuisouError(f"cannot write config file {path}: {exc.strerror or exc}") from exc


def use_model(path: Path, backend: str, model: str) -> None:
    """Make ``model`` of ``backend`` the one every command and the TUI use from now on."""
    set_config_values(path, {"backend": backend, "model": model})
