"""The ``folder`` source: what the walk yields, what it leaves out and why, and that it never opens."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from huisou.core.errors import HuisouError, MediaError
from huisou.plugins.media_sources.folder import FolderSource
from huisou.testing import MediaSourceContract
from huisou.testing.contract_source import record_opens


class TestFolderContract(MediaSourceContract):
    @pytest.fixture
    def source(self, photo_folder):
        return FolderSource(str(photo_folder.root))


def touch(path: Path, data: bytes = b"\xff\xd8\xff\xe0 not really a jpeg") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "photos"
    wanted = [
        "a.jpg",
        "no_extension",
        "misnamed.png",
        "2024/trip/b.JPG",
        "2024/trip/c.heic",
        "Thumbs.db.jpg",  # only the exact name is a default exclude
    ]
    unwanted = [
        ".hidden.jpg",
        ".cache/d.jpg",
        ".git/objects/e.jpg",
        "node_modules/pkg/f.png",
        "@eaDir/a.jpg/SYNOPHOTO_THUMB_XL.jpg",
        ".thumbnails/g.jpg",
        "System Volume Information/h.jpg",
        "$RECYCLE.BIN/i.jpg",
        ".Trash-1000/files/j.jpg",
        "._a.jpg",
        "2024/._b.JPG",
        "Thumbs.db",
        "2024/clip.mp4",
        "2024/notes.txt",
        "drafts/k.tmp",
        "scratch.jpg.tmp",
    ]
    for rel in wanted + unwanted:
        touch(root / rel)
    return root, sorted(str(root / rel) for rel in wanted)


def paths(source: FolderSource) -> list[str]:
    return sorted(item.path for item in source.scan(threading.Event()))


def test_walk_yields_exactly_the_candidates(tree):
    root, wanted = tree
    source = FolderSource(str(root))
    assert paths(source) == wanted
    assert all(os.path.isabs(p) for p in wanted)
    assert source.warnings == []


def test_include_hidden_walks_dot_folders_but_keeps_default_excludes(tree):
    root, wanted = tree
    got = paths(FolderSource(str(root), include_hidden=True))
    assert str(root / ".hidden.jpg") in got and str(root / ".cache" / "d.jpg") in got
    for rel in (".git/objects/e.jpg", ".thumbnails/g.jpg", "._a.jpg", ".Trash-1000/files/j.jpg"):
        assert str(root / rel) not in got


def test_user_exclude_globs_match_relative_paths_and_names(tree):
    root, _ = tree
    source = FolderSource(str(root), exclude=["2024/trip/*", "misnamed.*", "no_ext*"])
    assert paths(source) == sorted([str(root / "a.jpg"), str(root / "Thumbs.db.jpg")])
    by_dir = FolderSource(str(root), exclude=["trip"])
    assert str(root / "2024/trip/b.JPG") not in paths(by_dir)


@pytest.mark.parametrize(
    ("rel", "options", "rule"),
    [
        (".cache/d.jpg", {}, "hidden folder .cache"),
        (".hidden.jpg", {}, "hidden file .hidden.jpg"),
        ("node_modules/pkg/f.png", {}, "default exclude node_modules"),
        (".git/objects/e.jpg", {}, "default exclude .git"),
        ("@eaDir/a.jpg/SYNOPHOTO_THUMB_XL.jpg", {}, "default exclude @eaDir"),
        ("$RECYCLE.BIN/i.jpg", {}, "default exclude $RECYCLE.BIN"),
        (".Trash-1000/files/j.jpg", {}, "default exclude .Trash-1000"),
        ("._a.jpg", {}, "default exclude ._* (macOS AppleDouble file)"),
        ("2024/clip.mp4", {}, "non-photo extension .mp4"),
        ("scratch.jpg.tmp", {}, "non-photo extension .tmp"),
        ("drafts/k.tmp", {"exclude": ["drafts"], "all_files": True}, "exclude glob 'drafts'"),
        ("drafts/k.tmp", {"exclude": ["*.tmp"]}, "exclude glob '*.tmp'"),
        ("2024/clip.mp4", {"exclude": ["2024/*.mp4"]}, "exclude glob '2024/*.mp4'"),
        ("a.jpg", {"exclude": ["*.jpg"]}, "exclude glob '*.jpg'"),
        ("a.jpg", {}, None),
        ("2024/trip/c.heic", {}, None),
        ("2024/clip.mp4", {"all_files": True}, None),
    ],
)
def test_explain_exclusion_names_the_rule(tree, rel, options, rule):
    root, _ = tree
    assert FolderSource(str(root), **options).explain_exclusion(str(root / rel)) == rule


def test_explanations_agree_with_the_walk(tree):
    root, _ = tree
    source = FolderSource(str(root))
    scanned = set(paths(source))
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            assert (source.explain_exclusion(path) is None) == (path in scanned), path


def test_symlink_loops_and_links_back_into_the_tree(tmp_path):
    root = tmp_path / "photos"
    touch(root / "a" / "one.jpg")
    touch(root / "b" / "two.jpg")
    outside = tmp_path / "elsewhere"
    touch(outside / "three.jpg")
    os.symlink(root, root / "a" / "loop")  # to the root itself
    os.symlink(root / "b", root / "a" / "b-again")  # a second way into b
    os.symlink(tmp_path, root / "b" / "up")  # to an ancestor of the root
    os.symlink(outside, root / "linked")  # a folder outside the root: not followed...
    source = FolderSource(str(root))
    assert paths(source) == [str(root / "a/one.jpg"), str(root / "b/two.jpg")]
    assert any("linked leads outside the source root" in w for w in source.warnings)
    assert "leads outside the source root" in source.explain_exclusion(
        str(root / "linked/three.jpg")
    )
    source = FolderSource(str(root), follow_outside_links=True)  # ...unless asked to
    got = paths(source)
    assert got == sorted(
        [str(root / "a/one.jpg"), str(root / "b/two.jpg"), str(root / "linked/three.jpg")]
    )
    assert source.explain_exclusion(str(root / "a/b-again/two.jpg")) == (
        f"linked folder a/b-again: its photos are indexed at {(root / 'b').resolve()}"
    )
    assert source.explain_exclusion(str(root / "a/loop/a/one.jpg")) == (
        f"symlink loop: a/loop links back to {root.resolve()}"
    )
    assert source.explain_exclusion(str(root / "linked/three.jpg")) is None


def test_unreadable_folder_is_reported_and_skipped(tree, monkeypatch):
    root, wanted = tree
    locked = str(root / "2024" / "trip")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    source = FolderSource(str(root))
    got = paths(source)
    assert got == [p for p in wanted if not p.startswith(locked + "/")]
    assert len(source.warnings) == 1
    assert locked in source.warnings[0] and "permission denied" in source.warnings[0]
    assert source.unreadable == [locked]


def test_missing_or_unreadable_root_raises_so_nothing_is_deleted(tmp_path, monkeypatch):
    with pytest.raises(MediaError, match="folder not found"):
        list(FolderSource(str(tmp_path / "unmounted")).scan())
    monkeypatch.setattr(os, "access", lambda *_a, **_k: False)
    with pytest.raises(MediaError, match="permission denied"):
        list(FolderSource(str(tmp_path)).scan())


def test_scan_opens_nothing(tree):
    root, wanted = tree
    with record_opens() as opened:
        got = paths(FolderSource(str(root)))
    assert got == wanted
    assert not [p for p in opened if p.startswith(str(root))]


def test_resolve_root(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    assert FolderSource.resolve_root(str(tmp_path / "link")) == str(real.resolve())
    with pytest.raises(HuisouError, match="not a folder"):
        FolderSource.resolve_root(str(tmp_path / "nope"))


def test_registered_with_the_host():
    from huisou.core.plugins import PluginHost

    host = PluginHost(load_entry_points=False)
    assert host.get_source_class("folder") is FolderSource
    assert {o.name for o in FolderSource.options} >= {"include_hidden", "exclude"}
