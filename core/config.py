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

from huisou.core.errors import ConfigError, NotAnImage
from huisou.core.regular_files import open_regular

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


#: A config file is a few lines; anything bigger is not one (and is not read whole).
CONFIG_MAX_BYTES = 1 << 20


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
    #: ``[search.weights]``: fusion weight per ranking name (``clip``, a signal's name)
    search_weights: dict[str, float] = field(default_factory=dict)
    #: Text in photos (the ocr plugin): "auto" reads the photos the image model says carry
    #: text, "all" every photo, "off" none (photos not read stay due for a later run).
    ocr: str = "auto"
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


#: Inclusive bounds of the numeric settings: beyond them a value is a typo, not a wish
#: (``threads = 100000`` ran for minutes creating threads; a batch of a million photos
#: would hold a million decoded images).
BOUNDS: dict[str, tuple[int, int]] = {"threads": (0, 256), "batch_size": (1, 1024)}
CHOICES: dict[str, tuple[str, ...]] = {
    "precision": ("auto", "int8", "fp32"),
    "ocr": ("auto", "all", "off"),
}
#: Settings that name files: relative values in ``config.toml`` are read against the
#: directory of that file (not the current directory, which changes from run to run).
PATH_KEYS = ("db", "plugins_dir", "models_dir")
#: Tables of ``config.toml`` handed to plugins as they are.
TABLES = ("store_options",)
#: Config fields set only through a table of their own (``[search.weights]``).
TABLE_FIELDS = ("extra", "search_weights")


def load_config(path: Path | None = None, **overrides: Any) -> Config:
    """Read ``config.toml`` (absent is fine) and apply non-None ``overrides``.

    Every key is checked (type, bounds, spelling), so a typo fails with one line naming
    the file and the key instead of being ignored or exhausting the machine.
    """
    path = path or config_path()
    values: dict[str, Any] = {}
    if path.exists():
        try:
            # only a regular file, and only so much of it: a FIFO here hung every command
            with open_regular(path) as fh:
                data = fh.read(CONFIG_MAX_BYTES + 1)
            if len(data) > CONFIG_MAX_BYTES:
                raise ConfigError(f"config file {path} is over {CONFIG_MAX_BYTES >> 10} KiB: "
                                  "not a huisou config file; fix or remove it")
            values = tomllib.loads(data.decode("utf-8"))
        except (OSError, NotAnImage, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    config = Config()
    for key, value in values.items():
        setting = f"config file {path}: {key}"
        if key in TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{setting} must be a table ([{key}]), got {value!r}")
            config.extra[key] = value
            continue
        if key == "search":
            config.search_weights = _search_weights(value, setting)
            continue
        _check(config, key, value, setting)
        if key in PATH_KEYS and value:
            value = str(_against(path.parent, value))
        setattr(config, key, value)
    for key, value in overrides.items():
        if value is not None:
            _check(config, key, value, f"--{key.replace('_', '-')}")
            setattr(config, key, value)
    return config


def _check(config: Config, key: str, value: Any, setting: str) -> None:
    """Raise ConfigError (one line, naming ``setting``) unless ``value`` fits ``key``."""
    known = sorted({f.name for f in fields(Config)} - set(TABLE_FIELDS) | {*TABLES, "search"})
    if key not in known:
        raise ConfigError(f"{setting}: unknown setting (known: {', '.join(known)})")
    expected = type(getattr(config, key))
    if not isinstance(value, expected) or isinstance(value, bool):
        raise ConfigError(f"{setting} must be {expected.__name__}, got {value!r}")
    if key in BOUNDS:
        low, high = BOUNDS[key]
        if not low <= value <= high:
            raise ConfigError(f"{setting} must be between {low} and {high}, got {value}")
    if key in CHOICES and value not in CHOICES[key]:
        raise ConfigError(f"{setting} must be one of {', '.join(CHOICES[key])}, got {value!r}")


def _search_weights(value: Any, setting: str) -> dict[str, float]:
    """``[search.weights]`` checked: a table of ranking name -> weight within bounds (a typo
    such as ``weight`` or ``clip = "high"`` fails here with one line, not at search time)."""
    from huisou.core.fusion import check_weight

    if not isinstance(value, dict) or set(value) - {"weights"}:
        raise ConfigError(f"{setting} must hold only a [search.weights] table, got {value!r}")
    weights = value.get("weights", {})
    if not isinstance(weights, dict):
        raise ConfigError(f"{setting}.weights must be a table ([search.weights]), got {weights!r}")
    for name, weight in weights.items():
        problem = check_weight(weight)
        if problem:
            raise ConfigError(f"{setting}.weights.{name} {problem}")
    return {name: float(weight) for name, weight in weights.items()}


def _against(base: Path, value: str) -> Path:
    """``value`` with ``~`` expanded, relative to ``base`` when not absolute."""
    expanded = Path(value).expanduser()
    return expanded if expanded.is_absolute() else (base / expanded).resolve()
