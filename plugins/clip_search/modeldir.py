"""The on-disk model directory (Immich's ONNX CLIP layout) and how a ``--model`` value finds one.

Layout, shared with Immich so any of its exports works unchanged::

    NAME/config.json                      embed_dim, vision_cfg, text_cfg (context_length)
    NAME/textual/model.onnx               text tower; int8 copy: textual/model_int8.onnx
    NAME/textual/tokenizer.json           Hugging Face ``tokenizers`` file
    NAME/textual/tokenizer_config.json    pad_token (optional; CLIP pads with <|endoftext|>)
    NAME/visual/model.onnx                image tower; int8 copy: visual/model_int8.onnx
    NAME/visual/preprocess_cfg.json       size, mean, std, interpolation, resize_mode
    NAME/quantization.json                written by ``huisou models quantize`` (measured check)

This module only reads JSON and stats files: no numpy, no onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huisou.core.errors import ModelError, ModelNotAvailable, NotAnImage
from huisou.core.regular_files import open_regular

#: Files every model directory must have (tokenizer_config.json is optional).
REQUIRED_FILES: tuple[str, ...] = (
    "config.json",
    "textual/model.onnx",
    "textual/tokenizer.json",
    "visual/model.onnx",
    "visual/preprocess_cfg.json",
)
TOWERS: tuple[str, ...] = ("visual", "textual")
INT8_NAME = "model_int8.onnx"
FP32_NAME = "model.onnx"
QUANT_RECORD = "quantization.json"


#: Bounds of config.json's numbers: real CLIP models sit far inside them, and a value beyond
#: them (``embed_dim: 1e12`` allocated until the kernel killed the process) is a broken file.
MAX_EMBED_DIM = 8192
MAX_CONTEXT_LENGTH = 1024


class InvalidModelDir(ModelError):
    """A directory does not hold a usable model (missing file, unreadable or wrong JSON)."""


def slug(text: str, limit: int = 40) -> str:
    """Lowercase ``[a-z0-9_]`` form of a name, safe in SQL table and file names."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return (cleaned or "model")[:limit].rstrip("_") or "model"


#: The JSON files of a model directory (configs, a tokenizer) are a few MB at most.
JSON_MAX_BYTES = 64 << 20


def _read_json(path: Path) -> Any:
    """Parse a model directory's JSON file: a regular file (a FIFO hung the run), capped."""
    try:
        with open_regular(path) as fh:
            data = fh.read(JSON_MAX_BYTES + 1)
    except FileNotFoundError:
        raise InvalidModelDir(f"model file missing: {path}") from None
    except (OSError, NotAnImage) as exc:
        raise InvalidModelDir(f"cannot read model file {path}: {exc}") from exc
    if len(data) > JSON_MAX_BYTES:
        raise InvalidModelDir(f"model file {path} is over {JSON_MAX_BYTES >> 20} MiB: "
                              "not a model configuration")
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise InvalidModelDir(f"cannot read model file {path}: {exc}") from exc


@dataclass
class ModelDir:
    """A validated model directory; paths and parsed JSON, nothing loaded into memory."""

    path: Path
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    preprocess_cfg: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | os.PathLike[str], name: str | None = None) -> ModelDir:
        """Check the layout and parse the small JSON files; raise InvalidModelDir if unusable."""
        root = Path(path).expanduser()
        if not root.is_dir():
            raise InvalidModelDir(f"model directory not found: {root}")
        missing = [rel for rel in REQUIRED_FILES if not (root / rel).is_file()]
        if missing:
            raise InvalidModelDir(
                f"model directory {root} is incomplete: missing {', '.join(missing)}"
            )
        config = _read_json(root / "config.json")
        preprocess = _read_json(root / "visual" / "preprocess_cfg.json")
        model = cls(path=root, name=name or root.name, config=config, preprocess_cfg=preprocess)
        model.validate()
        return model

    def validate(self) -> None:
        """Check every value huisou reads from the JSON files against sane bounds.

        Done once when the directory is opened (not mid-run on a worker thread), raising
        InvalidModelDir with one line naming the file and the key.
        """
        try:
            self._validate()
        except InvalidModelDir:
            raise
        except ModelError as exc:  # from the preprocess checks: same meaning, same type
            raise InvalidModelDir(str(exc)) from None

    def _validate(self) -> None:
        from huisou.plugins.clip_search.preprocess import PreprocessConfig, check_size

        config_file = self.path / "config.json"
        if not isinstance(self.config, dict):
            raise InvalidModelDir(f"{config_file}: not a JSON object")
        _whole(self.config.get("embed_dim"), f"{config_file}: embed_dim", MAX_EMBED_DIM)
        for section, key in (("text_cfg", "context_length"), ("vision_cfg", "image_size")):
            table = self.config.get(section) or {}
            if not isinstance(table, dict):
                raise InvalidModelDir(f"{config_file}: {section} is not a JSON object")
            if key == "image_size" and table.get(key) is not None:
                check_size(table[key], f"{config_file}: {section}.{key}")
            elif table.get(key) is not None:
                _whole(table[key], f"{config_file}: {section}.{key}", MAX_CONTEXT_LENGTH)
        PreprocessConfig.from_json(
            self.preprocess_cfg, self.image_size, source=str(self.path / "visual/preprocess_cfg.json")
        )
        tokenizer_config = self.tokenizer_config()
        pad = tokenizer_config.get("pad_token")
        if pad is not None and not isinstance(pad, str):
            raise InvalidModelDir(
                f"{self.path / 'textual/tokenizer_config.json'}: pad_token must be text, got {pad!r}"
            )

    # -- facts -------------------------------------------------------------------------------

    @property
    def embed_dim(self) -> int:
        return int(self.config["embed_dim"])

    @property
    def context_length(self) -> int:
        text_cfg = self.config.get("text_cfg") or {}
        return int(text_cfg.get("context_length") or 77)

    @property
    def image_size(self) -> int:
        size = self.preprocess_cfg.get("size") if isinstance(self.preprocess_cfg, dict) else None
        if size is None:
            size = (self.config.get("vision_cfg") or {}).get("image_size", 224)
        if isinstance(size, (list, tuple)) and size:
            size = size[0]
        return size if isinstance(size, int) else 0

    def tokenizer_config(self) -> dict[str, Any]:
        path = self.path / "textual" / "tokenizer_config.json"
        if not path.is_file():
            return {}
        data = _read_json(path)
        return data if isinstance(data, dict) else {}

    def onnx_path(self, tower: str, precision: str) -> Path:
        """``visual``/``textual`` model file for ``fp32`` or ``int8``."""
        return self.path / tower / (INT8_NAME if precision == "int8" else FP32_NAME)

    def has_int8(self) -> bool:
        return all(self.onnx_path(tower, "int8").is_file() for tower in TOWERS)

    def quantization_record(self) -> dict[str, Any]:
        """What ``huisou models quantize`` measured (empty when never quantized here)."""
        path = self.path / QUANT_RECORD
        if not path.is_file():
            return {}
        try:
            data = _read_json(path)
        except InvalidModelDir:
            return {}
        return data if isinstance(data, dict) else {}

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())

    # -- identity ----------------------------------------------------------------------------

    def file_digest(self, rel: str) -> str:
        """sha256 of a file of this model, remembered under huisou's data directory
        (:mod:`.digest_cache`)."""
        from huisou.plugins.clip_search.digest_cache import cached_sha256

        return cached_sha256(self.path / rel)


def _whole(value: object, where: str, high: int) -> int:
    """A whole number from 1 to ``high`` (JSON ``1e12`` is a float and is refused too)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InvalidModelDir(f"{where} must be a whole number from 1 to {high}, got {value!r}")
    return value


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def looks_like_path(model: str) -> bool:
    """A ``--model`` value is a path when it has a separator or starts with ``.``/``~``."""
    return os.sep in model or "/" in model or model.startswith((".", "~"))


def resolve_model(model: str, models_dir: str | os.PathLike[str]) -> ModelDir:
    """Find the directory for a catalog name or a path, or explain how to get it.

    Raises ModelNotAvailable (one line: the model, the command to fetch it and where files
    copied by hand belong) when nothing usable is on disk.
    """
    if not model or not model.strip():
        raise ModelNotAvailable("no model configured: pass --model NAME or a model directory")
    candidate = Path(model).expanduser()
    if looks_like_path(model) or (candidate.is_dir() and not Path(models_dir, model).exists()):
        if not candidate.is_dir():
            raise ModelNotAvailable(f"model directory not found: {candidate}")
        return ModelDir.open(candidate)
    target = Path(models_dir).expanduser() / model
    if target.is_dir():
        try:
            return ModelDir.open(target, name=model)
        except InvalidModelDir as exc:
            raise ModelNotAvailable(
                f"model {model!r} is not fully installed ({exc}); run `huisou models download "
                f"{model}` to finish it"
            ) from None
    from huisou.plugins.clip_search.model_catalog import find_entry

    if find_entry(model) is None:
        raise ModelNotAvailable(
            f"unknown model {model!r}: not in the catalog (`huisou models list`) and not a "
            f"directory; register a model directory with `huisou models install DIR --name {model}`"
        )
    raise ModelNotAvailable(
        f"model {model!r} is not downloaded: run `huisou models download {model}` "
        f"(or copy its files by hand into {target})"
    )
