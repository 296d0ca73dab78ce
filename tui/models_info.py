"""What the TUI knows about models, through the host's model API (:mod:`huisou.core.models`).

The backend's model manager owns the catalog and the downloader; the TUI only *reads* them,
and degrades to "the configured model" when the backend manages no models.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huisou.core.config import Config


@dataclass
class ModelEntry:
    name: str
    description: str
    tier: str
    size_bytes: int | None
    installed: bool
    configured: bool
    catalog: bool = True


def _manager(config: Config, backend: str | None = None) -> Any:
    """The backend's model manager through the host, or None when it manages no models."""
    from huisou.core.config import DEFAULT_BACKEND
    from huisou.core.errors import HuisouError
    from huisou.core.plugins import get_host

    try:
        host = get_host(config.plugins_dir or None)
        return host.model_manager(backend or config.backend or DEFAULT_BACKEND, config.models_path)
    except HuisouError:
        return None


def _catalog_models(config: Config, backend: str | None = None) -> list[dict[str, Any]]:
    """Model records from the backend's model manager; none without one."""
    manager = _manager(config, backend)
    if manager is None:
        return []
    try:
        return [
            {
                "name": info.name, "description": info.description, "tier": info.tier,
                "size_bytes": info.size or info.size_at_least or None,
                "installed": info.installed, "catalog": info.catalog,
            }
            for info in manager.list_models()
        ]
    except Exception:  # its catalog unreadable: list the model in use only
        return []


def is_installed(config: Config, name: str) -> bool:
    """A complete model directory exists (the backend's own rule when it manages models); a
    model given as a directory path counts when that directory is complete."""
    if os.path.isabs(name) or os.sep in name:
        return all(os.path.isfile(os.path.join(name, rel))
                   for rel in ("visual/model.onnx", "textual/model.onnx"))
    manager = _manager(config)
    if manager is not None:
        info = manager.info(name)
        return bool(info and info.installed)
    folder = Path(config.models_path) / name
    return all((folder / rel).is_file() for rel in ("visual/model.onnx", "textual/model.onnx"))


def list_models(config: Config, choice: tuple[str, str]) -> list[ModelEntry]:
    """Catalog entries with the model in use marked; just that model without a catalog.

    ``choice`` is ``(backend, model)`` as the library resolves it (``Library.model_choice``).
    """
    backend, model = choice
    entries = [
        ModelEntry(
            name=str(r.get("name")),
            description=str(r.get("description", "")),
            tier=str(r.get("tier", "")),
            size_bytes=r["size_bytes"],
            installed=bool(r.get("installed")),
            configured=r.get("name") == model,
            catalog=bool(r.get("catalog")),
        )
        for r in _catalog_models(config, backend)
        if r.get("name")
    ]
    if not any(e.configured for e in entries):
        entries.insert(
            0,
            ModelEntry(
                name=model, description=f"model in use (backend {backend})",
                tier="", size_bytes=None, installed=is_installed(config, model),
                configured=True, catalog=False,
            ),
        )
    return entries


def configured_model(config: Config, choice: tuple[str, str]) -> ModelEntry:
    return next(e for e in list_models(config, choice) if e.configured)


ProgressFn = Callable[[int, int | None], None]


class DownloadCancelled(Exception):
    """Raised from the progress callback to stop a download (the ``.part`` file is kept)."""


def downloader(config: Config | None = None) -> Callable[..., Any] | None:
    """The backend's ``download``, if its model manager has one."""
    from huisou.core.config import load_config

    manager = _manager(config or load_config())
    return getattr(manager, "download", None) if manager is not None else None


def download_model(
    config: Config, name: str, progress: ProgressFn, cancel: threading.Event
) -> Any:
    """Download a catalog model, reporting overall ``(bytes done, bytes total)``.

    The manager reports per file; this sums the files. Cancelling raises
    :class:`DownloadCancelled` from inside the transfer; a later call resumes the partial file.
    """
    from huisou.core.errors import HuisouError

    manager = _manager(config)
    if manager is None:
        raise HuisouError("this installation has no model downloader for the configured backend")
    info = manager.info(name)
    if info is None or not info.catalog:
        raise HuisouError(f"model {name!r} is not in the catalog; see the Models screen")
    total = info.size or info.size_at_least or None
    per_file: dict[str, int] = {}

    def on_progress(path: str, done: int, _file_total: int | None) -> None:
        if cancel.is_set():
            raise DownloadCancelled("download cancelled; start again to resume")
        per_file[path] = done
        progress(sum(per_file.values()), total)

    return manager.download(name, progress=on_progress)


def import_formats(config: Config) -> tuple[str, ...]:
    """Upstream layouts the backend in use can import (none without a model manager)."""
    manager = _manager(config)
    return tuple(manager.import_formats()) if manager is not None else ()


def install_model(config: Config, folder: str, fmt: str | None = None) -> str:
    """Install a ready model folder, or import one in upstream format ``fmt``; return the
    name it is installed under (the folder is copied, never moved or changed)."""
    from huisou.core.errors import HuisouError

    manager = _manager(config)
    if manager is None:
        raise HuisouError("the backend in use manages no models; set model = a directory")
    path = manager.import_model(fmt, folder) if fmt else manager.install(folder)
    return Path(path).name


def quantize_model(config: Config, name: str) -> Any:
    """Write and measure int8 weights of an installed model (the backend's own rules)."""
    from huisou.core.errors import HuisouError

    manager = _manager(config)
    if manager is None:
        raise HuisouError("the backend in use manages no models")
    return manager.quantize(name)
