#!/usr/bin/env python3
"""Make ``tests/models/cn_clip_deploy/``: a tiny Chinese-CLIP exported as upstream deploys it.

Needs torch, cn_clip, onnx and onnxmltools (dev only; see tests/models/README.md)::

    /tmp/torch-venv/bin/python scripts/make_cn_clip_test_model.py

cn_clip's own ``CLIP`` class with a tiny config (224 px, patch 32, so ``image_transform(224)``
runs as for ViT-B/16) and random weights (fixed seed), exported *exactly* as
``cn_clip/deploy/pytorch_to_onnx.py`` does: ``torch.onnx.export(model, (None, text))`` /
``(image, None)``, input names ``text``/``image``, outputs ``unnorm_*_features``, opset 13
(14 for the vision tower where current torch needs it), vision ``do_constant_folding=False``
and *no* ``dynamic_axes`` (the batch is fixed at 1, as in the published ViT-B/16 files); then
``onnxconverter_common`` (what onnxmltools now points to) ``convert_float_to_float16(keep_io_types=True, disable_shape_infer=True)`` saved
with ``PREFIX.onnx.extra_file`` external data. Beside them: cn_clip's ``vocab.txt``.

``tests/models/cn_clip_deploy_reference.json`` holds what cn_clip itself computes: image
vectors via ``image_transform(224)`` on ``Image.open(path)``, text vectors and token ids via
``clip.tokenize(..., context_length=52)``, and the cosine of every (photo, query) pair.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "models" / "cn_clip_deploy"
REFERENCE = REPO / "tests" / "models" / "cn_clip_deploy_reference.json"
PHOTOS = REPO / "tests" / "data" / "natural"
PREFIX = "tiny-cn"
SEED = 20261202

INFO: dict[str, Any] = {
    "embed_dim": 32,
    "image_resolution": 224,
    "vision_layers": 2,
    "vision_width": 64,
    "vision_patch_size": 32,
    "vision_head_width": 32,
    "vocab_size": 21128,
    "text_attention_probs_dropout_prob": 0.0,
    "text_hidden_act": "gelu",
    "text_hidden_dropout_prob": 0.0,
    "text_hidden_size": 32,
    "text_initializer_range": 0.02,
    "text_intermediate_size": 64,
    "text_max_position_embeddings": 64,
    "text_num_attention_heads": 2,
    "text_num_hidden_layers": 2,
    "text_type_vocab_size": 2,
}

#: Queries the parity test replays: Chinese, English, mixed, full-width, emoji, over-long.
QUERIES: dict[str, list[str]] = {
    "zh": ["一朵花的照片", "木桌上的一杯咖啡", "美丽的夜空有星星", "我的身份证", "一只猫"],
    "en": ["a photo of a flower", "a cup of coffee", "A Cat On A Sofa!", "café naïve résumé"],
    "mixed": ["一只cat在草地上", "iPhone拍的日落", "2024年的birthday蛋糕"],
    "fullwidth": ["ＡＢＣ　全角字符", "（括号）和，标点。", "ｃｏｆｆｅｅ　杯"],
    "emoji": ["🌸花🐱", "生日快乐🎂🎉", "😀 smile"],
    "long": ["很长的描述" * 30, "a very long english description " * 12,
             "中文and English混合" * 20],
}


def real_info(arch: str) -> dict[str, Any]:
    """cn_clip's own config of a released architecture (``ViT-B-16`` = ViT-B/16 +
    RoBERTa-wwm-ext-base-chinese), as ``cn_clip.clip.utils.create_model`` reads it."""
    from cn_clip.clip import utils

    vision, text = utils._MODEL_INFO[arch]["struct"].split("@")
    configs = Path(utils.__file__).parent / "model_configs"
    info: dict[str, Any] = {}
    for part in (vision, text):
        info.update(json.loads((configs / f"{part.replace('/', '-')}.json").read_text()))
    info["image_resolution"] = utils._MODEL_INFO[arch]["input_resolution"]
    return info


def build_model(info: dict[str, Any] | None = None) -> Any:
    import torch
    from cn_clip.clip.model import CLIP

    torch.manual_seed(SEED)
    model = CLIP(**(info or INFO)).float().eval()
    if info is not None:  # a real architecture for benchmarks: its own random init
        return model
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():  # larger random weights so that embeddings depend on the input
        for p in model.parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * (1.5 / p[0].numel() ** 0.5))
    return model


def export_like_deploy_script(model: Any, out: Path, prefix: str = PREFIX,
                              resolution: int = INFO["image_resolution"],
                              fp16: bool = True) -> None:
    """``cn_clip/deploy/pytorch_to_onnx.py``, argument for argument."""
    import cn_clip.clip as clip
    import torch
    from cn_clip.clip.utils import image_transform
    from onnx import load_model, save_model
    from onnxconverter_common.float16 import convert_float_to_float16
    from PIL import Image

    image = image_transform(resolution)(Image.new("RGB", (resolution, resolution))).unsqueeze(0)
    text = clip.tokenize([""], context_length=52)
    prefix = out / prefix
    txt32 = f"{prefix}.txt.fp32.onnx"
    torch.onnx.export(model, (None, text), txt32, input_names=["text"],
                      output_names=["unnorm_text_features"], export_params=True,
                      opset_version=13, dynamo=False)
    img32 = f"{prefix}.img.fp32.onnx"
    for opset in (13, 14):
        try:
            torch.onnx.export(model, (image, None), img32, input_names=["image"],
                              output_names=["unnorm_image_features"], export_params=True,
                              do_constant_folding=False, opset_version=opset, dynamo=False)
            break
        except Exception as exc:  # torch's exporter: unflatten needs opset 14 today
            print(f"vision export at opset {opset} failed: {exc}")
    pairs = ((txt32, f"{prefix}.txt.fp16.onnx"), (img32, f"{prefix}.img.fp16.onnx"))
    for fp32, half in pairs if fp16 else ():
        converted = convert_float_to_float16(load_model(fp32), keep_io_types=True,
                                             disable_shape_infer=True)
        save_model(converted, half, location=f"{Path(half).name}.extra_file",
                   save_as_external_data=True, all_tensors_to_one_file=True,
                   size_threshold=1024, convert_attribute=True)


def reference(model: Any) -> dict[str, Any]:
    import cn_clip.clip as clip
    import torch
    from cn_clip.clip.utils import image_transform
    from PIL import Image

    transform = image_transform(INFO["image_resolution"])
    photos = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    queries = [q for group in QUERIES.values() for q in group]
    with torch.no_grad():
        images = torch.stack([transform(Image.open(p)) for p in photos])
        img = model.encode_image(images)
        tokens = clip.tokenize(queries, context_length=52)
        txt = model.encode_text(tokens)
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    cos = (txt @ img.T).numpy()
    return {
        "about": "cn_clip's own vectors and cosines for tests/models/cn_clip_deploy "
                 "(scripts/make_cn_clip_test_model.py)",
        "torch": torch.__version__,
        "photos": [p.name for p in photos],
        "groups": QUERIES,
        "queries": queries,
        "token_ids": tokens.tolist(),
        "image_vectors": img.numpy().round(7).tolist(),
        "text_vectors": txt.numpy().round(7).tolist(),
        "cosines": cos.round(7).tolist(),
    }


def main() -> None:
    import argparse

    import cn_clip

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", help="a released architecture at random weights instead "
                        "(e.g. ViT-B-16, for benchmarks; fp32 pair + vocab.txt)")
    parser.add_argument("--out", type=Path, help="where --arch writes its files")
    args = parser.parse_args()
    vocab = Path(cn_clip.__file__).parent / "clip" / "vocab.txt"
    if args.arch:
        if args.out is None:
            parser.error("--arch needs --out")
        info = real_info(args.arch)
        args.out.mkdir(parents=True, exist_ok=True)
        export_like_deploy_script(build_model(info), args.out, args.arch.lower(),
                                  info["image_resolution"], fp16=False)
        shutil.copyfile(vocab, args.out / "vocab.txt")
        return
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    model = build_model()
    export_like_deploy_script(model, OUT)
    shutil.copyfile(vocab, OUT / "vocab.txt")
    REFERENCE.write_text(json.dumps(reference(model), ensure_ascii=False) + "\n",
                         encoding="utf-8")
    for path in sorted(OUT.iterdir()):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
