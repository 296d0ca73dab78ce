"""The CLIP gate: read only the photos whose image embedding says they carry text.

A photo's gate score is how much closer its embedding is to the nearest *text* anchor
(document, screenshot, receipt, ticket, sign, card, page, in English and Chinese) than to the
nearest *plain* anchor (landscape, animal, person, food...). The anchors are encoded once per
model and kept beside the library.

Whether a model's scores mean anything is measured, not assumed: a model that cannot read
(the toy test model, random weights) gives scores unrelated to text. So the gate calibrates
itself on the library's own photos: until enough photos have been read in full, every photo is
read; then the threshold is the score that keeps :data:`TARGET_RECALL` of the photos found to
carry text, and the gate is used only if that threshold skips at least :data:`MIN_SKIP` of the
others. Otherwise the model "cannot tell", and every photo is read: slower, never blind. A small
share of the photos below the threshold (:data:`AUDIT_SHARE`, picked by a hash of the path) is
read anyway, so the calibration keeps seeing what the gate skips.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TEXT_ANCHORS: tuple[str, ...] = (
    "a photo of a document",
    "a screenshot of a phone",
    "a photo of a receipt",
    "a photo of a ticket",
    "a photo of a sign with text",
    "a photo of an ID card",
    "a photo of a printed page",
    "a photo of handwritten notes",
    "一张文件的照片",
    "手机截图",
    "一张收据",
    "一张车票",
    "写着字的招牌",
    "证件照片",
    "书页",
)
PLAIN_ANCHORS: tuple[str, ...] = (
    "a photo of a landscape",
    "a photo of an animal",
    "a photo of a person",
    "a photo of food",
    "a photo of a building",
    "a photo of an object",
    "风景照片",
    "动物的照片",
    "人物照片",
)
TARGET_RECALL = 0.95
MIN_SKIP = 0.5
#: Margin below the calibrated threshold, in cosine units.
MARGIN = 0.01
MIN_TEXT_SAMPLES = 8
MIN_PLAIN_SAMPLES = 16
AUDIT_SHARE = 0.05
#: A photo "carries text" when its lines hold at least this many letters or digits.
TEXT_CHARS = 4


@dataclass(frozen=True)
class GateDecision:
    """``threshold`` None = read every photo; ``reason`` says why, for the run's summary."""

    threshold: float | None
    reason: str
    recall: float | None = None
    skip_share: float | None = None

    def reads(self, score: float | None, path: str) -> bool:
        """Whether a photo with this gate score (None = unknown) is read."""
        if self.threshold is None or score is None or score >= self.threshold:
            return True
        return audited(path)


def audited(path: str) -> bool:
    """A stable pseudo-random :data:`AUDIT_SHARE` of paths, read even when the gate skips."""
    digest = hashlib.blake2b(path.encode("utf-8", "surrogateescape"), digest_size=4).digest()
    return int.from_bytes(digest, "big") < AUDIT_SHARE * 2**32


def gate_scores(text_cos: Any, plain_cos: Any) -> Any:
    """Per photo: the best cosine to a text anchor minus the best to a plain anchor.

    ``text_cos``/``plain_cos`` are ``(photos, anchors)`` arrays of cosine similarities.
    """
    return text_cos.max(axis=1) - plain_cos.max(axis=1)


def carries_text(lines: Sequence[str]) -> bool:
    """Whether OCR found real text (a texture read as "8" is not a text photo)."""
    return sum(ch.isalnum() for line in lines for ch in line) >= TEXT_CHARS


def decide(samples: Sequence[tuple[float, bool]]) -> GateDecision:
    """Calibrate from ``(gate score, carries text)`` of photos read in full with this model."""
    text = sorted(score for score, has_text in samples if has_text)
    plain = [score for score, has_text in samples if not has_text]
    if len(text) < MIN_TEXT_SAMPLES or len(plain) < MIN_PLAIN_SAMPLES:
        return GateDecision(
            None,
            f"calibrating: {len(text)} photos with text and {len(plain)} without read so far "
            f"(needs {MIN_TEXT_SAMPLES} and {MIN_PLAIN_SAMPLES}); reading every photo",
        )
    missed = math.floor((1 - TARGET_RECALL) * len(text))
    threshold = text[missed] - MARGIN
    recall = sum(score >= threshold for score in text) / len(text)
    skip = sum(score < threshold for score in plain) / len(plain)
    if skip < MIN_SKIP:
        return GateDecision(
            None,
            f"this model cannot tell photos with text apart: keeping {recall:.0%} of them "
            f"would skip only {skip:.0%} of the others; reading every photo",
            recall,
            skip,
        )
    return GateDecision(
        threshold,
        f"gate {threshold:+.3f}: keeps {recall:.0%} of {len(text)} photos with text, "
        f"skips {skip:.0%} of {len(plain)} without",
        recall,
        skip,
    )
