"""Export open_clip checkpoints to the Immich-style ONNX model directory.

Layout written (the one ``huisou`` loads at run time, see ARCHITECTURE.md section 6)::

    OUT/config.json                      open_clip model config (embed_dim, vision_cfg, text_cfg)
    OUT/textual/model.onnx               input "text" int32 [batch, context_length]
    OUT/textual/tokenizer.json           HF tokenizers JSON equivalent to open_clip.tokenize
    OUT/textual/tokenizer_config.json    pad token "!" (id 0, as open_clip pads)
    OUT/visual/model.onnx                input "image" float32 [batch, 3, H, W]
    OUT/visual/preprocess_cfg.json       size/mode/mean/std/interpolation/resize_mode/fill_color

Both graphs output the *unnormalised* embedding as their first output, "embedding", with a
dynamic batch dimension. The towers are separate files so that the indexer only loads the image
tower and a query only loads the text tower.

torch, open_clip and onnx are imported inside the functions: ``huisou`` itself must import (and
its tests run) without them; they come with the optional ``export`` extra.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clip_tokenizer import write_tokenizer_files

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
#: Keys of ``preprocess_cfg.json``; open_clip's ``PreprocessCfg`` has exactly these.
PREPROCESS_KEYS = ("size", "mode", "mean", "std", "interpolation", "resize_mode", "fill_color")
_PREPROCESS_DEFAULTS: dict[str, Any] = {
    "mode": "RGB",
    "mean": (0.48145466, 0.4578275, 0.40821073),  # OPENAI_DATASET_MEAN
    "std": (0.26862954, 0.26130258, 0.27577711),  # OPENAI_DATASET_STD
    "interpolation": "bicubic",
    "resize_mode": "shortest",
    "fill_color": 0,
}


class ExportError(RuntimeError):
    """The exported ONNX graph does not reproduce the torch model."""


def _require_export_deps() -> None:
    """Fail early with one clear message instead of a deep ImportError."""
    missing = []
    for name in ("torch", "open_clip", "onnx", "onnxruntime", "tokenizers"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(
            "model export needs " + ", ".join(missing) + ": pip install 'huisou[export]' "
            "(torch, open_clip_torch, onnx) in an environment of its own"
        )


def normalise_preprocess_cfg(cfg: Mapping[str, Any], image_size: Any = None) -> dict[str, Any]:
    """Complete open_clip's preprocess dict to the full ``preprocess_cfg.json`` schema.

    ``size`` is always written as ``[H, W]`` so that the runtime never has to guess whether a
    scalar means "shortest side" or "square".
    """
    out: dict[str, Any] = {}
    size = cfg.get("size", image_size)
    if size is None:
        raise ValueError("preprocess config has no image size")
    if isinstance(size, int):
        size = (size, size)
    out["size"] = [int(s) for s in size]
    for key in PREPROCESS_KEYS[1:]:
        value = cfg.get(key)
        out[key] = _PREPROCESS_DEFAULTS[key] if value is None else value
    out["mean"] = [float(v) for v in out["mean"]]
    out["std"] = [float(v) for v in out["std"]]
    if isinstance(out["fill_color"], (list, tuple)):
        out["fill_color"] = [int(v) for v in out["fill_color"]]
    return out


def _model_config_from_model(model: Any, context_length: int) -> dict[str, Any]:
    """Minimal config.json when the caller has no open_clip model config at hand."""
    visual = getattr(model, "visual", None)
    image_size = getattr(visual, "image_size", None)
    if isinstance(image_size, (tuple, list)):
        image_size = list(image_size)
    embed_dim = None
    proj = getattr(model, "text_projection", None)
    if proj is not None:
        embed_dim = int(proj.shape[-1]) if hasattr(proj, "shape") else int(proj.out_features)
    return {
        "embed_dim": embed_dim,
        "vision_cfg": {"image_size": image_size},
        "text_cfg": {
            "context_length": context_length,
            "vocab_size": int(getattr(model, "vocab_size", 49408)),
        },
    }


def _wrappers(model: Any) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Tower modules whose forward is exactly ``encode_image``/``encode_text`` (unnormalised)."""
    import torch

    class VisualTower(torch.nn.Module):
        def __init__(self, clip: Any) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_image(image, normalize=False)

    class TextualTower(torch.nn.Module):
        def __init__(self, clip: Any) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, text: torch.Tensor) -> torch.Tensor:
            # The graph takes int32 ids (what Immich feeds); embedding lookups want int64.
            return self.clip.encode_text(text.to(torch.int64), normalize=False)

    return VisualTower(model).eval(), TextualTower(model).eval()


def _export_graph(
    module: torch.nn.Module, example: torch.Tensor, input_name: str, path: Path, opset: int
) -> None:
    """One tower to ONNX with a dynamic batch axis (legacy TorchScript exporter)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    # nn.MultiheadAttention's inference "fast path" (aten::_native_multi_head_attention) has no
    # ONNX symbolic; it is taken under no_grad, so trace with autograd on and the fast path off.
    mha = getattr(torch.backends, "mha", None)
    fastpath = mha.get_fastpath_enabled() if mha else None
    if mha:
        mha.set_fastpath_enabled(False)
    try:
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[input_name],
            output_names=["embedding"],
            dynamic_axes={input_name: {0: "batch"}, "embedding": {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    finally:
        if mha:
            mha.set_fastpath_enabled(fastpath)


def _verify_graph(
    module: torch.nn.Module, path: Path, input_name: str, examples: list[torch.Tensor]
) -> float:
    """Run the ONNX file and torch on inputs of several batch sizes; return the worst cosine.

    Several batch sizes catch graphs in which the exporter baked the example batch size into
    a Reshape (the classic failure of dynamic axes with attention layers).
    """
    import numpy as np
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 1.0
    for example in examples:
        with torch.no_grad():
            expected = module(example).float().numpy()
        got = session.run(None, {input_name: example.numpy()})[0]
        if got.shape != expected.shape:
            raise ExportError(f"{path}: shape {got.shape} != torch {expected.shape}")
        a = expected / np.linalg.norm(expected, axis=-1, keepdims=True)
        b = got / np.linalg.norm(got, axis=-1, keepdims=True)
        worst = min(worst, float((a * b).sum(-1).min()))
    if worst < 0.99999:
        raise ExportError(f"{path}: ONNX output differs from torch (cosine {worst:.6f})")
    return worst


def export_open_clip(
    model: Any,
    preprocess_cfg: Mapping[str, Any],
    tokenizer_json_path_or_obj: Tokenizer | str | Path | None,
    out_dir: str | Path,
    context_length: int = 77,
    *,
    model_config: Mapping[str, Any] | None = None,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
) -> Path:
    """Write an open_clip ``CLIP``-like model (``encode_image``/``encode_text``) to ``out_dir``.

    ``tokenizer_json_path_or_obj`` is a ``tokenizers.Tokenizer``, a tokenizer.json path, or
    ``None`` for the CLIP BPE tokenizer built from open_clip's vocabulary. ``model_config`` is
    the open_clip config dict (``open_clip.get_model_config(arch)``); without it a minimal one
    is derived from the model. With ``verify`` each graph is re-run in onnxruntime at batch
    sizes 1 and 3 and compared with torch (cosine >= 0.99999) before returning.
    """
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    image_size = getattr(getattr(model, "visual", None), "image_size", None)
    pp = normalise_preprocess_cfg(preprocess_cfg, image_size)
    height, width = pp["size"]

    cfg = copy.deepcopy(dict(model_config)) if model_config else None
    if cfg is None:
        cfg = _model_config_from_model(model, context_length)
    cfg.setdefault("text_cfg", {})["context_length"] = context_length
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")

    visual, textual = _wrappers(model)
    gen = torch.Generator().manual_seed(0)
    vocab = int(cfg["text_cfg"].get("vocab_size", 49408))

    def image_batch(n: int) -> torch.Tensor:
        return torch.randn(n, 3, height, width, generator=gen)

    def text_batch(n: int) -> torch.Tensor:
        ids = torch.zeros(n, context_length, dtype=torch.int32)
        for i in range(n):
            length = int(torch.randint(3, context_length + 1, (1,), generator=gen))
            ids[i, 0] = vocab - 2
            ids[i, 1 : length - 1] = torch.randint(0, vocab - 2, (length - 2,), generator=gen)
            ids[i, length - 1] = vocab - 1
        return ids

    visual_path = out / "visual" / "model.onnx"
    textual_path = out / "textual" / "model.onnx"
    _export_graph(visual, image_batch(2), "image", visual_path, opset)
    _export_graph(textual, text_batch(2), "text", textual_path, opset)
    (out / "visual" / "preprocess_cfg.json").write_text(json.dumps(pp, indent=2) + "\n")
    write_tokenizer_files(out / "textual", context_length, tokenizer_json_path_or_obj)

    if verify:
        cos_v = _verify_graph(visual, visual_path, "image", [image_batch(1), image_batch(3)])
        cos_t = _verify_graph(textual, textual_path, "text", [text_batch(1), text_batch(3)])
        log.info("verified %s: visual cosine %.7f, textual cosine %.7f", out, cos_v, cos_t)
    return out


def load_open_clip(arch: str, pretrained: str | Path | None) -> tuple[Any, dict[str, Any], Any]:
    """``open_clip.create_model_and_transforms`` on CPU; returns (model, config, val transform).

    ``pretrained`` is a local checkpoint path (no network needed) or an open_clip tag, which
    open_clip downloads itself.
    """
    import open_clip

    model, _, preprocess_val = open_clip.create_model_and_transforms(
        arch, pretrained=str(pretrained) if pretrained else None, device="cpu"
    )
    config = open_clip.get_model_config(arch)
    if config is None:
        raise ValueError(f"unknown open_clip architecture {arch!r}")
    return model.eval(), copy.deepcopy(config), preprocess_val


def export_checkpoint(
    arch: str,
    pretrained: str | Path | None,
    out_dir: str | Path,
    *,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
) -> Path:
    """Load ``arch`` with ``pretrained`` weights through open_clip and export it to ``out_dir``.

    ``arch`` "cn_clip:ViT-B-16" (also "cn-clip:", "chinese-clip:") selects the Chinese-CLIP
    exporter; ``pretrained`` must then be a cn_clip checkpoint file.
    """
    from .cn_clip_export import CN_PREFIXES, export_cn_clip_checkpoint

    if arch.lower().startswith(CN_PREFIXES):
        if not pretrained:
            raise ValueError("Chinese-CLIP export needs --pretrained CHECKPOINT_FILE")
        return export_cn_clip_checkpoint(arch.split(":", 1)[1], pretrained, out_dir, verify=verify)
    _require_export_deps()
    import open_clip

    model, config, _ = load_open_clip(arch, pretrained)
    preprocess_cfg = open_clip.get_model_preprocess_cfg(model)
    context_length = int(config.get("text_cfg", {}).get("context_length", 77))
    tokenizer = None
    hf_tokenizer = config.get("text_cfg", {}).get("hf_tokenizer_name")
    if hf_tokenizer:
        raise NotImplementedError(
            f"{arch} uses the Hugging Face tokenizer {hf_tokenizer!r}; exporting it needs that "
            "tokenizer.json copied next to the checkpoint (not yet supported)"
        )
    return export_open_clip(
        model,
        preprocess_cfg,
        tokenizer,
        out_dir,
        context_length,
        model_config=config,
        opset=opset,
        verify=verify,
    )


def quantize_dir(model_dir: str | Path) -> None:
    """Int8 dynamic quantisation of both towers in place (weights QUInt8).

    ARCHITECTURE.md section 6: default QInt8 weights lose accuracy on image towers of CPUs
    without VNNI; QUInt8 weights kept cosine >= 0.9995. Callers must still measure recall.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = Path(model_dir)
    for tower in ("visual", "textual"):
        path = root / tower / "model.onnx"
        tmp = path.with_suffix(".int8.onnx")
        quantize_dynamic(str(path), str(tmp), weight_type=QuantType.QUInt8)
        tmp.replace(path)


def run_export(
    arch: str, pretrained: str | Path | None, out_dir: str | Path, precision: str | None = None
) -> Path:
    """Entry point for ``huisou models export``: export, then optionally quantise.

    ``precision`` is ``None``/``"fp32"`` (default) or ``"int8"`` (dynamic quantisation).
    """
    if precision not in (None, "fp32", "int8"):
        raise NotImplementedError(f"precision {precision!r}: only fp32 and int8 are supported")
    out = export_checkpoint(arch, pretrained, out_dir)
    if precision == "int8":
        quantize_dir(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m huisou.plugins.clip_search.export --arch ViT-B-32 --pretrained F --out D``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="huisou-export", description="Export an open_clip checkpoint to ONNX (Immich layout)"
    )
    parser.add_argument(
        "--arch",
        required=True,
        help="open_clip architecture (e.g. ViT-B-32), or cn_clip:NAME for Chinese-CLIP",
    )
    parser.add_argument("--pretrained", default=None, help="checkpoint file or open_clip tag")
    parser.add_argument("--out", required=True, help="output model directory")
    parser.add_argument("--precision", choices=["fp32", "int8"], default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = run_export(args.arch, args.pretrained, args.out, args.precision)
    print(out)
    return 0
