"""Where huisou keeps its files, and the one TOML configuration file.

``HUISOU_HOME`` overrides everything (tests, scripts, several libraries side by side): the
config file, database and models then all live under it. Otherwise the platform's data and
config directories are used (``platformdirs``, which follows XDG on Linux and Termux).
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from huisou.core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

APP_NAME = "huisou"
DEFAULT_BACKEND = "onnx-clip"
DEFAULT_MODEL = "ViT-B-32__openai"


def data_dir() -> Path:
    """Directory for the database and models."""
    home = os.environ.get("HUISOU_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """Directory holding ``config.toml``."""
    home = os.environ.get("HUISOU_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def config_path() -> Path:
    return Path(os.environ.get("HUISOU_CONFIG") or config_dir() / "config.toml")


@dataclass
class Config:
    """Settings; every field can be set in ``config.toml`` and most per command."""

    db: str = ""
    backend: str = ""  # "" = the library's last used, else DEFAULT_BACKEND
    model: str = ""  # "" = the library's last used, else DEFAULT_MODEL
    precision: str = "auto"
    store: str = "auto"
    threads: int = 0  # 0 = all cores
    batch_size: int = 16
    plugins_dir: str = ""
    models_dir: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return Path(self.db).expanduser() if self.db else data_dir() / "library.db"

    @property
    def models_path(self) -> Path:
        return Path(self.models_dir).expanduser() if self.models_dir else data_dir() / "models"

    @property
    def effective_threads(self) -> int:
        return self.threads if self.threads > 0 else (os.cpu_count() or 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_config(path: Path | None = None, **overrides: Any) -> Config:
    """Read ``config.toml`` (absent is fine) and apply non-None ``overrides``."""
    path = path or config_path()
    values: dict[str, Any] = {}
    if path.exists():
        try:
            with open(path, "rb") as fh:
                values = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    known = {f.name for f in fields(Config)} - {"extra"}
    config = Config()
    for key, value in values.items():
        if key in known:
            expected = type(getattr(config, key))
            if not isinstance(value, expected):
                raise ConfigError(
                    f"config file {path}: {key} must be {expected.__name__}, got {value!r}"
                )
            setattr(config, key, value)
        else:
            config.extra[key] = value
    for key, value in overrides.items():
        if value is not None:
            setattr(config, key, value)
    return config
