"""Text in photos: OCR gated by CLIP, stored as fields, searched as a signal (built-in plugin).

What it registers:

- the fields ``ocr_text`` (full text), ``ocr_lines`` (JSON with confidences and boxes) and
  ``ocr_status`` (see :data:`.extractor.FIELDS`), always, so a library's OCR text stays
  typed, filterable (``--where 'ocr_text ~ 发票'``) and shown without the extra;
- the ``ocr`` search signal (:mod:`.signal`), always: it reads the catalog only;
- the extractor (:mod:`.extractor`) only when ``huisou[ocr]`` (RapidOCR) is installed;
  without it the first index run says once how to install it.

Importing this module imports neither RapidOCR nor ONNX Runtime (``huisou --help`` stays
light): the engine loads its models on the first photo it reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from huisou import hookimpl

from .engine import INSTALL_HINT, rapidocr_version
from .extractor import FIELDS, OcrExtractor
from .signal import OcrSignal

log = logging.getLogger(__name__)
#: Created on the first ``register_metadata_extractors``: one engine (and its models) per
#: process, whatever the number of runs.
_extractor: OcrExtractor | None = None
_told = False


@hookimpl
def register_fields(register: Callable[..., None]) -> None:
    for name, type_, description, fulltext in FIELDS:
        register(name, type_, description, fulltext=fulltext)


@hookimpl
def register_search_signals(register: Callable[..., None]) -> None:
    register(OcrSignal())


@hookimpl
def register_metadata_extractors(register: Callable[..., None]) -> None:
    global _extractor
    if rapidocr_version() is None:
        return
    if _extractor is None:
        _extractor = OcrExtractor()
    register(_extractor)


@hookimpl
def before_index(run: Any) -> None:
    """Say once per process how to enable OCR when it is missing and wanted."""
    global _told
    if _told or rapidocr_version() is not None or getattr(run.config, "ocr", "auto") == "off":
        return
    _told = True
    log.warning("text in photos is not read (OCR is not installed): %s, then "
                "`huisou index` reads the photos already indexed; `--ocr off` hides this",
                INSTALL_HINT)


@hookimpl
def after_index(run: Any) -> None:
    if _extractor is not None:
        _extractor.end_run()
