"""Relevance feedback (--like/--unlike on stored vectors) and collapsing near-duplicates and
bursts, on real photos: each natural photo of tests/data/natural in three near-duplicate
variants (downscaled, cropped, recompressed) among the camera photos, embedded by tiny_clip."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
try:
    import relevance as bench  # noqa: E402 - benchmarks/ is not a package
finally:
    sys.path.remove(str(REPO / "benchmarks"))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    work = tmp_path_factory.mktemp("feedback")
    (work / "photos").mkdir()
    bench.build_photos(work / "photos")
    lib = bench.open_library(bench.MODELS["tiny_clip"], work)
    yield lib, work / "photos"
    lib.close()


def _stem(path: str) -> str:
    return Path(path).name.split("-")[0]


def test_like_alone_finds_the_liked_photos_copies(library):
    from huisou.core.search import Searcher

    lib, photos = library
    hits = Searcher(lib).search(like=[str(photos / "chelsea-small.jpg")], top=3, min_score=None)
    assert [_stem(h.path) for h in hits] == ["chelsea"] * 3
    assert hits[0].path.endswith("chelsea-small.jpg") and hits[0].score > 0.999


def test_unlike_pushes_a_photo_down(library):
    from huisou.core.search import Searcher

    lib, photos = library
    searcher = Searcher(lib)
    query = REPO / "tests/data/natural/coffee.png"
    before = [h.path for h in searcher.search(image=query, top=60, min_score=None)]
    unliked = next(path for path in before if _stem(path) != "coffee")
    after = [h.path for h in searcher.search(
        image=query, unlike=[unliked], top=60, min_score=None)]
    assert [_stem(p) for p in after[:3]] == ["coffee"] * 3  # what was asked for stays on top
    assert after.index(unliked) > before.index(unliked)


def test_like_uses_stored_vectors_of_deleted_photos(library, tmp_path):
    import shutil

    from huisou.core.errors import HuisouError
    from huisou.core.search import Searcher

    lib, photos = library
    gone = photos / "horse-small.jpg"
    shutil.move(gone, tmp_path / gone.name)  # deleted from disk, still in the library
    try:
        hits = Searcher(lib).search(like=[str(gone)], top=2, min_score=None)
        assert hits[0].path == str(gone) and hits[0].score > 0.999
        assert hits[1].path.endswith("horse-recompressed.jpg")
    finally:
        shutil.move(tmp_path / gone.name, gone)
    with pytest.raises(HuisouError, match="not in the library"):
        Searcher(lib).search(like=[str(photos / "never-indexed.jpg")])


def test_collapse_folds_near_duplicates(library):
    from huisou.core.search import Searcher

    lib, _photos = library
    searcher = Searcher(lib)
    query = REPO / "tests/data/natural/chelsea.png"
    plain = searcher.search(image=query, top=10, min_score=None)
    folded = searcher.search(image=query, top=10, min_score=None, collapse=True)
    assert [_stem(h.path) for h in plain[:3]] == ["chelsea"] * 3
    # the recompressed and downscaled copies fold (tiny_clip's random weights move the 5 %
    # crop below the near-duplicate cosine)
    assert _stem(folded[0].path) == "chelsea" and len(folded[0].similar) >= 1
    assert {_stem(p) for p in folded[0].similar} == {"chelsea"}
    assert [_stem(h.path) for h in folded].count("chelsea") == 3 - len(folded[0].similar)
    assert folded[0].to_json()["similar"] == folded[0].similar


def test_collapse_folds_a_burst(library):
    """Frames the Android source grouped as one burst (``group_key``) fold even when their
    vectors differ (here: two different photos put in one group)."""
    from huisou.core.search import Searcher

    lib, photos = library
    searcher = Searcher(lib)
    query = REPO / "tests/data/natural/rocket.jpg"
    plain = searcher.search(image=query, top=40, min_score=None)
    other = next(h for h in plain if _stem(h.path) not in ("rocket",))
    ids = [h.item_id for h in plain if _stem(h.path) == "rocket"] + [other.item_id]
    with lib.catalog.transaction() as conn:
        conn.executemany("UPDATE items SET group_key='burst:DCIM/Camera/X' WHERE id=?",
                         [(i,) for i in ids])
    try:
        folded = searcher.search(image=query, top=40, min_score=None, collapse=True)
        assert other.path in folded[0].similar
        assert other.path not in [h.path for h in folded]
    finally:
        with lib.catalog.transaction() as conn:
            conn.execute("UPDATE items SET group_key=NULL")
