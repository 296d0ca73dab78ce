"""``huisou plugin new``: the generated packages install, pass their contract tests, and show up.

One venv for the four kinds: it sees the running environment's packages (huisou, pytest, numpy,
Pillow) through a ``.pth`` file, so nothing is downloaded, and the generated packages are
installed into it with ``pip install --no-deps --no-build-isolation``, found through their
entry points, never imported from the generation folder.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner
from huisou.cli.main import cli
from huisou.cli.plugin_cmd import generate, names_for, render

KINDS = ("source", "backend", "store", "extractor")


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=240,
                            env=env)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def make_venv(path: Path) -> Path:
    """A venv that sees this interpreter's site-packages (works when this is a venv too)."""
    run([sys.executable, "-m", "venv", "--without-pip", str(path)], cwd=path.parent)
    python = path / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  cwd=path.parent).stdout.strip()
    parents = [p for p in [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
               if os.path.isdir(p)]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in dict.fromkeys(parents))
    Path(purelib, "_huisou_parent_env.pth").write_text(lines)
    return python


def test_names_are_derived_from_the_distribution_name():
    values = names_for("huisou-immich-albums", "source")
    assert (values["dist"], values["module"], values["id"], values["class"]) == (
        "huisou-immich-albums", "huisou_immich_albums", "immich-albums", "ImmichAlbumsSource")
    assert names_for("qdrant", "store")["class"] == "QdrantStore"
    values = names_for("huisou-xmp-label", "extractor")
    assert (values["class"], values["id"], values["field"]) == (
        "XmpLabelExtractor", "xmp-label", "xmp_label_comment")
    assert names_for("huisou-3d", "extractor")["field"] == "x_3d_comment"


def test_bad_name_and_existing_folder_are_clear_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["plugin", "new", "bad name!", "--kind", "source",
                                 "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "use letters, digits" in result.output
    (tmp_path / "huisou-x" / "keep.txt").parent.mkdir()
    (tmp_path / "huisou-x" / "keep.txt").write_text("mine")
    result = runner.invoke(cli, ["plugin", "new", "huisou-x", "--kind", "store",
                                 "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert (tmp_path / "huisou-x" / "keep.txt").read_text() == "mine"
    (tmp_path / "huisou-y").write_text("a file, not a folder")
    result = runner.invoke(cli, ["plugin", "new", "huisou-y", "--kind", "store",
                                 "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "already exists" in result.output, result.output
    assert (tmp_path / "huisou-y").read_text() == "a file, not a folder"
    result = runner.invoke(cli, ["plugin", "new", "huisou-z", "--kind", "store",
                                 "--dir", str(tmp_path / "huisou-y" / "under-a-file")])
    assert result.exit_code == 1 and "cannot write" in result.output, result.output


def test_unknown_template_marker_raises():
    with pytest.raises(KeyError):
        render("{{nope}}", {})


def test_cli_writes_the_package(tmp_path):
    result = CliRunner().invoke(cli, ["plugin", "new", "huisou-demo", "--kind", "backend",
                                      "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "huisou-demo"
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points.huisou]\ndemo = "huisou_demo"' in pyproject
    assert "class DemoBackend(EmbeddingBackend)" in (root / "huisou_demo" / "__init__.py").read_text()
    assert "EmbeddingBackendContract" in (root / "tests" / "test_huisou_demo.py").read_text()
    assert "{{" not in "".join(p.read_text() for p in root.rglob("*") if p.is_file())


def _can_build_wheels_offline() -> bool:
    """``--no-build-isolation`` builds with this environment's setuptools: it needs >= 70.1
    (bdist_wheel built in) or the ``wheel`` package."""
    from importlib import metadata
    from importlib.util import find_spec

    version = tuple(int(p) for p in metadata.version("setuptools").split(".")[:2])
    return version >= (70, 1) or find_spec("wheel") is not None


@pytest.mark.slow
def test_generated_packages_install_pass_their_tests_and_are_listed(tmp_path):
    assert _can_build_wheels_offline(), (
        "this environment cannot build wheels without downloading: run examples/install.sh "
        "(it installs setuptools>=70.1), as scripts/test.sh does"
    )
    parent = tmp_path / "plugins"
    parent.mkdir()
    packages = [generate(f"huisou-tmpl-{kind}", kind, parent) for kind in KINDS]
    python = make_venv(tmp_path / "venv")
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", *map(str, packages)], cwd=tmp_path)
    # -P: the package folders are not on sys.path; the installed copies are what gets tested
    result = run([str(python), "-P", "-m", "pytest", *(str(p / "tests") for p in packages),
                  "-q", "-rA", "-p", "no:cacheprovider"], cwd=tmp_path)
    for kind in KINDS:
        passed = [line for line in result.stdout.splitlines()
                  if line.startswith("PASSED") and f"test_huisou_tmpl_{kind}.py::" in line]
        assert len(passed) >= 10, f"{kind}: too few tests passed:\n{result.stdout}"
    assert " failed" not in result.stdout and " error" not in result.stdout, result.stdout
    env = {**os.environ, "HUISOU_HOME": str(tmp_path / "home")}
    env.pop("HUISOU_LOAD_PLUGINS", None)
    listing = json.loads(run([str(python), "-m", "huisou", "plugins", "--json"], cwd=tmp_path,
                             env=env).stdout)
    by_name = {row["name"]: row for row in listing}
    expected_hooks = {"source": ["register_media_sources"],
                      "backend": ["register_embedding_backends"],
                      "store": ["register_vector_stores"],
                      "extractor": ["register_fields", "register_metadata_extractors"]}
    for kind in KINDS:
        row = by_name[f"tmpl-{kind}"]
        assert row["version"] == "0.1.0" and sorted(row["hooks"]) == expected_hooks[kind], row
        assert row["errors"] == [], row
