"""The CLIP gate's calibration: a model that separates text photos gets a threshold, one that
cannot (or too few photos read so far) reads everything."""

from __future__ import annotations

import random

import numpy as np
from huisou.plugins.ocr import gate


def samples(text_scores, plain_scores):
    return [(s, True) for s in text_scores] + [(s, False) for s in plain_scores]


def test_a_model_that_separates_text_photos_gets_a_threshold_keeping_them():
    rng = random.Random(1)
    text = [rng.uniform(0.05, 0.15) for _ in range(40)]
    plain = [rng.uniform(-0.15, 0.02) for _ in range(160)]
    decision = gate.decide(samples(text, plain))
    assert decision.threshold is not None
    assert decision.recall >= gate.TARGET_RECALL
    assert decision.skip_share > 0.9
    assert sum(decision.reads(s, f"/p/{i}") for i, s in enumerate(text)) >= 0.95 * len(text)


def test_a_model_blind_to_text_reads_every_photo():
    rng = random.Random(2)
    text = [rng.uniform(-0.1, 0.1) for _ in range(40)]
    plain = [rng.uniform(-0.1, 0.1) for _ in range(160)]
    decision = gate.decide(samples(text, plain))
    assert decision.threshold is None
    assert "cannot tell" in decision.reason
    assert all(decision.reads(s, "/p/x") for s in plain)


def test_too_few_photos_read_means_still_calibrating():
    decision = gate.decide(samples([0.2] * 3, [-0.2] * 100))
    assert decision.threshold is None and "calibrating" in decision.reason


def test_an_unknown_score_is_always_read():
    decision = gate.GateDecision(0.05, "gate")
    assert decision.reads(None, "/p/a")


def test_the_audit_reads_a_small_stable_share_of_skipped_photos():
    paths = [f"/photos/{i}.jpg" for i in range(4000)]
    share = sum(map(gate.audited, paths)) / len(paths)
    assert 0.03 < share < 0.07
    assert [gate.audited(p) for p in paths[:50]] == [gate.audited(p) for p in paths[:50]]


def test_gate_scores_compare_the_nearest_anchors():
    text_cos = np.array([[0.3, 0.1], [0.0, 0.1]])
    plain_cos = np.array([[0.2, 0.0], [0.25, 0.3]])
    assert np.allclose(gate.gate_scores(text_cos, plain_cos), [0.1, -0.2])


def test_a_texture_read_as_one_digit_is_not_a_text_photo():
    assert not gate.carries_text(["8"])
    assert gate.carries_text(["BRYANT"])
    assert gate.carries_text(["妈妈", "带伞"])
