"""Export open_clip checkpoints to the ONNX model directory that ``huisou`` loads.

This sub-package imports without torch: torch, open_clip and onnx are imported only inside the
functions that need them (the optional ``export`` extra), so the rest of huisou and its tests
never pay for them.
"""

from __future__ import annotations

from .clip_tokenizer import (
    EOT_ID,
    PAD_ID,
    PAD_TOKEN,
    SOT_ID,
    build_clip_tokenizer,
    tokenizer_config,
    write_tokenizer_files,
)
from .cn_clip_export import build_cn_clip_tokenizer, export_cn_clip, export_cn_clip_checkpoint
from .open_clip_export import (
    ExportError,
    export_checkpoint,
    export_open_clip,
    main,
    normalise_preprocess_cfg,
    quantize_dir,
    run_export,
)

__all__ = [
    "EOT_ID",
    "PAD_ID",
    "PAD_TOKEN",
    "SOT_ID",
    "ExportError",
    "build_clip_tokenizer",
    "build_cn_clip_tokenizer",
    "export_checkpoint",
    "export_cn_clip",
    "export_cn_clip_checkpoint",
    "export_open_clip",
    "main",
    "normalise_preprocess_cfg",
    "quantize_dir",
    "run_export",
    "tokenizer_config",
    "write_tokenizer_files",
]
