"""Photos OCR cannot use are recorded with the reason and the run goes on; a new OCR version
reads every photo again; ``--ocr off`` reads none. With RapidOCR and the toy model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from huisou.core import field_store
from huisou.core.config import Config
from huisou.core.indexer import Indexer
from huisou.core.library import Library
from huisou.core.plugins import PluginHost
from huisou.plugins.ocr.engine import OcrFailed
from PIL import Image

pytest.importorskip("rapidocr", reason="the ocr extra (pip install 'huisou[ocr]')")

TESTS = Path(__file__).resolve().parent
TOY = TESTS / "models" / "toy_shapes"
TEXT = TESTS / "data" / "text"


def open_library(tmp: Path, ocr: str = "auto") -> Library:
    config = Config(db=str(tmp / "lib.db"), backend="onnx-clip", model=str(TOY),
                    precision="fp32", batch_size=4, threads=2,
                    models_dir=str(tmp / "models"), ocr=ocr)
    return Library(config, PluginHost(load_entry_points=False))


def run(library: Library, root: Path) -> list:
    if not library.catalog.sources():
        library.catalog.add_source("folder", str(root))
    return list(Indexer(library).run())


def statuses(library: Library) -> dict[str, tuple[str, str | None, str | None]]:
    """``name -> (item status, item error, ocr_status)``."""
    conn = library.catalog.conn
    rows = {r[0]: (r[1], r[2], r[3])
            for r in conn.execute("SELECT id, name, status, error FROM items")}
    values = field_store.values_of(conn, list(rows), library.host.fields())
    return {name: (status, error, values.get(i, {}).get("ocr_status"))
            for i, (name, status, error) in rows.items()}


def extractor(library: Library):
    return next(e for e in library.host.metadata_extractors() if e.name == "ocr")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy(TEXT / "jersey.jpg", root / "jersey.jpg")
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 50)
    Image.new("RGB", (10, 8), (200, 30, 30)).save(root / "tiny.png")
    # a 50:1 strip: reduced for the detector to 640x13, too thin for a line of text
    Image.new("RGB", (6000, 120), (240, 240, 240)).save(root / "strip.png")
    with Image.open(TEXT / "book_page.jpg") as page:  # 12 MP of the book page
        page.convert("RGB").resize((3000, 4000)).save(root / "huge_page.jpg", quality=85)
    return root


def test_photos_ocr_cannot_read_are_recorded_with_the_reason_and_the_run_goes_on(
    photos, tmp_path, monkeypatch
):
    library = open_library(tmp_path)
    engine = extractor(library).engine
    original = engine.read

    def flaky(image):
        if image.size == (480, 640) and image.getpixel((0, 0)) == (1, 2, 3):
            raise OcrFailed("OCR engine error: RuntimeError: bad input shape")
        return original(image)

    Image.new("RGB", (480, 640), (1, 2, 3)).save(photos / "engine_error.png")
    monkeypatch.setattr(engine, "read", flaky)
    summary = run(library, photos)[-1]
    found = statuses(library)
    assert summary.indexed == 5 and summary.failed == 1
    assert found["corrupt.jpg"][0] == "unreadable" and found["corrupt.jpg"][1]
    assert found["tiny.png"] == ("indexed", None, "failed: too small for OCR: 10x8 px "
                                 "(needs 16 px)")
    assert found["strip.png"][2].startswith("failed: too small for OCR: 640x13 px once")
    assert found["engine_error.png"][2] == ("failed: OCR engine error: RuntimeError: "
                                            "bad input shape")
    assert found["jersey.jpg"][2] == "read: 2 lines"
    assert found["huge_page.jpg"][2] == "read: 3 lines"
    library.close()


def test_a_new_ocr_version_reads_every_photo_again_and_off_reads_none(photos, tmp_path,
                                                                    monkeypatch):
    for name in ("corrupt.jpg", "tiny.png", "strip.png", "huge_page.jpg"):
        (photos / name).unlink()
    reads: list[tuple[int, int]] = []
    with open_library(tmp_path) as library:
        ocr = extractor(library)
        original = ocr.engine.read
        monkeypatch.setattr(ocr.engine, "read", lambda im: reads.append(im.size) or original(im))
        run(library, photos)
        assert len(reads) == 1
        run(library, photos)
        assert len(reads) == 1  # unchanged photo, same version: nothing to do
        monkeypatch.setattr(ocr, "version", ocr.version + "-next")
        run(library, photos)
        assert len(reads) == 2
    with open_library(tmp_path, ocr="off") as library:
        (photos / "second.jpg").write_bytes((TEXT / "wifi_note.jpg").read_bytes())
        run(library, photos)
        assert len(reads) == 2
        assert statuses(library)["second.jpg"] == ("indexed", None, None)


def test_the_index_command_passes_ocr_to_the_run(tmp_path):
    """``huisou index --ocr off`` then ``--ocr all``: the second run reads the photo indexed by
    the first (a subprocess: the real CLI, its config and the built-in plugins)."""
    import os
    import subprocess
    import sys

    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy(TEXT / "jersey.jpg", root / "jersey.jpg")
    env = dict(os.environ, HUISOU_HOME=str(tmp_path / "home"), HUISOU_LOAD_PLUGINS="")

    def huisou(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "huisou", *args], env=env, text=True,
                              capture_output=True, timeout=300)

    first = huisou("index", str(root), "--model", str(TOY), "--ocr", "off")
    assert first.returncode == 0, first.stderr
    second = huisou("index", "--ocr", "all")
    assert second.returncode == 0, second.stderr
    assert "0 indexed, 1 unchanged" in second.stderr
    config = Config(db=str(tmp_path / "home" / "library.db"))
    with Library(config, PluginHost(load_entry_points=False)) as library:
        assert statuses(library)["jersey.jpg"][2] == "read: 2 lines"
    wrong = huisou("index", "--ocr", "sometimes")
    assert wrong.returncode == 2 and "'sometimes' is not one of" in wrong.stderr
