"""The ocr plugin's parts without a real model: the gate in the extractor, its memory beside the
library, the signal's ranking, the plugin without its extra, and ``--ocr`` / ``ocr =``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from huisou.core.config import Config, load_config
from huisou.core.errors import ConfigError
from huisou.core.interfaces import DecodedImage, IndexRun, MediaItem
from huisou.plugins import ocr as plugin
from huisou.plugins.ocr import calibration, gate
from huisou.plugins.ocr.engine import Line
from huisou.plugins.ocr.extractor import OcrExtractor, values_of
from PIL import Image

DIM = 8


class AnchorBackend:
    """Text anchors along axis 0, plain ones along axis 1: a model that can tell."""

    model_fingerprint = "anchor-test"

    def __init__(self) -> None:
        self.calls = 0
        self.released = 0

    def embed_texts(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, 0 if text in gate.TEXT_ANCHORS else 1] = 1.0
        return out

    def release(self):
        self.released += 1


class CountingEngine:
    version = "counting"

    def __init__(self) -> None:
        self.read_sizes: list[tuple[int, int]] = []

    def read(self, image):
        self.read_sizes.append(image.size)
        has_text = image.getpixel((0, 0)) == (0, 0, 0)
        return [Line("RECEIPT 36.00", 0.9, ((0, 0), (1, 0), (1, 1), (0, 1)))] if has_text else []


def vector(text_likeness: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[0], v[1] = text_likeness, 1 - text_likeness
    return v / np.linalg.norm(v)


def decoded(has_text: bool) -> DecodedImage:
    colour = (0, 0, 0) if has_text else (90, 160, 60)
    return DecodedImage(Image.new("RGB", (64, 48), colour), 64, 48, "PNG")


def item(i: int) -> MediaItem:
    return MediaItem(f"/photos/{i}.jpg", 1, 1)


def start(extractor: OcrExtractor, tmp_path, mode: str, backend=None) -> bool:
    run = IndexRun([], "m", str(tmp_path / "lib.db"), 0.0, config=Config(ocr=mode),
                   backend=backend)
    return extractor.start_run(run)


def test_the_gate_skips_photos_without_text_once_it_has_calibrated(tmp_path):
    backend = AnchorBackend()
    engine = CountingEngine()
    extractor = OcrExtractor(engine)
    assert start(extractor, tmp_path, "auto", backend)
    assert backend.calls == 1 and backend.released == 1  # anchors encoded, encoder freed
    photos = [(i, i % 5 == 0) for i in range(200)]  # a fifth carry text
    results = {}
    for i, has_text in photos:
        likeness = 0.8 if has_text else 0.2
        results[i] = extractor.extract_image(item(i), decoded(has_text), vector(likeness))
    text_read = sum(results[i].get("ocr_text") == "RECEIPT 36.00" for i, t in photos if t)
    skipped = [i for i, _ in photos if results[i]["ocr_status"].startswith("skipped")]
    assert text_read == 40  # recall 1 on the text photos
    assert len(skipped) > 100  # most plain photos are no longer read after calibration
    assert "gate score" in results[skipped[0]]["ocr_status"]
    assert len(engine.read_sizes) == 200 - len(skipped)
    extractor.end_run()
    again = OcrExtractor(CountingEngine())
    other = AnchorBackend()
    start(again, tmp_path, "auto", other)
    assert other.calls == 0  # anchors and samples come from beside the library
    assert again.state.decision().threshold is not None


def test_all_reads_every_photo_and_off_sits_the_run_out(tmp_path):
    engine = CountingEngine()
    extractor = OcrExtractor(engine)
    backend = AnchorBackend()
    assert start(extractor, tmp_path, "all", backend)
    assert backend.calls == 0  # no gate, no anchors
    for i in range(30):
        extractor.extract_image(item(i), decoded(False), vector(0.1))
    assert len(engine.read_sizes) == 30
    assert start(extractor, tmp_path, "off", backend) is False


def test_a_photo_without_a_vector_is_read(tmp_path):
    extractor = OcrExtractor(CountingEngine())
    start(extractor, tmp_path, "auto", AnchorBackend())
    assert extractor.extract_image(item(1), decoded(True), None)["ocr_text"] == "RECEIPT 36.00"


def test_the_version_names_the_models_and_the_detector_size():
    extractor = OcrExtractor()
    assert "PP-OCRv6" in extractor.version and "/640" in extractor.version
    assert extractor.image_size * 4 // 3 >= 640


def test_a_damaged_gate_file_is_made_again(tmp_path):
    path = calibration.state_path(str(tmp_path / "lib.db"), AnchorBackend.model_fingerprint)
    path.parent.mkdir()
    path.write_text("{not json")
    backend = AnchorBackend()
    state = calibration.GateState.load(str(tmp_path / "lib.db"), backend)
    assert backend.calls == 1 and state.decision().threshold is None
    assert json.loads(path.read_text())["anchors"] == calibration.anchors_key()


def test_values_keep_lines_with_confidence_and_box():
    lines = [Line("姓名 李明", 0.98, ((0.1, 0.2), (0.5, 0.2), (0.5, 0.3), (0.1, 0.3)))]
    values = values_of(lines)
    assert values["ocr_text"] == "姓名 李明"
    assert json.loads(values["ocr_lines"]) == [["姓名 李明", 0.98,
                                               [0.1, 0.2, 0.5, 0.2, 0.5, 0.3, 0.1, 0.3]]]
    assert values_of([]) == {"ocr_status": "read: no text found"}


def test_a_page_too_long_for_a_field_keeps_its_first_lines():
    lines = [Line("x" * 100, 0.9, ((0, 0),) * 4) for _ in range(1000)]
    values = values_of(lines)
    assert len(values["ocr_lines"]) <= 65_536
    assert "more not kept" in values["ocr_status"]


def test_without_the_extra_fields_and_signal_stay_and_the_hint_is_said_once(monkeypatch, caplog):
    monkeypatch.setattr(plugin, "rapidocr_version", lambda: None)
    monkeypatch.setattr(plugin, "_told", False)
    registered: list = []
    plugin.register_metadata_extractors(registered.append)
    assert registered == []
    fields: list = []
    plugin.register_fields(lambda name, *a, **k: fields.append(name))
    assert fields == ["ocr_text", "ocr_lines", "ocr_status"]
    run = SimpleNamespace(config=Config())
    with caplog.at_level(logging.WARNING):
        plugin.before_index(run)
        plugin.before_index(run)
    hints = [r.getMessage() for r in caplog.records if "huisou[ocr]" in r.getMessage()]
    assert len(hints) == 1


def test_help_and_the_host_import_no_ocr_engine():
    probe = (
        "import sys\n"
        "from huisou.cli.main import cli\n"
        "from huisou.core.plugins import PluginHost\n"
        "host = PluginHost(load_entry_points=False)\n"
        "assert [s.name for s in host.search_signals() if s.name == 'ocr']\n"
        "host.metadata_extractors(); host.fields()\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('rapidocr', 'onnxruntime', 'cv2') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_ocr_setting_is_checked(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('ocr = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"ocr must be one of auto, all, off"):
        load_config(path)
    path.write_text('ocr = "off"\n')
    assert load_config(path).ocr == "off"
    assert load_config(path, ocr="all").ocr == "all"
