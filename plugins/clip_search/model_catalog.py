"""The model catalog (``catalog.json``): named models with repo, pinned revision, sizes, sha256.

The facts in ``catalog.json`` were read from the model pages (see ``docs/models-research.md``);
a file whose digest could not be read carries only its size, or nothing, and its own
``verify`` rule says so. Nothing here touches the network.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huisou.core.errors import HuisouError

CATALOG_PATH = Path(__file__).with_name("catalog.json")
DEFAULT_ENDPOINT = "https://huggingface.co"
URL_TEMPLATE = "{endpoint}/{repo}/resolve/{revision}/{path}"


@dataclass(frozen=True)
class FileSpec:
    """One file of a model: where it goes and how to check it."""

    path: str
    size: int | None = None
    sha256: str | None = None
    approx_size: str | None = None
    #: Another repository (and pinned revision) than the entry's, e.g. OFA-Sys's vocab.txt.
    repo: str | None = None
    revision: str | None = None

    @property
    def verify(self) -> str:
        if self.sha256:
            return "sha256+size" if self.size else "sha256"
        return "size" if self.size else "none"


@dataclass(frozen=True)
class CatalogEntry:
    """A named model of the catalog."""

    name: str
    repo: str
    revision: str
    languages: tuple[str, ...]
    description: str
    files: tuple[FileSpec, ...]
    embed_dim: int | None = None
    tier: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def pinned(self) -> bool:
        return len(self.revision) == 40 and all(c in "0123456789abcdef" for c in self.revision)

    def file(self, rel: str) -> FileSpec | None:
        return next((spec for spec in self.files if spec.path == rel), None)

    def known_size(self) -> int | None:
        """Total bytes when every file's size is known."""
        sizes = [spec.size for spec in self.files]
        return sum(sizes) if all(s is not None for s in sizes) else None  # type: ignore[misc]

    def approx_size(self) -> int:
        """Sum of the known sizes (a lower bound when some are unknown)."""
        return sum(spec.size or 0 for spec in self.files)

    @property
    def import_format(self) -> str | None:
        """Upstream layout the downloaded files are in (``huisou models import FORMAT``), or
        None for files already in huisou's layout."""
        return self.raw.get("import") or None

    def url(self, rel: str, endpoint: str | None = None) -> str:
        spec = self.file(rel)
        return URL_TEMPLATE.format(
            endpoint=(endpoint or hf_endpoint()).rstrip("/"),
            repo=(spec and spec.repo) or self.repo,
            revision=(spec and spec.revision) or self.revision,
            path=rel,
        )


def hf_endpoint() -> str:
    """``HF_ENDPOINT`` (mirrors such as https://hf-mirror.com) or huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _entry(raw: dict[str, Any]) -> CatalogEntry:
    files = tuple(
        FileSpec(
            path=f["path"],
            size=f.get("size"),
            sha256=(f.get("sha256") or None),
            approx_size=f.get("approx_size"),
            repo=f.get("repo"),
            revision=f.get("revision"),
        )
        for f in raw.get("files", [])
    )
    return CatalogEntry(
        name=raw["name"],
        repo=raw["repo"],
        revision=raw.get("revision") or "main",
        languages=tuple(raw.get("languages", ())),
        description=raw.get("description", ""),
        files=files,
        embed_dim=raw.get("embed_dim"),
        tier=raw.get("tier", ""),
        raw=raw,
    )


@functools.lru_cache(maxsize=4)
def _load(path: str) -> tuple[CatalogEntry, ...]:
    """Parse a catalog file; any defect is one HuisouError naming the file (not cached)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return tuple(_entry(raw) for raw in data.get("models", []))
    except OSError as exc:
        raise HuisouError(f"cannot read model catalog {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise HuisouError(f"model catalog {path} is not valid JSON: {exc}") from None
    except (AttributeError, KeyError, TypeError) as exc:
        raise HuisouError(f"model catalog {path}: malformed entry ({type(exc).__name__}: {exc})"
                          ) from None


def entries(path: str | os.PathLike[str] | None = None) -> tuple[CatalogEntry, ...]:
    """Every catalog entry (``HUISOU_MODEL_CATALOG`` may point at another catalog file)."""
    chosen = path or os.environ.get("HUISOU_MODEL_CATALOG") or CATALOG_PATH
    return _load(str(chosen))


def find_entry(name: str, path: str | os.PathLike[str] | None = None) -> CatalogEntry | None:
    return next((entry for entry in entries(path) if entry.name == name), None)


def installed_models(models_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Complete model directories under ``models_dir`` by name (symlinks followed)."""
    from huisou.plugins.clip_search.modeldir import REQUIRED_FILES

    root = Path(models_dir).expanduser()
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for child in sorted(root.iterdir()):
        if child.is_dir() and all((child / rel).is_file() for rel in REQUIRED_FILES):
            found[child.name] = child
    return found


def human_size(size: int | None) -> str:
    if not size:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover
