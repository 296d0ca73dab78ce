"""The OCR extractor: reads the text of a photo from the image the indexer already decoded.

It runs after its photo's batch is embedded (``extract_image`` gets the vector), so the CLIP
gate (:mod:`.gate`, :mod:`.calibration`) decides from the photo's embedding whether OCR is
worth its cost. Everything it learns is a field value (see :data:`FIELDS`), so the catalog
keeps it, ``--where`` filters on it and ``info`` shows it; a photo OCR cannot read gets the
reason in ``ocr_status`` and is indexed as usual.

Resumable and incremental come from the indexer's extractor versions: photos indexed before
this plugin was installed (or with ``--ocr off``) are read on the next run without being
embedded again, and :attr:`OcrExtractor.version` changes with the OCR models, the engine's
settings and :data:`PLUGIN_VERSION`, so any of them changing reads every photo again.
"""

from __future__ import annotations

import json
from typing import Any

from huisou.core.fields import MAX_TEXT_CHARS
from huisou.core.interfaces import DecodedImage, IndexRun, MediaItem, MetadataExtractor

from . import gate
from .calibration import GateState
from .engine import DEFAULT_MAX_SIDE, Line, OcrEngine, OcrFailed

#: Bump when what the extractor stores changes (fields, their format, the gate's rule).
PLUGIN_VERSION = "1"
#: The modes of ``--ocr`` / the ``ocr`` config key.
MODES = ("auto", "all", "off")

#: ``(name, type, description, fulltext)`` of the fields this plugin fills.
FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    ("ocr_text", "text", "Text read in the photo (OCR), one line per printed line", True),
    ("ocr_lines", "text",
     "The OCR lines as JSON: [[text, confidence 0-1, [x1, y1, ... x4, y4]], ...], corners as "
     "fractions of the width and height", False),
    ("ocr_status", "text",
     "What OCR did with the photo: read, no text, skipped by the gate, or failed and why", False),
)


class OcrExtractor(MetadataExtractor):
    """``ocr_text``/``ocr_lines``/``ocr_status`` from the decoded image, gated by CLIP."""

    name = "ocr"
    #: Smallest side of the decoded image: a 4:3 photo then reaches the detector's long side
    #: (:data:`~.engine.DEFAULT_MAX_SIDE`) without enlarging; a wider one is reduced to it.
    image_size = DEFAULT_MAX_SIDE * 3 // 4

    def __init__(self, engine: OcrEngine | None = None) -> None:
        self.engine = engine or OcrEngine()
        self.version = f"{PLUGIN_VERSION}/{self.engine.version}"
        self.mode = "auto"
        self.state: GateState | None = None

    def start_run(self, run: IndexRun) -> bool:
        """Take the run's mode (config ``ocr``, ``huisou index --ocr``); in ``auto`` mode
        load or make the gate's state for the run's model."""
        mode = getattr(run.config, "ocr", "auto")
        self.mode = mode if mode in MODES else "auto"
        self.state = None
        if self.mode == "off":
            return False
        if self.mode == "auto" and run.backend is not None:
            self.state = GateState.load(run.db_path, run.backend)
        return True

    def end_run(self) -> None:
        """Keep what the gate learnt for the next run (the plugin's ``after_index``)."""
        if self.state is not None:
            self.state.save()

    def extract_image(
        self, item: MediaItem, decoded: DecodedImage, vector: Any
    ) -> dict[str, Any]:
        state = self.state
        score = state.score(vector) if state is not None else None
        if state is not None:
            decision = state.decision()
            if not decision.reads(score, item.path):
                return {"ocr_status": f"skipped: the image model sees no text (gate score "
                                      f"{score:+.3f} < {decision.threshold:+.3f})"}
        try:
            lines = self.engine.read(decoded.image)
        except OcrFailed as exc:
            return {"ocr_status": f"failed: {exc}"}
        texts = [line.text for line in lines]
        if state is not None:
            state.add(score, gate.carries_text(texts))
        return values_of(lines)


def values_of(lines: list[Line]) -> dict[str, Any]:
    """The field values of a photo's recognised lines, within the field size limit (the last
    lines are dropped past it: a page of small print, not a photo's words)."""
    if not lines:
        return {"ocr_status": "read: no text found"}
    for count in range(len(lines), 0, -1):
        kept = lines[:count]
        text = "\n".join(line.text for line in kept)
        shown = json.dumps(
            [[line.text, line.confidence, [c for point in line.box for c in point]]
             for line in kept],
            ensure_ascii=False, separators=(",", ":"),
        )
        if len(text) <= MAX_TEXT_CHARS and len(shown) <= MAX_TEXT_CHARS:
            dropped = len(lines) - count
            status = f"read: {count} lines" + (f" ({dropped} more not kept)" if dropped else "")
            return {"ocr_text": text, "ocr_lines": shown, "ocr_status": status}
    return {"ocr_status": "failed: every recognised line is longer than a field may hold"}
