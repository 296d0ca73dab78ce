"""``huisou models``: list, download, install, quantize, remove and export CLIP models.

Models live in ``<data dir>/models/NAME`` (``HUISOU_HOME/models`` in tests, or ``models_dir``
in config.toml). ``install`` *copies* a directory there (``--link`` makes a symlink instead),
because a copied model survives the user cleaning up their downloads folder.
Only click is imported at module level; the work happens in the sibling modules.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import click
from huisou import hookimpl


def _models_dir() -> Path:
    from huisou.core.config import load_config

    return load_config().models_path


class _Progress:
    """One updating line on stderr (or start/finish lines when stderr is not a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.current: str | None = None

    def __call__(self, rel: str, done: int, total: int | None) -> None:
        from huisou.plugins.clip_search.model_catalog import human_size

        if rel != self.current:
            if self.current is not None and self.tty:
                click.echo("", err=True)
            self.current = rel
            if not self.tty:
                click.echo(f"downloading {rel} ({human_size(total)})", err=True)
        if self.tty:
            pct = f"{100 * done / total:5.1f}%" if total else "     "
            click.echo(f"\r{rel}: {pct} {human_size(done)} / {human_size(total)}   ",
                       err=True, nl=False)

    def close(self) -> None:
        if self.current is not None and self.tty:
            click.echo("", err=True)


@click.group()
def models() -> None:
    """Manage CLIP models: list, download, install, quantize, remove, export."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_models(as_json: bool) -> None:
    """Catalog models and installed ones, with languages, size and status."""
    from huisou.plugins.clip_search.model_catalog import entries, human_size, installed_models
    from huisou.plugins.clip_search.modeldir import INT8_NAME

    installed = installed_models(_models_dir())
    rows: list[dict[str, Any]] = []
    for entry in entries():
        path = installed.pop(entry.name, None)
        rows.append({
            "name": entry.name, "languages": list(entry.languages), "size": entry.known_size(),
            "size_at_least": entry.approx_size(), "installed": path is not None,
            "int8": bool(path and (path / "visual" / INT8_NAME).is_file()),
            "pinned": entry.pinned, "catalog": True, "description": entry.description,
        })
    for name, path in installed.items():
        rows.append({
            "name": name, "languages": [], "size": None,
            "size_at_least": sum(f.stat().st_size for f in path.rglob("*") if f.is_file()),
            "installed": True, "int8": (path / "visual" / INT8_NAME).is_file(),
            "pinned": None, "catalog": False, "description": f"installed from {path.resolve()}",
        })
    if as_json:
        from huisou.cli.common import print_json

        print_json(rows)
        return
    click.echo(f"{'NAME':46} {'LANGUAGES':18} {'SIZE':>9}  STATUS")
    for row in rows:
        size = human_size(row["size"]) if row["size"] else "≥" + human_size(row["size_at_least"])
        status = ("installed" + (" +int8" if row["int8"] else "")) if row["installed"] else "-"
        if not row["catalog"]:
            status += " (local)"
        langs = ",".join(row["languages"]) or "?"
        click.echo(f"{row['name']:46} {langs:18} {size:>9}  {status}")


@models.command()
@click.argument("name")
@click.option("--endpoint", default=None, help="Mirror base URL (default: $HF_ENDPOINT or huggingface.co).")
@click.option("--timeout", default=30.0, show_default=True, help="Network timeout in seconds.")
@click.option("--quantize", "then_quantize", is_flag=True,
              help="Then write and measure int8 towers (as `huisou models quantize`).")
@click.option("--json", "as_json", is_flag=True, help="Print the downloaded model as JSON.")
def download(name: str, endpoint: str | None, timeout: float, then_quantize: bool,
             as_json: bool) -> None:
    """Download a catalog model; resumable, sha256-verified, atomic."""
    from huisou.core.errors import HuisouError
    from huisou.plugins.clip_search.download import download_model
    from huisou.plugins.clip_search.model_catalog import entries, find_entry

    entry = find_entry(name)
    if entry is None:
        known = ", ".join(e.name for e in entries())
        raise HuisouError(f"unknown model {name!r} (catalog: {known})")
    if not entry.pinned:
        click.echo(f"note: {name} is not pinned to a commit ({entry.revision}); files without a "
                   "catalog digest are recorded on first download", err=True)
    progress = _Progress()
    try:
        target = download_model(entry, _models_dir(), progress=progress, endpoint=endpoint,
                                timeout=timeout)
    finally:
        progress.close()
    if then_quantize:
        click.get_current_context().invoke(quantize, name=name, as_json=as_json)
    _done({"name": name, "path": str(target)}, as_json, f"{name}: ready in {target}")


@models.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Name to register (default: the directory's name).")
@click.option("--link", is_flag=True, help="Symlink instead of copying.")
@click.option("--force", is_flag=True, help="Replace an installed model of that name.")
@click.option("--json", "as_json", is_flag=True, help="Print the installed model as JSON.")
def install(directory: str, name: str | None, link: bool, force: bool, as_json: bool) -> None:
    """Validate a model directory and register it under NAME (copied into the models dir)."""
    from huisou.core.errors import HuisouError
    from huisou.plugins.clip_search.backend import check_towers
    from huisou.plugins.clip_search.modeldir import ModelDir, slug

    source = ModelDir.open(directory)
    checked = check_towers(source)  # a corrupt graph is refused here, not on every photo later
    name = name or source.path.resolve().name
    if "/" in name or name.startswith(".") or not slug(name):
        raise HuisouError(f"invalid model name {name!r}")
    root = _models_dir()
    target = root / name
    if target.exists() or target.is_symlink():
        if _overlaps(source.path.resolve(), target.resolve()):
            # --force would delete the directory it is about to copy (or link) from
            raise HuisouError(f"model {name!r} is already installed from {directory} at {target}")
        if not force:
            raise HuisouError(f"model {name!r} is already installed at {target} (use --force)")
        _remove_path(target)
    root.mkdir(parents=True, exist_ok=True)
    if link:
        target.symlink_to(source.path.resolve(), target_is_directory=True)
    else:
        staging = root / f".{name}.installing"
        if staging.exists():
            shutil.rmtree(staging)
        shutil.copytree(source.path, staging, ignore=shutil.ignore_patterns("*.part", ".huisou-*"))
        staging.rename(target)
    installed = ModelDir.open(target, name=name)
    _done({"name": name, "path": str(target), "link": link, "checked": checked,
           "size_bytes": installed.size_bytes()}, as_json,
          f"{name}: installed in {target}" + (" (symlink)" if link else ""))


@models.command()
@click.argument("name")
@click.option("--weight-type", type=click.Choice(["auto", "quint8", "qint8"]), default="auto",
              show_default=True,
              help="Int8 weights; auto = qint8 on VNNI x86/ARM64, quint8 elsewhere (accuracy).")
@click.option("--per-channel", is_flag=True, help="Per-channel weight scales.")
@click.option("--reduce-range", is_flag=True, help="7-bit weights (for CPUs without VNNI).")
@click.option("--json", "as_json", is_flag=True, help="Print the measurement as JSON.")
def quantize(name: str, weight_type: str, per_channel: bool, reduce_range: bool,
             as_json: bool) -> None:
    """Write int8 towers beside the fp32 ones and measure them against fp32."""
    from huisou.plugins.clip_search.modeldir import resolve_model
    from huisou.plugins.clip_search.quantize import QuantOptions, quantize_model

    model_dir = resolve_model(name, _models_dir())
    record = quantize_model(model_dir, QuantOptions(weight_type, per_channel, reduce_range))
    if as_json:
        from huisou.cli.common import print_json

        print_json(record)
        return
    for tower, check in record["checks"].items():
        sizes = record["sizes"][tower]
        click.echo(f"{tower}: {sizes['fp32_bytes'] / 1e6:.1f} MB -> {sizes['int8_bytes'] / 1e6:.1f} MB, "
                   f"cosine vs fp32 min {check['min_cosine']:.4f} mean {check['mean_cosine']:.4f}")
    verdict = ("int8 is used by default (precision auto); libraries indexed at fp32 need "
               "`huisou index` (or search with --precision fp32)") if record["recommended"] else (
        "int8 below the accuracy threshold: precision auto keeps fp32 (force with --precision int8)")
    click.echo(f"{model_dir.name}: {verdict}")


@models.command()
@click.argument("name")
@click.option("--int8-only", is_flag=True, help="Remove only the int8 files.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (needed without a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def remove(name: str, int8_only: bool, yes: bool, as_json: bool) -> None:
    """Delete an installed model (or only its int8 files) from the models directory."""
    from huisou.core.errors import HuisouError
    from huisou.plugins.clip_search.modeldir import ModelDir

    target = _models_dir() / name
    if "/" in name or name in ("", ".", "..") or not (target.exists() or target.is_symlink()):
        raise HuisouError(f"model {name!r} is not installed in {_models_dir()}")
    if int8_only:
        from huisou.plugins.clip_search.quantize import remove_int8

        remove_int8(ModelDir.open(target, name=name))
        _done({"name": name, "removed": "int8", "path": str(target)}, as_json,
              f"{name}: int8 files removed")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(f"not deleting {target} without a terminal to confirm: "
                                   "pass --yes")
        if not click.confirm(f"delete {target}?", default=False):
            raise HuisouError(f"{name}: not removed (answered no)")
    _remove_path(target)
    _done({"name": name, "removed": "model", "path": str(target)}, as_json, f"{name}: removed")


@models.command()
@click.option("--arch", required=True, help="open_clip architecture, e.g. ViT-B-32.")
@click.option("--pretrained", default=None, help="Checkpoint file or open_clip pretrained tag.")
@click.option("--name", default=None, help="Install under this name (default: ARCH__PRETRAINED).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output directory (default: the models directory / NAME).")
@click.option("--precision", type=click.Choice(["fp32", "int8"]), default="fp32", show_default=True)
def export(arch: str, pretrained: str | None, name: str | None, out_dir: str | None,
           precision: str) -> None:
    """Export an open_clip checkpoint to a model directory (needs huisou[export])."""
    from huisou.core.errors import HuisouError

    try:
        from huisou.plugins.clip_search.export import run_export
    except ImportError as exc:
        raise HuisouError(f"export needs torch and open_clip: pip install 'huisou[export]' ({exc})"
                          ) from None
    if out_dir is None:
        label = Path(pretrained).stem if pretrained and ("/" in pretrained) else pretrained
        out_dir = str(_models_dir() / (name or f"{arch}__{label or 'random'}"))
    try:
        out = run_export(arch, pretrained, out_dir, precision)
    except ImportError as exc:
        raise HuisouError(f"{exc}" if "huisou[export]" in str(exc) else
                          f"export needs torch and open_clip: pip install 'huisou[export]' ({exc})"
                          ) from None
    click.echo(f"exported {arch} to {out}")


def _done(data: dict[str, Any], as_json: bool, text: str) -> None:
    """The result of a command that changed something: JSON for scripts, else one line."""
    if as_json:
        from huisou.cli.common import print_json

        print_json(data)
    else:
        click.echo(text)


def _overlaps(a: Path, b: Path) -> bool:
    """Whether one of two resolved paths is the other or lies inside it."""
    return a == b or a in b.parents or b in a.parents


def _remove_path(target: Path) -> None:
    if target.is_symlink() or target.is_file():
        target.unlink()
    else:
        shutil.rmtree(target)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(models)
