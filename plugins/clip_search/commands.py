"""``huisou models export``: the CLIP plugin's one model command the host cannot offer.

Listing, downloading, importing, installing, quantizing and removing are host commands
(``huisou.cli.models_cmd`` over :class:`~.manager.ClipModelManager`); exporting an open_clip
checkpoint needs torch, so it stays here and is added to the host's ``models`` group.
Only click is imported at module level.
"""

from __future__ import annotations

from pathlib import Path

import click
from huisou import hookimpl


@click.command()
@click.option("--arch", required=True, help="open_clip architecture, e.g. ViT-B-32.")
@click.option("--pretrained", default=None, help="Checkpoint file or open_clip pretrained tag.")
@click.option("--name", default=None, help="Install under this name (default: ARCH__PRETRAINED).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output directory (default: the models directory / NAME).")
@click.option("--precision", type=click.Choice(["fp32", "int8"]), default="fp32", show_default=True)
def export(arch: str, pretrained: str | None, name: str | None, out_dir: str | None,
           precision: str) -> None:
    """Export an open_clip checkpoint to a model directory (needs huisou[export])."""
    from huisou.core.config import load_config
    from huisou.core.errors import HuisouError

    hint = "export needs torch and open_clip: pip install 'huisou[export]'"
    try:
        from huisou.plugins.clip_search.export import run_export
    except ImportError as exc:
        raise HuisouError(f"{hint} ({exc})") from None
    if out_dir is None:
        label = Path(pretrained).stem if pretrained and ("/" in pretrained) else pretrained
        out_dir = str(load_config().models_path / (name or f"{arch}__{label or 'random'}"))
    try:
        out = run_export(arch, pretrained, out_dir, precision)
    except ImportError as exc:
        raise HuisouError(f"{exc}" if "huisou[export]" in str(exc) else f"{hint} ({exc})"
                          ) from None
    click.echo(f"exported {arch} to {out}")


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``export`` to the host's ``models`` group (the group is looked up, not imported)."""
    group = cli.get_command(click.Context(cli), "models")
    if isinstance(group, click.Group):
        group.add_command(export)
