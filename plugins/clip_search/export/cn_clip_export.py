"""Export Chinese-CLIP (``cn_clip``) checkpoints to the same ONNX model directory layout.

Why: SmartSearch used Chinese-CLIP ViT-B/16, and Chinese queries must work with at least one
model (ARCHITECTURE.md section 6). Chinese-CLIP differs from open_clip in three ways the runtime
must know about, so they are written into the directory rather than assumed:

* text: a BERT (RoBERTa-wwm-ext) encoder with WordPiece ids, ``[CLS]`` = 101 first, ``[SEP]`` =
  102 last, ``[PAD]`` = 0 padding, context length 52; the graph derives its attention mask from
  ``ids != 0`` and pools ``[CLS]``, so zero padding is *required* (``pad_token`` "[PAD]");
* images: ``Resize((N, N))`` - a squash, not shortest-side + centre crop (``resize_mode``
  "squash" in preprocess_cfg.json), with OpenAI's mean/std;
* ``config.json`` is open_clip-shaped (``embed_dim``, ``vision_cfg.image_size``,
  ``text_cfg.context_length``/``vocab_size``) so the loader needs no special case, with the
  original cn_clip config kept under ``"cn_clip"``.

torch and cn_clip are imported inside functions only (the optional export extra).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .open_clip_export import DEFAULT_OPSET, _export_graph, _require_export_deps, _verify_graph

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

CN_CONTEXT_LENGTH = 52
CN_PAD_TOKEN, CN_PAD_ID = "[PAD]", 0
CN_CLS_TOKEN, CN_CLS_ID = "[CLS]", 101
CN_SEP_TOKEN, CN_SEP_ID = "[SEP]", 102
CN_UNK_TOKEN = "[UNK]"
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
#: Arch prefixes that select this exporter in :func:`run_export`.
CN_PREFIXES = ("cn_clip:", "cn-clip:", "chinese-clip:")


def find_cn_clip_vocab() -> Path:
    """cn_clip's bundled ``vocab.txt`` (21,128 WordPiece entries), without importing torch."""
    spec = importlib.util.find_spec("cn_clip")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("cn_clip is not installed (pip install cn_clip --no-deps)")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "clip" / "vocab.txt"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("vocab.txt not found in the cn_clip package")


def build_cn_clip_tokenizer(
    vocab_path: str | Path | None = None, context_length: int = CN_CONTEXT_LENGTH
) -> Tokenizer:
    """``tokenizers`` equivalent of ``cn_clip.clip.tokenize`` (BERT basic + WordPiece).

    cn_clip's ``FullTokenizer``: clean control characters, put spaces around CJK ideographs,
    lower-case and strip accents, split on punctuation, WordPiece with "##" continuations and
    words over 200 characters as [UNK]; then ``[CLS] ids[:context_length-2] [SEP]``, zero padded.
    The special tokens are not registered as added tokens: cn_clip also splits a typed "[CLS]".
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    path = Path(vocab_path) if vocab_path else find_cn_clip_vocab()
    # As BERT's load_vocab: the id is the line number, a repeated token keeps its last line.
    vocab: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for index, line in enumerate(fh):
            vocab[line.strip()] = index
    if vocab.get(CN_CLS_TOKEN) != CN_CLS_ID or vocab.get(CN_PAD_TOKEN) != CN_PAD_ID:
        raise ValueError(f"{path} is not a Chinese-CLIP/BERT vocabulary")
    tok = Tokenizer(models.WordPiece(vocab, unk_token=CN_UNK_TOKEN, max_input_chars_per_word=200))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = TemplateProcessing(
        single=f"{CN_CLS_TOKEN} $A {CN_SEP_TOKEN}",
        pair=f"{CN_CLS_TOKEN} $A {CN_SEP_TOKEN} $B {CN_SEP_TOKEN}",
        special_tokens=[(CN_CLS_TOKEN, CN_CLS_ID), (CN_SEP_TOKEN, CN_SEP_ID)],
    )
    tok.decoder = decoders.WordPiece()
    tok.enable_truncation(max_length=context_length)
    tok.enable_padding(length=context_length, pad_id=CN_PAD_ID, pad_token=CN_PAD_TOKEN)
    return tok


def cn_tokenizer_config(context_length: int = CN_CONTEXT_LENGTH) -> dict[str, Any]:
    """``tokenizer_config.json`` for Chinese-CLIP (HF BertTokenizer keys + explicit pad id)."""
    return {
        "tokenizer_class": "BertTokenizer",
        "model_max_length": context_length,
        "cls_token": CN_CLS_TOKEN,
        "sep_token": CN_SEP_TOKEN,
        "unk_token": CN_UNK_TOKEN,
        "pad_token": CN_PAD_TOKEN,
        "pad_token_id": CN_PAD_ID,
        "do_lower_case": True,
        "tokenize_chinese_chars": True,
    }


def _cn_wrappers(model: Any) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Towers whose forward is cn_clip's ``encode_image``/``encode_text`` (unnormalised)."""
    import torch

    class VisualTower(torch.nn.Module):
        def __init__(self, clip: Any) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_image(image)

        # cn_clip casts inputs to the weights' dtype; the export is float32 throughout.

    class TextualTower(torch.nn.Module):
        def __init__(self, clip: Any) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, text: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_text(text.to(torch.int64))

    return VisualTower(model).eval(), TextualTower(model).eval()


def export_cn_clip(
    model: Any,
    model_info: dict[str, Any],
    out_dir: str | Path,
    *,
    context_length: int = CN_CONTEXT_LENGTH,
    vocab_path: str | Path | None = None,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
) -> Path:
    """Write a cn_clip ``CLIP`` model (float32) and its tokenizer to ``out_dir``."""
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.float().eval()
    size = int(model_info["image_resolution"])
    vocab_size = int(model_info["vocab_size"])
    config = {
        "embed_dim": int(model_info["embed_dim"]),
        "vision_cfg": {
            "image_size": size,
            "layers": model_info["vision_layers"],
            "width": model_info["vision_width"],
            "patch_size": model_info.get("vision_patch_size"),
        },
        "text_cfg": {
            "context_length": context_length,
            "vocab_size": vocab_size,
            "width": model_info["text_hidden_size"],
            "heads": model_info["text_num_attention_heads"],
            "layers": model_info["text_num_hidden_layers"],
            "tokenizer": "bert-wordpiece",
            "pad_id": CN_PAD_ID,
        },
        "model_family": "cn_clip",
        "cn_clip": model_info,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    pp = {
        "size": [size, size],
        "mode": "RGB",
        "mean": OPENAI_MEAN,
        "std": OPENAI_STD,
        "interpolation": "bicubic",
        "resize_mode": "squash",
        "fill_color": 0,
    }
    visual, textual = _cn_wrappers(model)
    gen = torch.Generator().manual_seed(0)

    def image_batch(n: int) -> torch.Tensor:
        return torch.randn(n, 3, size, size, generator=gen)

    def text_batch(n: int) -> torch.Tensor:
        ids = torch.zeros(n, context_length, dtype=torch.int32)
        for i in range(n):
            length = int(torch.randint(3, context_length + 1, (1,), generator=gen))
            ids[i, 0] = CN_CLS_ID
            ids[i, 1 : length - 1] = torch.randint(103, vocab_size, (length - 2,), generator=gen)
            ids[i, length - 1] = CN_SEP_ID
        return ids

    visual_path = out / "visual" / "model.onnx"
    textual_path = out / "textual" / "model.onnx"
    _export_graph(visual, image_batch(2), "image", visual_path, opset)
    _export_graph(textual, text_batch(2), "text", textual_path, opset)
    (out / "visual" / "preprocess_cfg.json").write_text(json.dumps(pp, indent=2) + "\n")
    tok = build_cn_clip_tokenizer(vocab_path, context_length)
    tok.save(str(out / "textual" / "tokenizer.json"), pretty=False)
    (out / "textual" / "tokenizer_config.json").write_text(
        json.dumps(cn_tokenizer_config(context_length), indent=2) + "\n"
    )
    if verify:
        cos_v = _verify_graph(visual, visual_path, "image", [image_batch(1), image_batch(3)])
        cos_t = _verify_graph(textual, textual_path, "text", [text_batch(1), text_batch(3)])
        log.info("verified %s: visual cosine %.7f, textual cosine %.7f", out, cos_v, cos_t)
    return out


def export_cn_clip_checkpoint(
    name: str, checkpoint: str | Path, out_dir: str | Path, *, verify: bool = True
) -> Path:
    """Export a Chinese-CLIP checkpoint file (``name`` e.g. "ViT-B-16", as cn_clip names them)."""
    _require_export_deps()
    try:
        import torch
        from cn_clip.clip import utils as cn_utils
    except ImportError as exc:
        raise ImportError(
            "Chinese-CLIP export needs the cn_clip package: pip install cn_clip "
            "(its training-only lmdb pin can be skipped with --no-deps plus six, timm)"
        ) from exc
    info = cn_utils._MODEL_INFO.get(name)
    if info is None:
        raise ValueError(
            f"unknown Chinese-CLIP model {name!r}; known: {list(cn_utils._MODEL_INFO)}"
        )
    vision, text = info["struct"].split("@")
    configs = Path(cn_utils.__file__).parent / "model_configs"
    model_info: dict[str, Any] = {}
    for part in (vision, text):
        model_info.update(json.loads((configs / f"{part.replace('/', '-')}.json").read_text()))
    if isinstance(model_info["vision_layers"], str):  # RN50 stores a tuple as a string
        model_info["vision_layers"] = json.loads(
            model_info["vision_layers"].replace("(", "[").replace(")", "]")
        )
    model_info["image_resolution"] = info["input_resolution"]
    with open(checkpoint, "rb") as fh:
        state = torch.load(fh, map_location="cpu", weights_only=False)
    model = cn_utils.create_model(info["struct"], state)
    return export_cn_clip(model, model_info, out_dir, verify=verify)
