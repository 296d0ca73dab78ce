"""``huisou models``: list, download, import, install, quantize and remove models.

Every command talks to the backend's :class:`~huisou.core.models.ModelManager` through the
plugin host (``--backend``, default the configured one), so it works for any backend that
manages models and imports no plugin. Backends may add subcommands (e.g. ``export``) through
``register_commands``.
"""

from __future__ import annotations

import sys
from typing import Any

import click


class _Progress:
    """One updating line on stderr (or start/finish lines when stderr is not a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.current: str | None = None

    def __call__(self, rel: str, done: int, total: int | None) -> None:
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


def human_size(size: int | None) -> str:
    if not size:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit != "MB" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _manager(ctx: click.Context) -> Any:
    from huisou.core.config import DEFAULT_BACKEND, load_config
    from huisou.core.plugins import get_host

    config = load_config()
    backend = ctx.find_object(dict).get("backend") or config.backend or DEFAULT_BACKEND
    host = get_host(config.plugins_dir or None)
    return host.model_manager(backend, config.models_path)


@click.group()
@click.option("--backend", default=None, help="Embedding backend whose models to manage.")
@click.pass_context
def models(ctx: click.Context, backend: str | None) -> None:
    """Manage models: list, download, import, install, quantize, remove."""
    ctx.ensure_object(dict)["backend"] = backend


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_models(ctx: click.Context, as_json: bool) -> None:
    """Catalog and installed models: languages, licence, size, status, unverified files."""
    rows = _manager(ctx).list_models()
    if as_json:
        from huisou.cli.common import print_json

        print_json([row.to_dict() for row in rows])
        return
    click.echo(f"{'NAME':46} {'LANGUAGES':18} {'SIZE':>9}  {'STATUS':20} LICENCE")
    for row in rows:
        size = human_size(row.size) if row.size else "≥" + human_size(row.size_at_least)
        status = ("installed" + (" +int8" if row.int8 else "")) if row.installed else "-"
        if not row.catalog:
            status += " (local)"
        langs = ",".join(row.languages) or "?"
        licence = row.licence.split(" (")[0] or "?"
        click.echo(f"{row.name:46} {langs:18} {size:>9}  {status:20} {licence}")
        if row.unverified:
            click.echo(f"{'':46} no published digest, trusted on first download: "
                       f"{', '.join(row.unverified)}")


@models.command()
@click.argument("name")
@click.option("--endpoint", default=None,
              help="Mirror base URL (default: $HF_ENDPOINT or huggingface.co).")
@click.option("--timeout", default=30.0, show_default=True, help="Network timeout in seconds.")
@click.option("--quantize", "then_quantize", is_flag=True,
              help="Then write and measure int8 towers (as `huisou models quantize`).")
@click.option("--json", "as_json", is_flag=True, help="Print the downloaded model as JSON.")
@click.pass_context
def download(ctx: click.Context, name: str, endpoint: str | None, timeout: float,
             then_quantize: bool, as_json: bool) -> None:
    """Download a catalog model; resumable, sha256-verified, atomic."""
    manager = _manager(ctx)
    info = manager.info(name)
    if info is not None and info.catalog and info.unverified:
        click.echo(f"note: {name}: no published digest for {', '.join(info.unverified)}; "
                   "their sha256 is recorded on first download and checked afterwards", err=True)
    progress = _Progress()
    try:
        target = manager.download(name, progress=progress, endpoint=endpoint, timeout=timeout)
    finally:
        progress.close()
    if then_quantize:
        ctx.invoke(quantize, name=name, as_json=as_json)
    _done({"name": name, "path": str(target)}, as_json, f"{name}: ready in {target}")


@models.command("import")
@click.argument("fmt", metavar="FORMAT")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Name to install under (default: the directory's).")
@click.option("--force", is_flag=True, help="Replace an installed model of that name.")
@click.option("--json", "as_json", is_flag=True, help="Print the imported model as JSON.")
@click.pass_context
def import_cmd(ctx: click.Context, fmt: str, directory: str, name: str | None,
               force: bool, as_json: bool) -> None:
    """Turn an upstream project's export (FORMAT: e.g. chinese-clip) into an installed model."""
    from huisou.core.errors import HuisouError

    manager = _manager(ctx)
    formats = manager.import_formats()
    if fmt not in formats:
        raise HuisouError(f"unknown import format {fmt!r} (known: {', '.join(formats) or 'none'})")
    target = manager.import_model(fmt, directory, name=name, force=force)
    _done({"name": target.name, "path": str(target), "format": fmt}, as_json,
          f"{target.name}: imported from {directory} into {target}")


@models.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Name to register (default: the directory's name).")
@click.option("--link", is_flag=True, help="Symlink instead of copying.")
@click.option("--force", is_flag=True, help="Replace an installed model of that name.")
@click.option("--json", "as_json", is_flag=True, help="Print the installed model as JSON.")
@click.pass_context
def install(ctx: click.Context, directory: str, name: str | None, link: bool,
            force: bool, as_json: bool) -> None:
    """Validate a model directory and register it under NAME (copied into the models dir)."""
    manager = _manager(ctx)
    target = manager.install(directory, name=name, link=link, force=force)
    info = manager.info(target.name)
    checked = ["fp32", "int8"] if info is not None and info.int8 else ["fp32"]  # what loaded
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    _done({"name": target.name, "path": str(target), "link": link, "checked": checked,
           "size_bytes": size}, as_json,
          f"{target.name}: installed in {target}" + (" (symlink)" if link else ""))


@models.command()
@click.argument("name")
@click.option("--weight-type", type=click.Choice(["auto", "quint8", "qint8"]), default="auto",
              show_default=True,
              help="Int8 weights; auto = qint8 on VNNI x86/ARM64, quint8 elsewhere (accuracy).")
@click.option("--per-channel", is_flag=True, help="Per-channel weight scales.")
@click.option("--reduce-range", is_flag=True, help="7-bit weights (for CPUs without VNNI).")
@click.option("--json", "as_json", is_flag=True, help="Print the measurement as JSON.")
@click.pass_context
def quantize(ctx: click.Context, name: str, weight_type: str = "auto", per_channel: bool = False,
             reduce_range: bool = False, as_json: bool = False) -> None:
    """Write int8 weights beside the fp32 ones and measure them against fp32."""
    record = _manager(ctx).quantize(name, weight_type=weight_type, per_channel=per_channel,
                                    reduce_range=reduce_range)
    if as_json:
        from huisou.cli.common import print_json

        print_json(record)
        return
    for tower, check in record.get("checks", {}).items():
        sizes = record["sizes"][tower]
        click.echo(f"{tower}: {sizes['fp32_bytes'] / 1e6:.1f} MB -> "
                   f"{sizes['int8_bytes'] / 1e6:.1f} MB, cosine vs fp32 min "
                   f"{check['min_cosine']:.4f} mean {check['mean_cosine']:.4f}")
    verdict = ("int8 is used by default (precision auto); libraries indexed at fp32 need "
               "`huisou index` (or search with --precision fp32)") if record.get("recommended") else (
        "int8 below the accuracy threshold: precision auto keeps fp32 (force with --precision int8)")
    click.echo(f"{name}: {verdict}")


@models.command()
@click.argument("name")
@click.option("--int8-only", is_flag=True, help="Remove only the int8 files.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (needed without a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@click.pass_context
def remove(ctx: click.Context, name: str, int8_only: bool, yes: bool, as_json: bool) -> None:
    """Delete an installed model (or only its int8 files) from the models directory."""
    from huisou.core.errors import HuisouError

    manager = _manager(ctx)
    info = manager.info(name)
    if not int8_only and not yes and info is not None and info.installed:
        if not sys.stdin.isatty():
            raise click.UsageError(f"not deleting {info.path} without a terminal to confirm: "
                                   "pass --yes")
        if not click.confirm(f"delete {info.path}?", default=False):
            raise HuisouError(f"{name}: not removed (answered no)")
    manager.remove(name, int8_only=int8_only)
    what = "int8" if int8_only else "model"
    _done({"name": name, "removed": what, "path": str(manager.models_dir / name)}, as_json,
          f"{name}: {'int8 files removed' if int8_only else 'removed'}")


def _done(data: dict[str, Any], as_json: bool, text: str) -> None:
    """The result of a command that changed something: JSON for scripts, else one line."""
    if as_json:
        from huisou.cli.common import print_json

        print_json(data)
    else:
        click.echo(text)
