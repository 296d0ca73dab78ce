"""Weighted reciprocal-rank fusion (core/fusion.py), the [search.weights] config table, and
how the built-in text signal ranks a match (plugins/text_signal/matching.py)."""

from __future__ import annotations

import pytest
from huisou.core.fusion import (
    CLIP,
    RRF_K,
    Ranked,
    check_weight,
    fuse,
    ranked,
    unknown_weights,
    weights_for,
)


def test_ranked_ties_share_the_better_rank_and_repeats_keep_the_first():
    got = ranked([(7, 0.9, None), (3, 0.5, "a"), (4, 0.5, "b"), (7, 0.1, None), (9, 0.2, "c")])
    assert [(r.item_id, r.rank) for r in got] == [(7, 1), (3, 2), (4, 2), (9, 5)]


def test_fused_score_is_the_weighted_sum_of_reciprocal_ranks():
    clip = ranked([(1, 0.9, None), (2, 0.8, None), (3, 0.7, None)])
    text = ranked([(3, 4.9, "name: 3.jpg")])
    fused = fuse({CLIP: clip, "text": text}, {CLIP: 1.0, "text": 2.0})
    assert [f.item_id for f in fused] == [3, 1, 2]
    assert fused[0].fused == pytest.approx(1 / (RRF_K + 3) + 2 / (RRF_K + 1))
    assert fused[1].fused == pytest.approx(1 / (RRF_K + 1))
    parts = {p.signal: p for p in fused[0].contributions}
    assert parts["text"].matched == "name: 3.jpg" and parts[CLIP].rank == 3


def test_clip_alone_keeps_clip_order_and_weight_zero_ignores_a_ranking():
    clip = ranked([(5, 0.3, None), (1, 0.2, None), (9, 0.1, None)])
    noisy = ranked([(9, 1.0, None)])
    alone = fuse({CLIP: clip}, {CLIP: 1.0})
    assert [f.item_id for f in alone] == [5, 1, 9]
    off = fuse({CLIP: clip, "noisy": noisy}, {CLIP: 1.0, "noisy": 0.0})
    assert [f.item_id for f in off] == [5, 1, 9]
    assert all(len(f.contributions) == 1 for f in off)


def test_equal_fused_scores_keep_the_order_rankings_list_them():
    clip = ranked([(1, 0.9, None)])
    other = ranked([(2, 3.0, None)])  # rank 1 too, same weight: a tie, CLIP's photo first
    assert [f.item_id for f in fuse({CLIP: clip, "x": other}, {CLIP: 1.0, "x": 1.0})] == [1, 2]


def test_a_photo_only_signals_list_gets_nothing_from_clip():
    fused = fuse({CLIP: [Ranked(1, 1, 0.9)], "x": [Ranked(2, 1, 1.0)]}, {CLIP: 1.0, "x": 0.5})
    assert [f.item_id for f in fused] == [1, 2]
    assert [p.signal for p in fused[1].contributions] == ["x"]


def test_weights_config_overrides_defaults_and_unknown_names_are_found():
    defaults = {"text": 2.0, "ocr": 1.0}
    configured = {"clip": 0.5, "ocr": 3.0, "ocrr": 1.0}
    assert weights_for(defaults, configured) == {CLIP: 0.5, "text": 2.0, "ocr": 3.0}
    assert unknown_weights(defaults, configured) == ["ocrr"]
    assert check_weight(0) is None and check_weight(2.5) is None
    for bad in (-1, 101, float("nan"), "high", True):
        assert "from 0 to 100" in check_weight(bad)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[search.weights]\ntext = "high"\n', "search.weights.text must be a number from 0"),
        ("[search.weights]\nclip = -2\n", "search.weights.clip must be a number from 0"),
        ("[search]\nweight = 1\n", "must hold only a [search.weights] table"),
        ("[search]\nweights = 3\n", "search.weights must be a table"),
    ],
)
def test_bad_weights_in_config_get_one_line_naming_the_key(tmp_path, toml, message):
    from huisou.core.config import load_config
    from huisou.core.errors import ConfigError

    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert message in text and str(path) in text and "\n" not in text


def test_weights_in_config_are_read(tmp_path):
    from huisou.core.config import load_config

    path = tmp_path / "config.toml"
    path.write_text('threads = 2\n[search.weights]\nclip = 1.5\ntext = 0\nocr_text = 3\n')
    config = load_config(path)
    assert config.search_weights == {"clip": 1.5, "text": 0.0, "ocr_text": 3.0}
    assert config.threads == 2


# -- the text signal's match quality --------------------------------------------------------


def _kind(query: str, value: str) -> str | None:
    from huisou.plugins.text_signal.matching import quality, query_words

    found = quality(query_words(query), value)
    return found.kind if found else None


@pytest.mark.parametrize(
    ("query", "value", "kind"),
    [
        ("red circle", "red-circle", "exact"),
        ("IMG 2041", "IMG_2041", "exact"),
        ("img2041", "IMG_2041", "exact"),
        ("红色圆圈", "红色圆圈", "exact"),
        ("red circle", "big red circle 2", "phrase"),
        ("发票", "增值税发票 No.123", "phrase"),
        ("beach", "2019beach", "phrase"),
        ("circle red", "red_circle_3", "words"),
        ("circ", "red-circle", "prefix"),
        ("invo", "Invoice 2023", "prefix"),
        ("quarterly tax returns", "tax returns 2023", "partial"),
        ("old quarterly tax returns", "quarterly tax 2023", None),
        ("a big red circle", "red circle", "partial"),
        ("cat", "Vacation 2019", None),
        ("red circle", "red-square", None),
        ("a", "a photo", "phrase"),
    ],
)
def test_text_match_kinds(query, value, kind):
    assert _kind(query, value) == kind


def test_better_matches_score_higher():
    from huisou.plugins.text_signal.matching import quality, query_words

    terms = query_words("red circle")
    order = ["red circle", "red circle 2", "a red circle on a big page", "circle, red",
             "redder circles"]
    scores = [quality(terms, value).score for value in order]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    three = query_words("red circle blue square")
    full, most = quality(three, "red circle, blue square 2"), quality(three, "red circle blue")
    assert full.score > most.score and most.kind == "partial"
    assert quality(three, "red circle") is None  # 2 of 4 words: not more than half


def test_snippet_shows_the_match_in_a_long_text():
    from huisou.plugins.text_signal.matching import snippet

    text = "x" * 100 + " 增值税发票 " + "y" * 100
    shown = snippet(["发票"], text)
    assert "增值税发票" in shown and shown.startswith("…") and shown.endswith("…")
    assert len(shown) < 70


def test_a_signal_match_lifts_clips_verdict_but_unjudged_stays_unknown():
    from huisou.core.fusion import Contribution
    from huisou.core.search import _with_signals

    clip = Contribution(CLIP, 9, 0.1, 1.0)
    best, later = Contribution("text", 1, 4.9, 2.0), Contribution("text", 3, 1.2, 2.0)
    assert _with_signals("low", (clip, best)) == "high"
    assert _with_signals("low", (clip, later)) == "medium"
    assert _with_signals("high", (clip, later)) == "high"
    assert _with_signals("low", (clip,)) == "low"  # no signal: CLIP's verdict
    assert _with_signals(None, (clip, best)) is None  # nothing judged (tiny library)
    off = Contribution("text", 1, 4.9, 0.0)
    assert _with_signals("low", (clip, off)) == "low"
