"""The OCR engine on decoded images: reads Chinese and English lines, and turns photos it
cannot use (tiny, engine errors, missing extra) into one-line reasons."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from huisou.plugins.ocr.engine import OcrEngine, OcrFailed, OcrUnavailable
from PIL import Image

TEXT = Path(__file__).parent / "data" / "text"


@pytest.fixture(scope="module")
def engine():
    return OcrEngine()


def open_rgb(name):
    with Image.open(TEXT / name) as im:
        return im.convert("RGB")


def test_reads_every_printed_line_of_a_chinese_receipt(engine):
    lines = engine.read(open_rgb("receipt_coffee.jpg"))
    texts = [line.text for line in lines]
    assert texts[0] == "星巴克咖啡"
    assert "THANK YOU" in texts
    assert all(0.6 <= line.confidence <= 1 for line in lines)
    for line in lines:
        assert len(line.box) == 4
        assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in line.box)
    assert json.dumps([line.to_dict() for line in lines], ensure_ascii=False)


def test_a_large_photo_is_reduced_not_refused(engine):
    big = open_rgb("book_page.jpg").resize((4000, 3000))
    assert "The Old Man and the Sea" in [line.text for line in engine.read(big)]


def test_a_photo_without_text_gives_no_lines(engine):
    assert engine.read(Image.new("RGB", (640, 480), (90, 140, 200))) == []


def test_a_tiny_photo_is_refused_with_its_size(engine):
    with pytest.raises(OcrFailed, match=r"too small for OCR: 12x9 px"):
        engine.read(Image.new("RGB", (12, 9)))


def test_an_engine_error_becomes_a_reason(engine, monkeypatch):
    def broken(pixels):
        raise RuntimeError("bad input shape")

    monkeypatch.setattr(engine, "_load", lambda: broken)
    with pytest.raises(OcrFailed, match="OCR engine error: RuntimeError: bad input shape"):
        engine.read(Image.new("RGB", (100, 100)))


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr", None)
    with pytest.raises(OcrUnavailable, match=r"pip install 'huisou\[ocr\]'"):
        OcrEngine().read(Image.new("RGB", (100, 100)))
