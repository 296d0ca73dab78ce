"""Indexing real files through the built-in sources, decoder and EXIF extractor (fake embeddings).

Checks the MANIFEST's expectations end to end (what lands in the catalog), the fast path (an
unchanged tree costs no open()), and that a moved photo keeps its item and vector.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from huisou.core.events import Finished, ItemFailed
from huisou.core.indexer import Indexer
from huisou.plugins.media_sources import decode as decode_mod
from huisou.plugins.media_sources.folder import FolderSource
from huisou.testing.contract_source import record_opens

DATA = Path(__file__).parent / "data"
ODD = DATA / "odd_broken"
CAMERA = DATA / "exif_camera"

UNREADABLE = {
    "truncated_jpeg.jpg", "truncated_image.png", "broken.png", "broken_data_stream.png",
    "decompression_bomb.gif", "zero_width.gif", "png_decompression_dos.png", "empty.heic",
    "corrupted.heic",
}


def run(library, root: Path, **options) -> tuple[Finished, list]:
    root_key = FolderSource.resolve_root(str(root))
    library.catalog.add_source("folder", root_key, options)
    record = next(r for r in library.catalog.sources() if r.root == root_key)
    events = list(Indexer(library, [(record, library.source_for(record))]).run())
    assert isinstance(events[-1], Finished)
    return events[-1], events


def row(library, path: Path) -> dict:
    found = library.catalog.item_by_path(str(path.resolve()))
    assert found is not None, path
    return found


def test_odd_and_broken_files_are_indexed_or_recorded_with_a_reason(fake_library):
    pytest.importorskip("pillow_heif")
    summary, events = run(fake_library, ODD)
    files = sorted(p.name for p in ODD.iterdir())
    assert summary.indexed + summary.failed == len(files) == 29
    assert summary.failed == len(UNREADABLE)
    failed = {os.path.basename(e.path): e for e in events if isinstance(e, ItemFailed)}
    assert set(failed) == UNREADABLE
    for name in files:
        record = row(fake_library, ODD / name)
        if name in UNREADABLE:
            assert record["status"] == "unreadable", name
            assert record["error"], name
        else:
            assert record["status"] == "indexed", (name, record["error"])
    assert "decompression bomb" in row(fake_library, ODD / "decompression_bomb.gif")["error"]
    assert "truncated" in row(fake_library, ODD / "truncated_jpeg.jpg")["error"]
    assert "empty" in row(fake_library, ODD / "empty.heic")["error"]
    gps = row(fake_library, ODD / "empty_gps_ifd.jpg")
    assert gps["gps_lat"] is None and (gps["width"], gps["height"]) == (10, 10)
    avif = row(fake_library, ODD / "rot1mir0.avif")
    assert (avif["width"], avif["height"], avif["orientation"]) == (640, 427, 5)


def test_without_the_heic_extra_heif_files_are_unsupported(fake_library, monkeypatch):
    monkeypatch.setattr(decode_mod, "_heif_state", {"ok": False})
    summary, _events = run(fake_library, ODD)
    assert summary.indexed + summary.failed == 29
    record = row(fake_library, ODD / "hopper.heif")
    assert record["status"] == "unsupported"
    assert "pip install 'huisou[heic]'" in record["error"]
    assert row(fake_library, ODD / "empty.heic")["status"] == "unreadable"
    assert row(fake_library, ODD / "hopper.tif")["status"] == "indexed"


def test_camera_photos_metadata_in_the_catalog(fake_library):
    summary, _events = run(fake_library, CAMERA)
    heif = 2 if decode_mod.heif_available() else 0
    assert summary.indexed == 25 + heif and summary.failed == 2 - heif
    kodak = row(fake_library, CAMERA / "Kodak_CX7530.jpg")
    assert kodak["gps_lat"] == pytest.approx(-0.3713, abs=1e-4)
    assert kodak["gps_lon"] == pytest.approx(36.0564, abs=1e-4)
    canon = row(fake_library, CAMERA / "Canon_40D.jpg")
    assert canon["gps_lat"] is None and canon["gps_lon"] is None
    assert (canon["camera_make"], canon["camera_model"]) == ("Canon", "Canon EOS 40D")
    assert (canon["taken_at"], canon["taken_at_source"]) == ("2008-05-30T15:56:01", "DateTimeOriginal")
    hdr = row(fake_library, CAMERA / "canon_hdr_NO.jpg")
    assert (hdr["width"], hdr["height"], hdr["orientation"]) == (1536, 2048, 6)
    assert hdr["gps_lat"] is None
    fuji = row(fake_library, CAMERA / "Fujifilm_FinePix_E500.jpg")
    assert fuji["camera_model"] == "FinePix E500"
    wwl = row(fake_library, CAMERA / "WWL_Polaroid_ION230.jpg")
    assert (wwl["camera_make"], wwl["camera_model"]) == ("WWL", "ION230")
    pentax = row(fake_library, CAMERA / "Pentax_K10D.jpg")
    assert (pentax["camera_make"], pentax["camera_model"]) == ("PENTAX Corporation", "PENTAX K10D")
    zero = row(fake_library, CAMERA / "Portrait_0.jpg")
    assert (zero["orientation"], zero["width"], zero["height"]) == (1, 1200, 1800)
    for n in (5, 6, 8):
        portrait = row(fake_library, CAMERA / f"Portrait_{n}.jpg")
        assert (portrait["orientation"], portrait["width"], portrait["height"]) == (n, 1200, 1800)
    edited = row(fake_library, CAMERA / "Canon_40D_photoshop_import.jpg")
    assert edited["camera_make"] is None and edited["taken_at_source"] == "DateTime"


def _make_tree(root: Path, count: int) -> list[Path]:
    from PIL import Image

    paths = []
    for i in range(count):
        path = root / f"album{i % 4}" / f"photo_{i:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        Image.new("RGB", (16, 12), ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)).save(buf, "JPEG")
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


def test_second_run_over_an_unchanged_tree_opens_no_file(fake_library, tmp_path):
    root = tmp_path / "photos"
    photos = _make_tree(root, 40)
    first, _ = run(fake_library, root)
    assert first.indexed == 40
    batches = fake_library.backend.image_batches
    prefix = str(root.resolve()) + os.sep
    with record_opens() as opened:
        second, _ = run(fake_library, root)
    assert (second.unchanged, second.indexed, second.moved, second.removed) == (40, 0, 0, 0)
    assert [p for p in opened if p.startswith(prefix)] == []
    assert fake_library.backend.image_batches == batches
    # the check can fail: a changed file is opened on the next run
    photos[0].write_bytes(photos[1].read_bytes() + b"\x00")
    with record_opens() as opened:
        third, _ = run(fake_library, root)
    assert [p for p in opened if p.startswith(prefix)] == [str(photos[0].resolve())]
    assert third.indexed == 1


def test_moved_and_renamed_photo_keeps_its_item_and_vector(fake_library, tmp_path):
    root = tmp_path / "photos"
    photos = _make_tree(root, 8)
    run(fake_library, root)
    catalog = fake_library.catalog
    before = row(fake_library, photos[3])
    vector = fake_library.store.vectors[before["id"]].copy()
    batches = fake_library.backend.image_batches
    target = root / "sorted" / "2024" / "renamed.jpg"
    target.parent.mkdir(parents=True)
    shutil.move(photos[3], target)
    summary, _ = run(fake_library, root)
    assert (summary.moved, summary.indexed, summary.removed) == (1, 0, 0)
    after = row(fake_library, target)
    assert after["id"] == before["id"] and after["status"] == "indexed"
    assert catalog.item_by_path(str(photos[3].resolve())) is None
    assert fake_library.backend.image_batches == batches  # nothing embedded again
    assert (fake_library.store.vectors[after["id"]] == vector).all()


def test_a_linked_folder_whose_drive_is_gone_keeps_its_photos(fake_library, tmp_path):
    """``~/Pictures/nas -> /mnt/nas/photos`` with the NAS unmounted: a broken link, not deletions."""
    nas = tmp_path / "mnt" / "photos"
    nas.mkdir(parents=True)
    shutil.copy(CAMERA / sorted(os.listdir(CAMERA))[0], nas / "a.jpg")
    root = tmp_path / "pictures"
    root.mkdir()
    shutil.copy(CAMERA / sorted(os.listdir(CAMERA))[1], root / "b.jpg")
    (root / "nas").symlink_to(nas, target_is_directory=True)
    first, _ = run(fake_library, root, follow_outside_links=True)  # it leads out of the root
    assert first.indexed == 2
    nas.rename(tmp_path / "mnt" / "unmounted")
    second, events = run(fake_library, root)
    assert second.removed == 0
    assert fake_library.catalog.item_by_path(str(root / "nas" / "a.jpg")) is not None
    warnings = [e.message for e in events if type(e).__name__ == "SourceWarning"]
    assert any("nas" in w and "missing" in w for w in warnings), warnings
