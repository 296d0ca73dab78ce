"""``huisou info PATH [--json]``: "why is this photo not found?" answered from the catalog."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from huisou.core.indexer import Indexer
from huisou.plugins.media_sources.android import AndroidSource
from huisou.plugins.media_sources.folder import FolderSource

DATA = Path(__file__).parent / "data"


@pytest.fixture
def indexed(huisou_home, tmp_path, fake_host):
    """A library (in HUISOU_HOME) over a folder of real test photos, indexed with fakes."""
    from huisou.core.config import Config
    from huisou.core.library import Library

    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    (root / ".cache").mkdir()
    for name in ("Kodak_CX7530.jpg", "canon_hdr_NO.jpg", "Canon_40D.jpg", "Portrait_0.jpg"):
        shutil.copy(DATA / "exif_camera" / name, root / name)
    shutil.copy(DATA / "odd_broken" / "truncated_jpeg.jpg", root / "sub" / "truncated.jpg")
    shutil.copy(DATA / "odd_broken" / "hopper.heif", root / "sub" / "hopper.heif")
    shutil.copy(DATA / "natural" / "rocket.jpg", root / ".cache" / "rocket.jpg")
    (root / "notes.txt").write_text("not a photo")
    db = huisou_home / "library.db"
    config = Config(db=str(db), backend="fake", store="memory")
    library = Library(config, fake_host)
    root_key = FolderSource.resolve_root(str(root))
    library.catalog.add_source("folder", root_key, {"exclude": ["*.tmp"]})
    list(Indexer(library).run())
    library.close()
    return Path(root_key), db


def info(db: Path, path: Path | str, *args: str):
    from click.testing import CliRunner
    from huisou.cli.main import cli

    result = CliRunner().invoke(cli, ["info", str(path), "--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def test_indexed_photo_with_gps_and_camera(indexed):
    root, db = indexed
    data = info(db, root / "Kodak_CX7530.jpg", "--json")
    assert data["status"] == "indexed" and data["state"] == "unchanged"
    assert data["source"]["type"] == "folder" and data["source"]["root"] == str(root)
    assert data["gps"]["lat"] == pytest.approx(-0.3713, abs=1e-4)
    assert data["gps"]["lon"] == pytest.approx(36.0564, abs=1e-4)
    meta = data["metadata"]
    assert (meta["camera_make"], meta["camera_model"]) == (
        "EASTMAN KODAK COMPANY", "KODAK CX7530 ZOOM DIGITAL CAMERA"
    )
    assert (meta["taken_at"], meta["taken_at_source"]) == ("2005-08-13T09:47:23", "DateTimeOriginal")
    assert data["models"] == ["fake-colours-v1"]
    text = info(db, root / "Kodak_CX7530.jpg")
    assert "status:" in text and "indexed (unchanged)" in text
    assert "2005-08-13T09:47:23 (from DateTimeOriginal)" in text
    assert "GPS:" in text and "-0.37130, 36.05642" in text


def test_dimensions_after_orientation_and_missing_gps(indexed):
    root, db = indexed
    data = info(db, root / "canon_hdr_NO.jpg", "--json")
    meta = data["metadata"]
    assert (meta["width"], meta["height"], meta["orientation"]) == (1536, 2048, 6)
    assert data["gps"] is None
    assert "1536x2048 (as shown, after orientation)" in info(db, root / "canon_hdr_NO.jpg")
    zero = info(db, root / "Portrait_0.jpg", "--json")["metadata"]
    assert zero["orientation"] == 1 and zero["taken_at_source"] == "file mtime"


def test_unreadable_and_unsupported_give_the_reason(indexed, monkeypatch):
    root, db = indexed
    data = info(db, root / "sub" / "truncated.jpg", "--json")
    assert data["status"] == "unreadable" and "truncated" in data["reason"]
    assert "reason:" in info(db, root / "sub" / "truncated.jpg")
    heif = info(db, root / "sub" / "hopper.heif", "--json")
    from huisou.plugins.media_sources.decode import heif_available

    if heif_available():
        assert heif["status"] == "indexed"
    else:
        assert heif["status"] == "unsupported" and "huisou[heic]" in heif["reason"]


def test_excluded_paths_name_their_rule(indexed):
    root, db = indexed
    data = info(db, root / ".cache" / "rocket.jpg", "--json")
    assert (data["status"], data["reason"]) == ("excluded", "hidden folder .cache")
    assert data["content"] == "JPEG"
    assert info(db, root / "notes.txt", "--json")["reason"] == "non-photo extension .txt"
    (root / "draft.tmp").write_bytes(b"x")
    assert info(db, root / "draft.tmp", "--json")["reason"] == "exclude glob '*.tmp'"
    text = info(db, root / ".cache" / "rocket.jpg")
    assert "excluded" in text and "rule:" in text and "hidden folder .cache" in text


def test_changed_new_missing_and_outside(indexed, tmp_path):
    root, db = indexed
    photo = root / "Canon_40D.jpg"
    os.utime(photo, ns=(1, 1))
    assert info(db, photo, "--json")["state"].startswith("changed since it was indexed")
    shutil.copy(DATA / "natural" / "china.jpg", root / "new.jpg")
    new = info(db, root / "new.jpg", "--json")
    assert new["status"] == "not indexed yet" and new["content"] == "JPEG"
    os.remove(root / "Portrait_0.jpg")
    assert info(db, root / "Portrait_0.jpg", "--json")["state"].startswith("missing on disk")
    outside = info(db, tmp_path / "elsewhere.jpg", "--json")
    assert outside["status"] == "outside sources" and outside["source"] is None
    folder = info(db, root / "sub", "--json")
    assert folder["status"] == "folder" and folder["counts"] == {
        "unreadable": 1, **({"indexed": 1} if "indexed" in folder["counts"] else {"unsupported": 1})
    }


def test_path_through_a_symlink_and_relative_path(indexed, tmp_path, monkeypatch):
    root, db = indexed
    link = tmp_path / "link-to-photos"
    os.symlink(root, link)
    assert info(db, link / "Kodak_CX7530.jpg", "--json")["status"] == "indexed"
    monkeypatch.chdir(root)
    assert info(db, "Kodak_CX7530.jpg", "--json")["path"] == str(root / "Kodak_CX7530.jpg")


def test_android_rules_are_explained(huisou_home, tmp_path, fake_host):
    from huisou.core.config import Config
    from huisou.core.library import Library

    phone = tmp_path / "phone"
    (phone / "DCIM" / "Camera").mkdir(parents=True)
    (phone / "Pictures" / "App").mkdir(parents=True)
    shutil.copy(DATA / "natural" / "china.jpg", phone / "DCIM" / "Camera" / "IMG_1.jpg")
    shutil.copy(DATA / "natural" / "rocket.jpg", phone / "Pictures" / "App" / "x.jpg")
    (phone / "Pictures" / "App" / ".nomedia").write_bytes(b"")
    shutil.copy(DATA / "natural" / "rocket.jpg", phone / "DCIM" / "Camera" / ".trashed-1767225600-old.jpg")
    db = huisou_home / "library.db"
    library = Library(Config(db=str(db), backend="fake", store="memory"), fake_host)
    library.catalog.add_source("android", AndroidSource.resolve_root(str(phone)))
    list(Indexer(library).run())
    library.close()
    assert info(db, phone / "DCIM" / "Camera" / "IMG_1.jpg", "--json")["status"] == "indexed"
    hidden = info(db, phone / "Pictures" / "App" / "x.jpg", "--json")
    assert (hidden["status"], hidden["reason"]) == ("excluded", ".nomedia in Pictures/App")
    trashed = info(db, phone / "DCIM" / "Camera" / ".trashed-1767225600-old.jpg", "--json")
    assert trashed["reason"] == "in the phone's trash (.trashed-*-old.jpg)"
