"""What the TUI knows about models: the catalog of downloadable CLIP models, if any.

The CLIP plugin owns the model catalog and the downloader; the TUI only *reads* them, and
degrades to "the configured model" when the plugin (or its catalog module) is absent, e.g.
when a third-party backend is configured.
"""

from __future__ import annotations

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


def _catalog_models() -> list[dict[str, Any]]:
    """Model records from the CLIP plugin's ``model_catalog``; none without the plugin."""
    try:
        from huisou.plugins.clip_search import model_catalog

        return [
            {
                "name": entry.name, "description": entry.description, "tier": entry.tier,
                "size_bytes": entry.known_size() or entry.approx_size() or None,
            }
            for entry in model_catalog.entries()
        ]
    except Exception:  # plugin absent or its catalog unreadable: list the model in use only
        return []


def is_installed(config: Config, name: str) -> bool:
    """A complete model directory exists (the plugin's own rule when it is importable)."""
    try:
        from huisou.plugins.clip_search import model_catalog

        return name in model_catalog.installed_models(config.models_path)
    except ImportError:
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
            installed=is_installed(config, str(r.get("name"))),
            configured=r.get("name") == model,
        )
        for r in _catalog_models()
        if r.get("name")
    ]
    if not any(e.configured for e in entries):
        entries.insert(
            0,
            ModelEntry(
                name=model, description=f"model in use (backend {backend})",
                tier="", size_bytes=None, installed=is_installed(config, model),
                configured=True,
            ),
        )
    return entries


def configured_model(config: Config, choice: tuple[str, str]) -> ModelEntry:
    return next(e for e in list_models(config, choice) if e.configured)


ProgressFn = Callable[[int, int | None], None]


class DownloadCancelled(Exception):
    """Raised from the progress callback to stop a download (the ``.part`` file is kept)."""


def downloader() -> Callable[..., Any] | None:
    """The CLIP plugin's ``download_model``, if that plugin is installed."""
    try:
        from huisou.plugins.clip_search import download
    except Exception:
        return None
    return getattr(download, "download_model", None)


def download_model(
    config: Config, name: str, progress: ProgressFn, cancel: threading.Event
) -> Any:
    """Download a catalog model, reporting overall ``(bytes done, bytes total)``.

    The plugin reports per file; this sums the files. Cancelling raises
    :class:`DownloadCancelled` from inside the transfer; a later call resumes the partial file.
    """
    from huisou.core.errors import HuisouError

    fn = downloader()
    if fn is None:
        raise HuisouError("this installation has no model downloader (CLIP plugin missing)")
    from huisou.plugins.clip_search import model_catalog

    entry = model_catalog.find_entry(name)
    if entry is None:
        raise HuisouError(f"model {name!r} is not in the catalog; see the Models screen")
    total = entry.known_size() or entry.approx_size() or None
    per_file: dict[str, int] = {}

    def on_progress(path: str, done: int, _file_total: int | None) -> None:
        if cancel.is_set():
            raise DownloadCancelled("download cancelled; start again to resume")
        per_file[path] = done
        progress(sum(per_file.values()), total)

    return fn(entry, str(config.models_path), progress=on_progress)
