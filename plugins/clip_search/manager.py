"""The ``onnx-clip`` backend's :class:`~huisou.core.models.ModelManager`.

Models live in ``<models dir>/NAME`` (Immich layout, :mod:`.modeldir`). ``install`` *copies* a
directory there (``link=True`` makes a symlink instead), because a copied model survives the
user cleaning up their downloads folder. Heavy work happens in the sibling modules, imported
on use.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

from huisou.core.errors import HuisouError
from huisou.core.models import ModelInfo, ModelManager, Progress
from huisou.plugins.clip_search.model_catalog import CatalogEntry, entries, find_entry

#: Hidden folder of ``models_dir`` where upstream files wait to be imported.
DOWNLOADS = ".downloads"


class ClipModelManager(ModelManager):
    """Catalog, downloads, imports, installs, int8 quantization of CLIP model directories."""

    backend_id: ClassVar[str] = "onnx-clip"

    # -- listing -----------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        from huisou.plugins.clip_search.model_catalog import installed_models

        installed = installed_models(self.models_dir)
        rows = [self._catalog_info(entry, installed.pop(entry.name, None)) for entry in entries()]
        rows += [self._local_info(name, path) for name, path in installed.items()]
        return rows

    def _catalog_info(self, entry: CatalogEntry, path: Path | None) -> ModelInfo:
        return ModelInfo(
            name=entry.name, backend=self.backend_id, description=entry.description,
            languages=entry.languages, licence=str(entry.raw.get("license", "")),
            size=entry.known_size(), size_at_least=entry.approx_size(),
            installed=path is not None, int8=_has_int8(path), catalog=True,
            pinned=entry.pinned, unverified=tuple(s.path for s in entry.files if not s.sha256),
            tier=entry.tier, path=str(path) if path else None,
        )

    def _local_info(self, name: str, path: Path) -> ModelInfo:
        facts = _model_facts(path)
        return ModelInfo(
            name=name, backend=self.backend_id,
            description=facts.get("description") or f"installed from {path.resolve()}",
            languages=tuple(facts.get("languages") or ()), licence=str(facts.get("license", "")),
            size_at_least=sum(f.stat().st_size for f in path.rglob("*") if f.is_file()),
            installed=True, int8=_has_int8(path), path=str(path),
        )

    # -- fetching ----------------------------------------------------------------------------

    def download(self, name: str, progress: Progress | None = None, endpoint: str | None = None,
                 timeout: float = 30.0) -> Path:
        from huisou.plugins.clip_search.download import RECORD, download_model
        from huisou.plugins.clip_search.model_catalog import installed_models

        entry = find_entry(name)
        if entry is None:
            known = ", ".join(e.name for e in entries())
            raise HuisouError(f"unknown model {name!r} (catalog: {known})")
        if entry.import_format is None:
            return download_model(entry, self.models_dir, progress=progress, endpoint=endpoint,
                                  timeout=timeout)
        target = self.models_dir / name
        if name in installed_models(self.models_dir):
            return target
        # Upstream files keep their names (an .onnx and its .extra_file stay together) in a
        # hidden folder, are imported, and go once the model is in place; the digests
        # recorded on download travel with it.
        raw = download_model(entry, self.models_dir / DOWNLOADS, progress=progress,
                             endpoint=endpoint, timeout=timeout)
        self.import_model(entry.import_format, raw, name=name, force=True)
        shutil.copyfile(raw / RECORD, target / RECORD)
        shutil.rmtree(raw)
        return target

    def import_formats(self) -> tuple[str, ...]:
        from huisou.plugins.clip_search.importers import IMPORT_FORMATS

        return IMPORT_FORMATS

    def import_model(self, fmt: str, directory: str | os.PathLike[str], name: str | None = None,
                     force: bool = False) -> Path:
        """Convert into a hidden staging directory, check it opens as a model, then rename it
        into place: an import that fails leaves nothing behind."""
        from huisou.plugins.clip_search.importers import import_into
        from huisou.plugins.clip_search.modeldir import ModelDir

        source = Path(directory).expanduser()
        name = name or source.resolve().name
        if not force:
            self._target(name, force=False)  # a taken or invalid name fails before the work
        self.models_dir.mkdir(parents=True, exist_ok=True)
        staging = self.models_dir / f".{name}.importing"
        if staging.exists():
            shutil.rmtree(staging)
        try:
            import_into(fmt, source, staging)
            ModelDir.open(staging, name=name)
            target = self._target(name, force, source)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        return target

    def install(self, directory: str | os.PathLike[str], name: str | None = None,
                link: bool = False, force: bool = False) -> Path:
        from huisou.plugins.clip_search.backend import check_towers
        from huisou.plugins.clip_search.modeldir import ModelDir

        source = ModelDir.open(directory)
        check_towers(source)  # a corrupt graph is refused here, not on every photo later
        name = name or source.path.resolve().name
        target = self._target(name, force, source.path)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        if link:
            target.symlink_to(source.path.resolve(), target_is_directory=True)
        else:
            staging = self.models_dir / f".{name}.installing"
            if staging.exists():
                shutil.rmtree(staging)
            shutil.copytree(source.path, staging,
                            ignore=shutil.ignore_patterns("*.part", ".huisou-*"))
            staging.rename(target)
        ModelDir.open(target, name=name)
        return target

    def _target(self, name: str, force: bool, source: Path | None = None) -> Path:
        """``models_dir/NAME`` made free for a new model (``force`` replaces an old one)."""
        from huisou.plugins.clip_search.modeldir import slug

        if "/" in name or os.sep in name or name.startswith(".") or not slug(name):
            raise HuisouError(f"invalid model name {name!r}")
        target = self.models_dir / name
        if target.exists() or target.is_symlink():
            if source is not None and _overlaps(source.resolve(), target.resolve()):
                # force would delete the directory it is about to copy (or link) from
                raise HuisouError(f"model {name!r} is already installed from {source} at {target}")
            if not force:
                raise HuisouError(f"model {name!r} is already installed at {target} (use --force)")
            _remove_path(target)
        return target

    # -- changing ----------------------------------------------------------------------------

    def quantize(self, name: str, **options: Any) -> dict[str, Any]:
        """``weight_type`` (auto/quint8/qint8), ``per_channel``, ``reduce_range``."""
        from huisou.plugins.clip_search.modeldir import resolve_model
        from huisou.plugins.clip_search.quantize import QuantOptions, quantize_model

        model_dir = resolve_model(name, self.models_dir)
        return quantize_model(model_dir, QuantOptions(
            options.get("weight_type", "auto"), bool(options.get("per_channel")),
            bool(options.get("reduce_range"))))

    def remove(self, name: str, int8_only: bool = False) -> None:
        target = self.models_dir / name
        if "/" in name or name in ("", ".", "..") or not (target.exists() or target.is_symlink()):
            raise HuisouError(f"model {name!r} is not installed in {self.models_dir}")
        if int8_only:
            from huisou.plugins.clip_search.modeldir import ModelDir
            from huisou.plugins.clip_search.quantize import remove_int8

            remove_int8(ModelDir.open(target, name=name))
            return
        _remove_path(target)


def _model_facts(path: Path) -> dict[str, Any]:
    """What an installed directory says about itself: ``huisou import`` writes
    ``languages``/``license``/``description`` into config.json; others have none."""
    import json

    try:
        data = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    facts = {key: data.get(key) for key in ("languages", "license", "description")}
    if not (isinstance(facts["languages"], list)
            and all(isinstance(lang, str) for lang in facts["languages"])):
        facts["languages"] = []
    return {key: value for key, value in facts.items() if value}


def _has_int8(path: Path | None) -> bool:
    from huisou.plugins.clip_search.modeldir import INT8_NAME

    return bool(path and (path / "visual" / INT8_NAME).is_file())


def _overlaps(a: Path, b: Path) -> bool:
    """Whether one of two resolved paths is the other or lies inside it."""
    return a == b or a in b.parents or b in a.parents


def _remove_path(target: Path) -> None:
    if target.is_symlink() or target.is_file():
        target.unlink()
    else:
        shutil.rmtree(target)
