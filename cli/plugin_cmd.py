"""``huisou plugin new``: start a plugin package from a template that already works.

The generated package has the ``[project.entry-points.huisou]`` entry point, a module whose
``@hookimpl`` registers a working class skeleton, and a test module that subclasses the matching
contract suite of ``huisou.testing``, so ``pip install -e . && pytest`` passes before the author
changes a line (the harlequin adapter template and the datasette/llm cookiecutters, as a
command so no extra tool is needed).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import click

KINDS: dict[str, tuple[str, str, str]] = {
    # kind -> (class suffix, contract suite, what the skeleton does)
    "source": ("Source", "MediaSourceContract", "lists the photos of a folder tree"),
    "backend": ("Backend", "EmbeddingBackendContract",
                "embeds images by colour layout and texts by hashed words"),
    "store": ("Store", "VectorStoreContract",
              "keeps vectors in a SQLite table and searches them exactly with NumPy"),
    "extractor": ("Extractor", "MetadataExtractorContract",
                  "reads a JPEG's comment into a full-text field it declares"),
}

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*$")


def names_for(name: str, kind: str) -> dict[str, str]:
    """Distribution, module, plugin id and class names derived from ``NAME``.

    ``huisou-immich`` → module ``huisou_immich``, id ``immich``, class ``ImmichSource``; an
    extractor's field is ``immich_comment`` (field names take ``_``, not ``-``).
    """
    if not _NAME.match(name):
        raise click.BadParameter(
            f"{name!r}: use letters, digits and single '-' or '_' (e.g. huisou-immich)",
            param_hint="NAME",
        )
    dist = name.lower()
    short = re.sub(r"^huisou[-_]", "", dist) or dist
    words = re.split(r"[-_]", short)
    suffix, contract, works = KINDS[kind]
    return {
        "dist": dist,
        "module": dist.replace("-", "_"),
        "id": "-".join(words),
        "class": "".join(w.capitalize() for w in words) + suffix,
        "contract": contract,
        "field": re.sub(r"^(?![a-z])", "x_", "_".join(words))[:40] + "_comment",
        "works": works,
        "kind": kind,
        "description": f"huisou {kind} plugin {'-'.join(words)!r}",
    }


def render(template: str, values: dict[str, str]) -> str:
    """Replace ``{{key}}`` markers; an unknown marker is a template bug, so it raises."""

    def replace(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\{\{(\w+)\}\}", replace, template)


def _template(name: str) -> str:
    return (resources.files("huisou.cli") / "templates" / "plugin" / name).read_text(
        encoding="utf-8"
    )


def generate(name: str, kind: str, parent: Path) -> Path:
    """Write the package ``parent/NAME`` and return its path."""
    values = names_for(name, kind)
    target = parent / values["dist"]
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "is not empty" if target.is_dir() else "is not a folder"
        raise click.ClickException(f"{target} already exists and {what}")
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{values['module']}/__init__.py": f"{kind}.py.tmpl",
        f"tests/test_{values['module']}.py": f"test_{kind}.py.tmpl",
    }
    for rel, template in files.items():
        path = target / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(_template(template), values), encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    return target


@click.group()
def plugin() -> None:
    """Create plugin packages."""


@plugin.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(sorted(KINDS)), required=True,
              help="What the plugin provides.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Where to create the package folder.")
@click.option("--json", "as_json", is_flag=True, help="Print what was created as JSON.")
def new(name: str, kind: str, directory: Path, as_json: bool) -> None:
    """Create a plugin package NAME (e.g. huisou-immich) with a passing contract test."""
    target = generate(name, kind, directory)
    values = names_for(name, kind)
    if as_json:
        from huisou.cli.common import print_json

        files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        print_json({"path": str(target.resolve()), "kind": kind, "module": values["module"],
                    "class": values["class"], "id": values["id"], "files": files})
        return
    click.echo(f"created {target}")
    click.echo(f"  {values['module']}/__init__.py   {values['class']} (id {values['id']!r})")
    click.echo(f"  tests/test_{values['module']}.py   subclasses huisou.testing.{values['contract']}")
    click.echo(f"next: cd {target} && pip install -e '.[test]' && pytest")
