"""The adaptive cutoff (``--min-score auto``) on a labelled library of real and drawn photos.

The library is the benchmark's (benchmarks/relevance.py): three pictures of each of the 18
coloured-shape classes, three near-duplicate variants of each natural photo, the camera photos
as distractors. A query with three true matches must return those three (± one) and nonsense
must return nothing, with each of the test models.
"""

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

NONSENSE = ("qwzx", "xylophone quantum tax", "a spreadsheet of quarterly tax returns")


@pytest.fixture(scope="module", params=["toy_shapes", "tiny_clip"])
def labelled(request, tmp_path_factory):
    from huisou.core.search import Searcher

    work = tmp_path_factory.mktemp(request.param)
    (work / "photos").mkdir()
    labels = bench.build_photos(work / "photos")
    library = bench.open_library(bench.MODELS[request.param], work)
    yield request.param, Searcher(library), labels
    library.close()


def _names(hits) -> list[str]:
    return [Path(hit.path).name for hit in hits]


def test_three_matches_come_back_three_plus_minus_one(labelled):
    from huisou.core.search import AUTO

    model, searcher, labels = labelled
    for original in ("astronaut.png", "chelsea.png", "horse.png"):
        if model == "toy_shapes":
            continue  # the toy model cannot tell natural photos apart (see RESULTS.md)
        hits = searcher.search(image=bench.DATA / "natural" / original, min_score=AUTO)
        assert abs(len(hits) - 3) <= 1, (original, _names(hits))
        assert set(_names(hits)) <= labels[f"image:{original}"], (original, _names(hits))
        assert all(hit.confidence in ("high", "medium") for hit in hits)
    if model == "toy_shapes":
        for query in ("red circle", "green triangle", "yellow square"):
            hits = searcher.search(query, min_score=AUTO)
            assert abs(len(hits) - 3) <= 1, (query, _names(hits))
            assert set(_names(hits)) <= labels[query], (query, _names(hits))


def test_nonsense_returns_nothing(labelled):
    from huisou.core.search import AUTO

    _model, searcher, _labels = labelled
    for query in NONSENSE:
        assert searcher.search(query, min_score=AUTO) == [], query
        everything = searcher.search(query, min_score=None)
        assert len(everything) == 20 and {hit.confidence for hit in everything} == {"low"}


def test_confidence_marks_the_cut_without_dropping_hits(labelled):
    model, searcher, labels = labelled
    if model == "toy_shapes":
        hits, relevant = searcher.search("red circle", top=10), labels["red circle"]
    else:  # text means nothing to tiny_clip's random weights: an example image instead
        hits = searcher.search(image=bench.DATA / "natural" / "chelsea.png", top=10)
        relevant = labels["image:chelsea.png"]
    kept = [Path(hit.path).name for hit in hits if hit.confidence != "low"]
    assert len(hits) == 10 and set(kept) <= relevant and len(kept) >= 2
    assert [hit.confidence for hit in hits][len(kept):] == ["low"] * (10 - len(kept))


def test_judge_on_made_up_scores():
    from huisou.core.relevance import Calibration, judge

    calibration = Calibration(center=0.2, scale=0.02, margin_threshold=0.05)
    scores = [0.40, 0.39, 0.38, 0.25, 0.24, 0.23]
    verdict = judge(scores, calibration, margins=[0.2, 0.2, 0.06, 0.1, 0.1, 0.1])
    assert verdict.confidences == ["high", "high", "medium", "low", "low", "low"]
    nonsense = judge(scores, calibration, margins=[0.01] * 6)
    assert nonsense.relevant == 0
    few = judge(scores, Calibration(0.2, 0.02, None, background_size=5))
    assert few.relevant == 6 and set(few.confidences) == {None}


@pytest.mark.parametrize("value", ["nan", "inf", "soon"])
def test_min_score_must_be_auto_off_or_a_number(value, tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, HUISOU_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "huisou", "search", "x", "--min-score", value],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--min-score" in result.stderr


def test_background_sample_is_spread_fixed_and_counted_by_index(tmp_path):
    from huisou.core.catalog import Catalog

    catalog = Catalog(tmp_path / "lib.db")
    catalog.ensure_model("m", "b", "m", 4, "numpy")
    with catalog.transaction():
        ids = [catalog.upsert_item(source_id=None, path=f"/p/{i}.jpg", size=1, mtime_ns=1,
                                   status="indexed") for i in range(300)]
        catalog.mark_embedded(ids[:250], "m")
    sample = catalog.sample_embedded("m", 100)
    assert len(set(sample)) == 100 and set(sample) <= set(ids[:250])
    assert sample == catalog.sample_embedded("m", 100)  # the same library, the same sample
    assert max(sample) > 200 and min(sample) < 50  # spread over the library, not its start
    assert catalog.embedded_count("m") == 250 and catalog.sample_embedded("x", 10) == []
    catalog.close()
