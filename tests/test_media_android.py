"""The ``android`` source over a generated phone tree: MediaProvider's rules, bursts, trash."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
from huisou.core.errors import HuisouError, MediaError
from huisou.core.events import Finished, SourceWarning
from huisou.core.indexer import Indexer
from huisou.plugins.media_sources import android as android_mod
from huisou.plugins.media_sources.android import AndroidSource, burst_key
from huisou.testing import MediaSourceContract

EXPIRY = "1767225600"


def jpeg(colour=(200, 30, 30), size=(24, 16)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def motion_photo() -> bytes:
    """A Samsung-style motion photo: a complete JPEG, the marker, then an MP4."""
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08mdat" * 50
    return jpeg((30, 30, 200), (32, 24)) + b"MotionPhoto_Data" + mp4


def put(root: Path, rel: str, data: bytes | None = None) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg() if data is None else data)
    return str(path)


#: (relative path, indexed?) for every file of the phone tree. Folders with .nomedia are
#: marked by a ".nomedia" entry; the symlink loop and the locked folder are added separately.
PHONE_TREE: list[tuple[str, bool]] = [
    ("DCIM/.nomedia", False),  # top-level standard folder: MediaProvider ignores it
    ("DCIM/Camera/.nomedia", False),  # DCIM/Camera: ignored too
    ("DCIM/Camera/IMG_20240101_120000.jpg", True),
    ("DCIM/Camera/PXL_20240102_101010123.MP.jpg", True),  # motion photo (JPEG + MP4)
    ("DCIM/Camera/IMG_20240103_080000.jpg", True),
    ("DCIM/Camera/IMG_20240103_080000.mp4", False),  # its side video
    (f"DCIM/Camera/.trashed-{EXPIRY}-IMG_20231231_235959.jpg", False),
    ("DCIM/Camera/IMG_20231231_235959.jpg", False),  # trashed twin exists
    (f"DCIM/Camera/.pending-{EXPIRY}-IMG_20240105_000000.jpg", False),
    (f"DCIM/Camera/.TRASHED-{EXPIRY}-old.jpg", False),  # pattern is case-insensitive
    ("DCIM/Camera/IMG_20240106_100000123_BURST000_COVER.jpg", True),
    ("DCIM/Camera/IMG_20240106_100000123_BURST001.jpg", True),
    ("DCIM/Camera/IMG_20240106_100000123_BURST002.jpg", True),
    ("DCIM/Camera/20240107_101605_001.jpg", True),  # Samsung series of two
    ("DCIM/Camera/20240107_101605_002.jpg", True),
    ("DCIM/Camera/20240108_111111_001.jpg", True),  # lone: not a series
    ("DCIM/Camera/VID_20240109_090000.mp4", False),
    ("DCIM/Camera/notes.txt", False),
    ("DCIM/Camera/.hidden.jpg", False),
    ("DCIM/.thumbnails/1234.jpg", False),
    ("DCIM/Screenshots/Screenshot_20240110.png", True),
    ("DCIM/Hidden/.nomedia", False),
    ("DCIM/Hidden/a.jpg", False),
    ("DCIM/Hidden/sub/b.jpg", False),  # ancestor .nomedia
    ("Pictures/.nomedia", False),  # standard top-level: ignored
    ("Pictures/Telegram/t.jpg", True),
    ("Pictures/App/.nomedia", False),
    ("Pictures/App/x.jpg", False),
    ("Pictures/.cache/y.jpg", False),
    ("Pictures/Album/a.jpg", True),
    ("Pictures/Album/Sub/.nomedia", False),
    ("Pictures/Album/Sub/s.jpg", False),
    ("Pictures/Album/Sub/Deeper/d.jpg", False),
    ("WhatsApp/Media/WhatsApp Images/IMG-20200101-WA0001.jpg", True),
    ("WhatsApp/Media/WhatsApp Images/Sent/.nomedia", False),
    ("WhatsApp/Media/WhatsApp Images/Sent/IMG-20200101-WA0002.jpg", False),
    ("Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/IMG-20240101-WA0003.jpg", True),
    ("Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/Private/.nomedia", False),
    ("Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/Private/p.jpg", False),
    ("Android/media/com.whatsapp/WhatsApp/Media/.Statuses/s.jpg", False),
    ("Android/data/com.example/files/p.jpg", False),
    ("Android/obb/com.example/o.jpg", False),
    ("Download/dl.jpg", False),  # outside the scanned folders
    ("Telegram/Telegram Images/.nomedia", False),
    ("Telegram/Telegram Images/tg.jpg", False),
    ("Music/.nomedia", False),
]


@pytest.fixture
def phone(tmp_path):
    root = tmp_path / "phone"
    for rel, _indexed in PHONE_TREE:
        if rel.endswith(".nomedia"):
            put(root, rel, b"")
        elif rel.endswith(".MP.jpg"):
            put(root, rel, motion_photo())
        elif rel.endswith((".mp4", ".txt")):
            put(root, rel, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40)
        else:
            put(root, rel)
    os.symlink(root / "DCIM", root / "DCIM" / "Camera" / "loop")  # a symlink loop
    locked = root / "DCIM" / "Locked"
    put(root, "DCIM/Locked/c.jpg")
    expected = sorted(str(root / rel) for rel, indexed in PHONE_TREE if indexed)
    return root, expected, str(locked)


@pytest.fixture
def locked_scandir(monkeypatch):
    """Make some folders unreadable (tests run as root, so chmod would not do it)."""
    locked: set[str] = set()
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) in locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return locked


def test_phone_tree_yields_exactly_the_gallery_photos(phone, locked_scandir):
    root, expected, locked = phone
    locked_scandir.add(locked)
    source = AndroidSource(str(root))
    items = list(source.scan(threading.Event()))
    assert sorted(i.path for i in items) == expected
    assert len(items) == len(expected)  # each once, despite the loop
    assert any(locked in w and "permission denied" in w for w in source.warnings)


def test_burst_groups(phone):
    root, _expected, _locked = phone
    groups = {os.path.basename(i.path): i.group for i in AndroidSource(str(root)).scan()}
    burst = "burst:DCIM/Camera/IMG_20240106_100000123"
    assert groups["IMG_20240106_100000123_BURST000_COVER.jpg"] == burst
    assert groups["IMG_20240106_100000123_BURST001.jpg"] == burst
    assert groups["IMG_20240106_100000123_BURST002.jpg"] == burst
    assert groups["20240107_101605_001.jpg"] == groups["20240107_101605_002.jpg"] == (
        "burst:DCIM/Camera/20240107_101605"
    )
    assert groups["20240108_111111_001.jpg"] is None
    assert groups["IMG_20240101_120000.jpg"] is None


def test_burst_name_patterns():
    assert burst_key("00000IMG_00000_BURST20171111030039_COVER.jpg") == ("20171111030039", False)
    assert burst_key("00001IMG_00001_BURST20171111030039.jpg") == ("20171111030039", False)
    assert burst_key("DSC_0003_BURST20171111030039.JPG") == ("20171111030039", False)
    assert burst_key("PXL_20231207_101605123.RAW-01.MP.COVER.jpg") == (
        "PXL_20231207_101605123", False
    )
    assert burst_key("PXL_20231207_101605123.RAW-02.ORIGINAL.dng") == (
        "PXL_20231207_101605123", False
    )
    assert burst_key("20231207_101605_039.jpg") == ("20231207_101605", True)
    assert burst_key("IMG_20231207_101605.jpg") is None


@pytest.mark.parametrize(
    ("rel", "rule"),
    [
        ("DCIM/Hidden/sub/b.jpg", ".nomedia in DCIM/Hidden"),
        ("Pictures/App/x.jpg", ".nomedia in Pictures/App"),
        ("Pictures/Album/Sub/Deeper/d.jpg", ".nomedia in Pictures/Album/Sub"),
        ("WhatsApp/Media/WhatsApp Images/Sent/IMG-20200101-WA0002.jpg",
         ".nomedia in WhatsApp/Media/WhatsApp Images/Sent"),
        (f"DCIM/Camera/.trashed-{EXPIRY}-IMG_20231231_235959.jpg",
         "in the phone's trash (.trashed-*-IMG_20231231_235959.jpg)"),
        ("DCIM/Camera/IMG_20231231_235959.jpg",
         "in the phone's trash (a .trashed-*-IMG_20231231_235959.jpg copy exists)"),
        (f"DCIM/Camera/.pending-{EXPIRY}-IMG_20240105_000000.jpg",
         "still being written on the phone (.pending-*-IMG_20240105_000000.jpg)"),
        ("DCIM/Camera/.hidden.jpg", "hidden file .hidden.jpg"),
        ("DCIM/.thumbnails/1234.jpg", "default exclude .thumbnails"),
        ("Pictures/.cache/y.jpg", "hidden folder .cache (Android hides dot-folders)"),
        ("Android/data/com.example/files/p.jpg", "Android/data is app-private storage (not scanned)"),
        ("Android/obb/com.example/o.jpg", "Android/obb is app-private storage (not scanned)"),
        ("DCIM/Camera/VID_20240109_090000.mp4", "non-photo extension .mp4"),
        ("DCIM/Camera/IMG_20240101_120000.jpg", None),
        ("DCIM/Camera/PXL_20240102_101010123.MP.jpg", None),
    ],
)
def test_explain_exclusion(phone, rel, rule):
    root, _expected, _locked = phone
    assert AndroidSource(str(root)).explain_exclusion(str(root / rel)) == rule


def test_explanations_agree_with_the_walk(phone):
    root, expected, _locked = phone
    source = AndroidSource(str(root))
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if "/DCIM/Locked/" in path:
                continue
            assert (source.explain_exclusion(path) is None) == (path in expected), path
    assert source.explain_exclusion(str(root / "Download/dl.jpg")).startswith(
        "outside the scanned folders"
    )


def test_side_video_is_dropped_even_with_all_files(phone):
    root, _expected, _locked = phone
    got = {i.path for i in AndroidSource(str(root), all_files=True).scan()}
    assert str(root / "DCIM/Camera/IMG_20240103_080000.mp4") not in got
    assert str(root / "DCIM/Camera/VID_20240109_090000.mp4") in got  # a real video: content decides
    assert AndroidSource(str(root), all_files=True).explain_exclusion(
        str(root / "DCIM/Camera/IMG_20240103_080000.mp4")
    ) == "side video of a photo (the photo is the item)"


def test_nomedia_in_the_storage_root_hides_everything(tmp_path):
    root = tmp_path / "phone"
    put(root, "DCIM/Camera/a.jpg")
    put(root, ".nomedia", b"")
    assert list(AndroidSource(str(root)).scan()) == []
    assert AndroidSource(str(root)).explain_exclusion(str(root / "DCIM/Camera/a.jpg")) == (
        ".nomedia in the storage root"
    )


def test_folders_option_and_case_insensitive_names(tmp_path):
    root = tmp_path / "phone"
    put(root, "dcim/camera/a.jpg")  # FAT/sdcardfs copies can come out lower-case
    put(root, "Download/b.jpg")
    assert [os.path.basename(i.path) for i in AndroidSource(str(root)).scan()] == ["a.jpg"]
    both = AndroidSource(str(root), folders=["DCIM", "Download"])
    assert sorted(os.path.basename(i.path) for i in both.scan()) == ["a.jpg", "b.jpg"]


def test_unreadable_root_raises_with_the_termux_hint(phone, locked_scandir):
    root, _expected, _locked = phone
    locked_scandir.add(str(root))
    with pytest.raises(MediaError, match="termux-setup-storage"):
        list(AndroidSource(str(root)).scan())


def test_every_scanned_folder_unreadable_raises(phone, locked_scandir):
    root, _expected, _locked = phone
    source = AndroidSource(str(root))
    tops = source._tops()
    assert len(tops) == 4  # DCIM, Pictures and both WhatsApp folders exist in the tree
    locked_scandir.update(tops[1:])
    assert {os.path.dirname(i.path) for i in source.scan()} >= {str(root / "DCIM/Camera")}
    locked_scandir.update(tops)
    with pytest.raises(MediaError, match="termux-setup-storage"):
        list(AndroidSource(str(root)).scan())


def test_root_without_phone_folders_raises(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaError, match="termux-setup-storage"):
        list(AndroidSource(str(tmp_path / "empty")).scan())
    put(tmp_path / "phone", "DCIM/Camera/a.jpg")
    with pytest.raises(MediaError, match="storage root that holds it"):
        list(AndroidSource(str(tmp_path / "phone" / "DCIM")).scan())


def test_unreadable_storage_leaves_the_catalog_untouched(phone, locked_scandir, fake_library):
    root, expected, locked = phone
    expected = [*expected, os.path.join(locked, "c.jpg")]  # readable in this test
    fake_library.catalog.add_source("android", AndroidSource.resolve_root(str(root)))
    first = list(Indexer(fake_library).run())[-1]
    assert isinstance(first, Finished) and first.indexed == len(expected)
    locked_scandir.add(str(root))
    events = list(Indexer(fake_library).run())
    warnings = [e for e in events if isinstance(e, SourceWarning)]
    assert warnings and "termux-setup-storage" in warnings[0].message
    assert events[-1].removed == 0
    assert fake_library.catalog.status_counts() == {"indexed": len(expected)}


def test_indexing_the_phone_tree(phone, fake_library, locked_scandir):
    root, expected, locked = phone
    locked_scandir.add(locked)
    catalog = fake_library.catalog
    catalog.add_source("android", AndroidSource.resolve_root(str(root)))
    summary = list(Indexer(fake_library).run())[-1]
    assert (summary.indexed, summary.failed) == (len(expected), 0)
    motion = catalog.item_by_path(str(root / "DCIM/Camera/PXL_20240102_101010123.MP.jpg"))
    assert motion["status"] == "indexed" and motion["format"] == "JPEG"
    assert (motion["width"], motion["height"]) == (32, 24)
    burst = catalog.item_by_path(str(root / "DCIM/Camera/IMG_20240106_100000123_BURST001.jpg"))
    assert burst["group_key"] == "burst:DCIM/Camera/IMG_20240106_100000123"
    rows = catalog.conn.execute("SELECT path FROM items").fetchall()
    assert sorted(r[0] for r in rows) == expected


class TestAndroidContract(MediaSourceContract):
    @pytest.fixture
    def source(self, tmp_path):
        root = tmp_path / "phone"
        put(root, "DCIM/Camera/IMG_1.jpg")
        put(root, "DCIM/Camera/IMG_2.jpg")
        put(root, "Pictures/Screenshots/s.png")
        return AndroidSource(str(root))


# -- finding shared storage ------------------------------------------------------------------


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(AndroidSource, "SYSTEM_STORAGE", (str(tmp_path / "no-sdcard"),))
    return home


def test_resolve_root_finds_termux_shared_storage(fake_home, tmp_path):
    storage = tmp_path / "storage-emulated-0"
    put(storage, "DCIM/Camera/a.jpg")
    (fake_home / "storage").mkdir()
    os.symlink(storage, fake_home / "storage" / "shared")
    assert AndroidSource.resolve_root("") == str(storage.resolve())


def test_resolve_root_without_storage(fake_home, monkeypatch):
    monkeypatch.setattr(android_mod, "is_android", lambda: True)
    with pytest.raises(MediaError, match="termux-setup-storage"):
        AndroidSource.resolve_root("")
    monkeypatch.setattr(android_mod, "is_android", lambda: False)
    with pytest.raises(HuisouError, match="--root"):
        AndroidSource.resolve_root("")


def test_resolve_root_with_storage_permission_missing(fake_home, tmp_path, monkeypatch):
    storage = tmp_path / "storage-emulated-0"
    storage.mkdir()
    (fake_home / "storage").mkdir()
    os.symlink(storage, fake_home / "storage" / "shared")
    real_listdir = os.listdir

    def listdir(path="."):
        if os.path.realpath(path) == str(storage.resolve()):
            raise PermissionError(13, "Permission denied")
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    with pytest.raises(MediaError, match="termux-setup-storage"):
        AndroidSource.resolve_root("")


def test_resolve_root_with_an_explicit_copy(tmp_path):
    put(tmp_path / "copy", "DCIM/a.jpg")
    assert AndroidSource.resolve_root(str(tmp_path / "copy")) == str((tmp_path / "copy").resolve())
    with pytest.raises(HuisouError, match="not a folder"):
        AndroidSource.resolve_root(str(tmp_path / "missing"))


def test_sd_card_volume_from_termux_external_link(fake_home, tmp_path):
    app_dir = tmp_path / "storage" / "ABCD-1234" / "Android" / "data" / "com.termux" / "files"
    app_dir.mkdir(parents=True)
    (fake_home / "storage").mkdir()
    os.symlink(app_dir, fake_home / "storage" / "external-1")
    assert AndroidSource.sd_card_roots() == [str(tmp_path / "storage" / "ABCD-1234")]


def test_detects_android(monkeypatch):
    monkeypatch.setenv("TERMUX_VERSION", "0.118.0")
    assert android_mod.is_android()
