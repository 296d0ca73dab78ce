"""Switching models never mixes vector spaces, and the old model serves until the new one is done."""

from __future__ import annotations

import threading
from pathlib import Path

from huisou.core.config import Config
from huisou.core.events import BatchDone
from huisou.core.indexer import Indexer
from huisou.core.library import Library
from huisou.core.plugins import PluginHost
from huisou.core.search import Searcher

MODELS = Path(__file__).parent / "models"
SHAPES = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "circle")]


def _library(db: Path, model: str = "") -> Library:
    config = Config(
        db=str(db), backend="onnx-clip", model=model, store="numpy", batch_size=2, precision="fp32"
    )
    return Library(config, PluginHost(load_entry_points=False))


def test_the_previous_model_serves_until_the_new_one_completes(tmp_path):
    import sys

    sys.path.insert(0, str(MODELS))
    from shapes import make_shape_image

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, (colour, shape) in enumerate(SHAPES * 2):
        make_shape_image(colour, shape, seed=i).save(photos / f"{colour}-{shape}-{i}.png")
    db = tmp_path / "library.db"
    tiny, toy = str(MODELS / "tiny_clip"), str(MODELS / "toy_shapes")

    with _library(db, tiny) as first:
        first.catalog.add_source("folder", str(photos))
        list(Indexer(first).run())
        tiny_fp = first.backend.model_fingerprint

    cancel = threading.Event()
    with _library(db, toy) as second:
        for event in Indexer(second, cancel=cancel).run():
            if isinstance(event, BatchDone):
                cancel.set()  # the new model is only part-way done
        toy_fp = second.backend.model_fingerprint
    assert toy_fp != tiny_fp

    with _library(db) as default:
        assert default.model_choice() == ("onnx-clip", tiny)
        hits = Searcher(default).search("red circle", top=20)
        assert len(hits) == len(SHAPES) * 2  # every photo, from the complete model's space

    with _library(db, toy) as second:
        list(Indexer(second).run())
    with _library(db) as default:
        assert default.model_choice() == ("onnx-clip", toy)
        top = Searcher(default).search("red circle", top=2)
        assert all("red-circle" in Path(hit.path).name for hit in top)
        counts = {m["fingerprint"]: m["vectors"] for m in default.catalog.models()}
        assert counts == {tiny_fp: 8, toy_fp: 8}  # two spaces side by side, never mixed


def test_a_library_at_schema_1_is_migrated(tmp_path):
    """Numbered migrations: a database made by the first schema opens and gains column 2."""
    import sqlite3

    from huisou.core.catalog import MIGRATIONS, Catalog

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
        conn.execute(
            "INSERT INTO models (fingerprint, backend, name, dimensions, created_at) "
            "VALUES ('m1', 'fake', 'old', 16, 1.0)"
        )
    catalog = Catalog(db)
    assert catalog.schema_version == len(MIGRATIONS) >= 2
    catalog.mark_model_complete("m1")
    assert catalog.last_model() == ("fake", "old")
    catalog.close()


def test_another_models_leftover_vectors_never_name_a_new_photo(tmp_path):
    """SQLite reuses the highest rowids once they are deleted. A photo removed while model B
    was in use leaves its vector in model A's store; a new photo that gets the same id must
    not be found through that vector when searching with A (it has no A vector yet)."""
    import sys

    sys.path.insert(0, str(MODELS))
    from shapes import make_shape_image

    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    for i in range(3):
        make_shape_image("red", "circle", seed=i).save(old / f"red-circle-{i}.png")
    for i in range(3):
        make_shape_image("blue", "square", seed=10 + i).save(new / f"blue-square-{i}.png")
    db = tmp_path / "library.db"
    tiny, toy = str(MODELS / "tiny_clip"), str(MODELS / "toy_shapes")
    with _library(db, toy) as a:
        a.catalog.add_source("folder", str(old))
        list(Indexer(a).run())
        old_ids = sorted(a.store.ids())
    with _library(db, tiny) as b:
        list(Indexer(b).run())
        source_id = b.catalog.sources()[0].id
        b.remove_source(source_id)  # cleans B's store; A's keeps the red circles' vectors
        b.catalog.add_source("folder", str(new))
        list(Indexer(b).run())
        assert sorted(r["id"] for r in b.catalog.items_by_ids(old_ids).values()) == old_ids
    with _library(db, toy) as a:
        hits = Searcher(a).search("red circle", top=10)
    assert [hit.path for hit in hits] == []  # no blue square posing as a red circle
