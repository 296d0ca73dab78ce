"""Text in photos end to end, with RapidOCR and the toy model (which understands no text).

The library of the shared text photos plus the natural ones is indexed first with OCR off, then
with ``auto``: the second run reads the photos indexed before without embedding them again
(OCR is resumable and incremental), and the toy model's gate finds it cannot tell text photos
apart, so it reads every photo. Then every ``literal_queries`` entry of the manifest must find
its photo first.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from huisou.core import field_store
from huisou.core.config import Config
from huisou.core.indexer import Indexer
from huisou.core.interfaces import SignalQuery
from huisou.core.library import Library
from huisou.core.plugins import PluginHost
from huisou.plugins.ocr.signal import OcrSignal

pytest.importorskip("rapidocr", reason="the ocr extra (pip install 'huisou[ocr]')")

TESTS = Path(__file__).resolve().parent
TOY = TESTS / "models" / "toy_shapes"
TEXT = TESTS / "data" / "text"
NATURAL = TESTS / "data" / "natural"
MANIFEST = json.loads((TEXT / "manifest.json").read_text(encoding="utf-8"))


def config(tmp: Path, ocr: str = "auto") -> Config:
    return Config(db=str(tmp / "lib.db"), backend="onnx-clip", model=str(TOY), precision="fp32",
                  batch_size=8, threads=2, models_dir=str(tmp / "models"), ocr=ocr)


def index(library: Library) -> list:
    return list(Indexer(library).run())


def ocr_values(library: Library) -> dict[str, dict]:
    """``file name -> {field: value}`` of the OCR fields."""
    conn = library.catalog.conn
    names = dict(conn.execute("SELECT id, name FROM items"))
    values = field_store.values_of(conn, list(names), library.host.fields())
    return {names[i]: {k: v for k, v in fields.items() if k.startswith("ocr_")}
            for i, fields in values.items()}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """``(library, embedded)``: indexed with OCR off, then on; ``embedded`` counts the photos
    the second run embedded."""
    tmp = tmp_path_factory.mktemp("ocr-e2e")
    photos = tmp / "photos"
    shutil.copytree(TEXT, photos / "text", ignore=shutil.ignore_patterns("*.json", "*.md"))
    shutil.copytree(NATURAL, photos / "natural", ignore=shutil.ignore_patterns("*.json"))
    with Library(config(tmp, "off"), PluginHost(load_entry_points=False)) as library:
        library.catalog.add_source("folder", str(photos))
        first = index(library)[-1]
        assert first.indexed == 18 and first.failed == 0
        assert not any(ocr_values(library).values())
    library = Library(config(tmp), PluginHost(load_entry_points=False))
    embedded = []
    original = library.backend.embed_images
    library.backend.embed_images = lambda batch: embedded.extend(batch) or original(batch)
    index(library)
    yield library, len(embedded)
    library.close()


def test_photos_indexed_before_ocr_are_read_without_embedding_them_again(indexed):
    library, embedded = indexed
    assert embedded == 0
    values = ocr_values(library)
    assert len(values) == 18
    assert all(v["ocr_status"].startswith("read: ") for v in values.values()), values
    assert values["jersey.jpg"]["ocr_text"].split("\n") == ["BRYANT", "24"]
    lines = json.loads(values["receipt_coffee.jpg"]["ocr_lines"])
    assert lines[0][0] == "星巴克咖啡" and 0.6 <= lines[0][1] <= 1 and len(lines[0][2]) == 8


@pytest.mark.parametrize(
    ("photo", "query"),
    [(entry["file"], query) for entry in MANIFEST["files"] for query in entry["literal_queries"]],
)
def test_every_literal_query_finds_its_photo_first(indexed, photo, query):
    library, _ = indexed
    matches = OcrSignal().match(SignalQuery(query, library.catalog, None, 10))
    names = dict(library.catalog.conn.execute("SELECT id, name FROM items"))
    assert matches, query
    assert names[matches[0].item_id] == photo, [(names[m.item_id], m.matched) for m in matches]
    assert matches[0].matched.startswith("ocr_text: ")


def test_the_toy_model_cannot_gate_so_every_photo_was_read(indexed):
    """A model that understands no text gives gate scores unrelated to text: the calibration
    says so and nothing is skipped (slower, never blind)."""
    library, _ = indexed
    from huisou.plugins.ocr.calibration import GateState

    state = GateState.load(str(library.config.db_path), library.backend)
    samples = state.samples()
    assert sum(has_text for _, has_text in samples) == 8  # the 8 text photos carry text
    assert state.decision().threshold is None
    assert "skipped" not in json.dumps(ocr_values(library))


def test_ocr_text_is_in_the_full_text_index(indexed):
    library, _ = indexed
    conn = library.catalog.conn
    found = field_store.text_matches(conn, "星巴克", ["ocr_text"], 10)
    names = dict(conn.execute("SELECT id, name FROM items"))
    assert [names[item_id] for item_id, _, _ in found] == ["receipt_coffee.jpg"]


@pytest.mark.parametrize(("photo", "query"), [
    ("wifi_note.jpg", "sunflower2O24"),  # a misread character: found by a half of the query
    ("id_card.jpg", "姓名 李明"),  # OCR read it without the space
    ("book_page.jpg", "sea old man"),  # words in another order
    ("receipt_coffee.jpg", "thank"),  # part of a line, other case
])
def test_queries_that_are_not_verbatim_still_find_their_photo(indexed, photo, query):
    library, _ = indexed
    matches = OcrSignal().match(SignalQuery(query, library.catalog, None, 10))
    names = dict(library.catalog.conn.execute("SELECT id, name FROM items"))
    assert matches and names[matches[0].item_id] == photo, [names[m.item_id] for m in matches]


def test_a_restricted_search_reads_only_its_candidates(indexed):
    library, _ = indexed
    names = {name: i for i, name in library.catalog.conn.execute("SELECT id, name FROM items")}
    allowed = frozenset({names["jersey.jpg"], names["horse.png"]})
    assert OcrSignal().match(SignalQuery("身份证", library.catalog, allowed, 10)) == []
    found = OcrSignal().match(SignalQuery("bryant", library.catalog, allowed, 10))
    assert [m.item_id for m in found] == [names["jersey.jpg"]]


@pytest.mark.parametrize(
    ("photo", "query"),
    [(entry["file"], query) for entry in MANIFEST["files"] for query in entry["literal_queries"]],
)
def test_a_search_puts_the_photo_with_the_words_first(indexed, photo, query):
    """Through the search itself: CLIP's ranking (the toy model's, which means nothing for
    these photos) fused with the signals, as ``huisou search`` does with ``--min-score auto``."""
    from huisou.core.search import AUTO, Searcher

    library, _ = indexed
    hits = Searcher(library).search(query, top=5, min_score=AUTO)
    assert hits and Path(hits[0].path).name == photo, [Path(h.path).name for h in hits]
    matched = [part.matched for part in hits[0].explain or () if part.signal == "ocr"]
    assert matched and matched[0].startswith("ocr_text: ")


@pytest.mark.parametrize(("expression", "expected"), [
    ("ocr_text ~ 星巴克", ["receipt_coffee.jpg"]),
    ("ocr_text ~ 带伞", ["chat_screenshot.png"]),  # two characters: below the trigram length
    ("ocr_text ~ 'THANK you'", ["receipt_coffee.jpg"]),
    ("ocr_status ~ 'failed'", []),
])
def test_where_filters_on_the_text_read(indexed, expression, expected):
    """``huisou search --where 'ocr_text ~ …'``: the filter alone decides which photos remain."""
    from huisou.core.search import Searcher, SearchFilters
    from huisou.core.where import compile_where

    library, _ = indexed
    condition = compile_where(expression, library.host.fields())
    hits = Searcher(library).search("a photo", top=20, min_score=None,
                                    filters=SearchFilters(where=(condition,)))
    assert sorted(Path(h.path).name for h in hits) == expected
