#!/usr/bin/env python3
"""Regenerate the small CLIP models under ``tests/models/`` (needs torch + open_clip).

Run with the torch environment, from anywhere::

    /work/venv-torch/bin/python scripts/make_test_models.py            # both models
    /work/venv-torch/bin/python scripts/make_test_models.py --only tiny
    /work/venv-torch/bin/python scripts/make_test_models.py --only toy --train-steps 2500

Why the repo makes its own models (ARCHITECTURE.md section 7): tests may not download anything.

* ``tests/models/tiny_clip/`` - open_clip's real CLIP classes with a tiny config and random
  weights (fixed seed), exported with huisou's export tool, plus
  ``tests/models/tiny_clip_reference.json``: torch embeddings (L2-normalised float32) of the
  photos in ``tests/data/natural/`` (open_clip's own eval transform) and of their English captions
  (``open_clip.tokenize``). The ONNX pipeline must reproduce them (tests/test_export_parity.py).
* ``tests/models/toy_shapes/`` - a tiny CLIP trained for a few minutes on generated coloured
  shapes (tests/models/shapes.py) with the real CLIP tokenizer, so end-to-end tests can check
  that "red circle" finds red circles.

The script fails (exit status 1) if the tokenizer.json disagrees with ``open_clip.tokenize`` on
any check string, if an exported graph disagrees with torch, or if the toy model's top-1
retrieval over held-out pictures is below 90%.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "tests" / "models"
DATA = REPO / "tests" / "data"
SHARED_TESTDATA = Path(os.environ.get("HUISOU_SHARED_TESTDATA", "/work/shared/testdata"))

TINY_SEED = 20261127
TOY_SEED = 7
#: open_clip config of the tiny real-architecture model. Text width 24: the 49,408 x width token
#: embedding dominates the file size (4.7 MB here, under the repository's 5 MB per-file limit),
#: and the full vocabulary is kept so that the real CLIP tokenizer works.
TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 24, "heads": 2, "layers": 2},
}
#: Toy semantic model: 32 px pictures, text width 16 (3.2 MB of token embedding).
TOY_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 2},
}


def export_fresh(model: Any, name: str, folder: str) -> Path:
    """Export ``model`` (open_clip config ``name``) to ``tests/models/<folder>``, replacing it."""
    import open_clip

    out = MODELS / folder
    if out.exists():
        shutil.rmtree(out)
    export.export_open_clip(
        model,
        open_clip.get_model_preprocess_cfg(model),
        None,
        out,
        77,
        model_config=open_clip.get_model_config(name),
    )
    log(f"exported {out}")
    return out


def _load_module(name: str, path: Path, package: bool = False) -> Any:
    """Import a file or package by path, without running huisou's own ``__init__`` chain.

    The torch environment need not have huisou's runtime dependencies installed; the export
    sub-package and the shapes generator only need the standard library at import time.
    """
    if package:
        spec = importlib.util.spec_from_file_location(
            name, path / "__init__.py", submodule_search_locations=[str(path)]
        )
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


export = _load_module("huisou_export", REPO / "plugins" / "clip_search" / "export", package=True)
shapes = _load_module("huisou_test_shapes", MODELS / "shapes.py")


def log(msg: str) -> None:
    """Progress on stderr with a timestamp (the toy training takes minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- test data


def copy_test_data() -> None:
    """Copy the natural photos, MANIFEST.md and LICENSES/ into tests/data (only if missing)."""
    src_nat = SHARED_TESTDATA / "natural"
    dst_nat = DATA / "natural"
    if not dst_nat.exists():
        if not src_nat.is_dir():
            raise SystemExit(f"no test photos: {dst_nat} and {src_nat} are both missing")
        shutil.copytree(src_nat, dst_nat)
        for p in dst_nat.rglob("*"):
            p.chmod(0o644)
        dst_nat.chmod(0o755)
        log(f"copied {src_nat} -> {dst_nat}")
    for name in ("MANIFEST.md", "LICENSES"):
        src, dst = SHARED_TESTDATA / name, DATA / name
        if dst.exists() or not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, dst)
            for p in dst.rglob("*"):
                p.chmod(0o644)
            dst.chmod(0o755)
        else:
            shutil.copyfile(src, dst)
        log(f"copied {src} -> {dst}")


def natural_photos() -> tuple[list[Path], dict[str, Any]]:
    """Photos (sorted by name) and captions.json of tests/data/natural."""
    captions = json.loads((DATA / "natural" / "captions.json").read_text(encoding="utf-8"))
    photos = sorted(DATA / "natural" / name for name in captions)
    return photos, captions


# --------------------------------------------------------------------------- tokenizer


def check_tokenizer(extra: list[str]) -> None:
    """Token-for-token equality of the generated tokenizer.json with ``open_clip.tokenize``."""
    import open_clip

    tok = export.build_clip_tokenizer()
    strings = list(export.clip_tokenizer.PARITY_STRINGS) + extra
    bad = []
    for text in strings:
        want = open_clip.tokenize([text])[0].tolist()
        got = tok.encode(text).ids
        if want != got:
            bad.append((text, want, got))
    for text, want, got in bad:
        log(f"TOKENIZER MISMATCH {text[:60]!r}\n  open_clip {want}\n  ours      {got}")
    if bad:
        raise SystemExit(f"tokenizer.json disagrees with open_clip.tokenize on {len(bad)} strings")
    log(f"tokenizer: {len(strings)} strings identical to open_clip.tokenize")


# --------------------------------------------------------------------------- models


def create_model(name: str, config: dict[str, Any], seed: int) -> tuple[Any, Any]:
    """Build an open_clip model from ``config`` through the normal factory (random weights)."""
    import open_clip
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.json"
        path.write_text(json.dumps(config))
        open_clip.add_model_config(path)
    torch.manual_seed(seed)
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None)
    return model.eval(), preprocess


def load_photo(path: Path) -> Any:
    """Decode a photo as every real pipeline does before open_clip's transform.

    EXIF orientation applied, then converted to RGB: open_clip's training loaders decode to RGB
    ("pilrgb") before the transform, and resizing RGBA/P images before conversion differs
    (Pillow premultiplies alpha and resizes palette images with NEAREST).
    """
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _trim(ids: list[int]) -> list[int]:
    """Token ids up to and including the first end-of-text id."""
    return ids[: ids.index(export.EOT_ID) + 1]


def make_tiny() -> None:
    """tests/models/tiny_clip/ + tiny_clip_reference.json."""
    import numpy as np
    import open_clip
    import torch

    name = "huisou-tiny-clip"
    model, preprocess = create_model(name, TINY_CONFIG, TINY_SEED)
    # open_clip's init (std 0.01-0.02) leaves a random tower almost constant: every photo gets
    # nearly the same embedding, and a parity test could then pass with wrong preprocessing.
    # Larger random weights make the embedding sensitive to every pixel and token.
    gen = torch.Generator().manual_seed(TINY_SEED)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.ndim >= 2 and "embedding" not in pname:
                fan_in = p[0].numel() if p.ndim > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=gen) * (1.5 / fan_in**0.5))
            elif "token_embedding" in pname or "positional_embedding" in pname:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    export_fresh(model, name, "tiny_clip")

    photos, captions = natural_photos()
    images = torch.stack([preprocess(load_photo(p)) for p in photos])
    texts = [c for p in photos for c in captions[p.name]["en"]]
    token_texts = texts + [v["zh"] for v in captions.values()]
    token_texts += list(export.clip_tokenizer.PARITY_STRINGS)
    with torch.no_grad():
        img_emb = model.encode_image(images, normalize=True).float().numpy()
        txt_emb = model.encode_text(open_clip.tokenize(texts), normalize=True).float().numpy()
    sims = img_emb @ img_emb.T
    off = sims[~np.eye(len(photos), dtype=bool)]
    log(f"tiny_clip: photo-photo cosine max {off.max():.4f} mean {off.mean():.4f}")
    tsims = txt_emb @ txt_emb.T
    toff = tsims[~np.eye(len(texts), dtype=bool)]
    log(f"tiny_clip: caption-caption cosine max {toff.max():.4f} mean {toff.mean():.4f}")
    reference = {
        "about": (
            "torch reference embeddings (L2-normalised float32) of tests/models/tiny_clip, "
            "made by scripts/make_test_models.py: photo = ImageOps.exif_transpose(Image.open(f))"
            ".convert('RGB') -> open_clip eval transform -> encode_image; text = "
            "open_clip.tokenize -> encode_text"
        ),
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
        "images": {p.name: [float(v) for v in e] for p, e in zip(photos, img_emb, strict=True)},
        # open_clip.tokenize ids up to and including EOT (the rest is zero padding), so the
        # torch-free test can check the tokenizer.json token for token.
        "token_ids": {t: _trim(open_clip.tokenize([t])[0].tolist()) for t in token_texts},
        "texts": {t: [float(v) for v in e] for t, e in zip(texts, txt_emb, strict=True)},
    }
    ref_path = MODELS / "tiny_clip_reference.json"
    ref_path.write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
    log(f"wrote {ref_path}")


def _toy_batch_data(n_per_class: int, seed: int, preprocess: Any) -> tuple[Any, Any]:
    """Preprocessed shape pictures (open_clip eval transform) and class indices."""
    import torch

    classes = shapes.all_classes()
    images, labels = [], []
    for k, (color, shape) in enumerate(classes):
        for i in range(n_per_class):
            img = shapes.make_shape_image(color, shape, 96, seed * 1_000_003 + k * 10_007 + i)
            images.append(preprocess(img))
            labels.append(k)
    return torch.stack(images), torch.tensor(labels)


def make_toy(train_steps: int, base_lr: float = 3e-3) -> None:
    """Train tests/models/toy_shapes/ and check its retrieval through onnxruntime."""
    import open_clip
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    name = "huisou-toy-shapes"
    model, preprocess = create_model(name, TOY_CONFIG, TOY_SEED)
    classes = shapes.all_classes()
    t0 = time.time()
    train_x, train_y = _toy_batch_data(500, 1, preprocess)
    log(f"toy: {len(train_x)} training pictures in {time.time() - t0:.1f}s")
    templates = shapes.CAPTION_TEMPLATES
    # tokens[k, t] = ids of caption template t for class k.
    tokens = torch.stack(
        [open_clip.tokenize([t.format(c=c, s=s) for t in templates]) for c, s in classes]
    )
    # All 18 x 6 captions are encoded at every step (cheaper than one 77-token caption per
    # picture) and each picture is classified against all of them; captions of its class are
    # the positives, and each caption must also pick out the pictures of its class in the batch.
    all_tokens = tokens.reshape(-1, tokens.shape[-1])
    caption_class = torch.arange(len(classes)).repeat_interleave(len(templates))
    opt = torch.optim.AdamW(model.parameters(), lr=base_lr, weight_decay=0.05)
    gen = torch.Generator().manual_seed(TOY_SEED)
    model.train()
    batch, start = 256, time.time()
    for step in range(train_steps):
        # Linear warm-up for 30 steps, then cosine decay. A step count, not a time budget,
        # keeps the result reproducible on a busy machine.
        lr = (
            base_lr * min(1.0, (step + 1) / 30) * 0.5 * (1 + math.cos(math.pi * step / train_steps))
        )
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, len(train_x), (batch,), generator=gen)
        x, y = train_x[idx], train_y[idx]
        # Cheap augmentation: flips and quarter turns keep colour and shape.
        flip = torch.rand(batch, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        x = torch.rot90(x, int(torch.randint(0, 4, (1,), generator=gen)), dims=(2, 3))
        img_f = model.encode_image(x, normalize=True)
        txt_f = model.encode_text(all_tokens, normalize=True)
        logits = model.logit_scale.exp() * img_f @ txt_f.T  # [batch, captions]
        same = (y[:, None] == caption_class[None, :]).float()
        i2t = same / same.sum(1, keepdim=True)
        t2i = same.T / same.T.sum(1, keepdim=True).clamp(min=1)
        has_pos = same.T.sum(1) > 0
        loss_i2t = -(i2t * F.log_softmax(logits, 1)).sum(1).mean()
        loss_t2i = -(t2i * F.log_softmax(logits.T, 1)).sum(1)[has_pos].mean()
        loss = (loss_i2t + loss_t2i) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, 4.6052)
        if (step + 1) % 100 == 0:
            elapsed = time.time() - start
            log(f"toy: step {step + 1} loss {loss.item():.4f} lr {lr:.2e} ({elapsed:.0f}s)")
    model.eval()
    log(f"toy: trained {train_steps} steps in {time.time() - start:.0f}s")

    out = export_fresh(model, name, "toy_shapes")
    accuracy = check_toy(out, preprocess)
    if accuracy < 0.9:
        raise SystemExit(f"toy model top-1 retrieval {accuracy:.1%} < 90%")


def check_toy(model_dir: Path, preprocess: Any) -> float:
    """Top-1 retrieval of each "colour shape" query over held-out pictures, via onnxruntime."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    test_x, test_y = _toy_batch_data(10, 999, preprocess)
    visual = ort.InferenceSession(str(model_dir / "visual" / "model.onnx"))
    textual = ort.InferenceSession(str(model_dir / "textual" / "model.onnx"))
    tok = Tokenizer.from_file(str(model_dir / "textual" / "tokenizer.json"))
    img = visual.run(None, {"image": test_x.numpy()})[0]
    img /= np.linalg.norm(img, axis=1, keepdims=True)
    labels = test_y.numpy()
    top1 = prec = 0.0
    queries = 0
    for k, (color, shape) in enumerate(shapes.all_classes()):
        for template in (0, 1):
            ids = np.array([tok.encode(shapes.caption(color, shape, template)).ids], np.int32)
            q = textual.run(None, {"text": ids})[0][0]
            q /= np.linalg.norm(q)
            order = np.argsort(-(img @ q))
            n_pos = int((labels == k).sum())
            top1 += float(labels[order[0]] == k)
            prec += float((labels[order[:n_pos]] == k).mean())
            queries += 1
    top1 /= queries
    prec /= queries
    log(
        f"toy (onnxruntime): top-1 {top1:.1%}, R-precision {prec:.1%} over {queries} queries, "
        f"{len(labels)} held-out pictures"
    )
    return top1


#: Tiny Chinese-CLIP (cn_clip's own CLIP class) used only to check the cn_clip exporter.
TINY_CN_INFO: dict[str, Any] = {
    "embed_dim": 32,
    "image_resolution": 64,
    "vision_layers": 2,
    "vision_width": 64,
    "vision_patch_size": 16,
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


def check_cn_clip(keep: Path | None) -> None:
    """Export a tiny random Chinese-CLIP and compare tokenizer and embeddings with torch.

    Not committed (size budget); it proves the cn_clip path of the export tool. Skipped with a
    message when cn_clip is not installed.
    """
    try:
        import cn_clip.clip as cn
        from cn_clip.clip.model import CLIP as CnCLIP
    except ImportError:
        log("cn_clip not installed: Chinese-CLIP check skipped (pip install cn_clip --no-deps)")
        return
    import numpy as np
    import onnxruntime as ort
    import torch
    from huisou_export.cn_clip_export import build_cn_clip_tokenizer, export_cn_clip
    from PIL import Image

    _, captions = natural_photos()
    texts = [v["zh"] for v in captions.values()] + [c for v in captions.values() for c in v["en"]]
    texts += list(export.clip_tokenizer.PARITY_STRINGS)
    tok = build_cn_clip_tokenizer()
    bad = [t for t in texts if cn.tokenize([t])[0].tolist() != tok.encode(t).ids]
    for t in bad:
        log(
            f"CN TOKENIZER MISMATCH {t[:60]!r}: {cn.tokenize([t])[0].tolist()} vs {tok.encode(t).ids}"
        )
    if bad:
        raise SystemExit(f"cn_clip tokenizer.json differs on {len(bad)} strings")
    log(f"cn_clip tokenizer: {len(texts)} strings identical to cn_clip.clip.tokenize")

    torch.manual_seed(TINY_SEED)
    model = CnCLIP(**TINY_CN_INFO).float().eval()
    gen = torch.Generator().manual_seed(TINY_SEED)
    with torch.no_grad():  # larger random weights, as for tiny_clip, so inputs matter
        for p in model.parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * (1.5 / p[0].numel() ** 0.5))
    out = keep or Path(tempfile.mkdtemp(prefix="tiny_cn_clip_"))
    if out.exists():
        shutil.rmtree(out)
    export_cn_clip(model, TINY_CN_INFO, out)
    size = TINY_CN_INFO["image_resolution"]
    transform = cn.image_transform(size)
    photos, _ = natural_photos()
    pil = [load_photo(p) for p in photos]
    zh = [v["zh"] for v in captions.values()]
    with torch.no_grad():
        want_i = model.encode_image(torch.stack([transform(im) for im in pil])).numpy()
        want_t = model.encode_text(cn.tokenize(zh)).numpy()
    cfg = json.loads((out / "visual" / "preprocess_cfg.json").read_text())
    mean, std = np.float32(cfg["mean"]), np.float32(cfg["std"])
    batch = np.stack(
        [
            (
                (
                    np.asarray(im.resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255
                    - mean
                )
                / std
            ).transpose(2, 0, 1)
            for im in pil
        ]
    )
    got_i = ort.InferenceSession(str(out / "visual" / "model.onnx")).run(None, {"image": batch})[0]
    ids = np.asarray([e.ids for e in tok.encode_batch(zh)], np.int32)
    got_t = ort.InferenceSession(str(out / "textual" / "model.onnx")).run(None, {"text": ids})[0]

    def cos(a: Any, b: Any) -> Any:
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        return (a * (b / np.linalg.norm(b, axis=1, keepdims=True))).sum(1)

    ci, ct = cos(got_i, want_i).min(), cos(got_t, want_t).min()
    log(f"cn_clip tiny export ({out}): image cosine min {ci:.7f}, Chinese text cosine min {ct:.7f}")
    if min(ci, ct) < 0.9999:
        raise SystemExit("cn_clip export does not reproduce torch")
    if keep is None:
        shutil.rmtree(out)


def main(argv: list[str] | None = None) -> int:
    """Regenerate the requested models; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["tiny", "toy", "tokenizer", "cn"], default=None)
    parser.add_argument("--keep-cn", type=Path, default=None, help="keep the tiny cn_clip export")
    parser.add_argument("--train-steps", type=int, default=2500)
    args = parser.parse_args(argv)
    copy_test_data()
    _, captions = natural_photos()
    extra = [c for v in captions.values() for c in v["en"]] + [v["zh"] for v in captions.values()]
    extra += [shapes.caption(c, s, t) for c, s in shapes.all_classes() for t in (0, 1, 2)]
    check_tokenizer(extra)
    if args.only in (None, "tiny"):
        make_tiny()
    if args.only in (None, "toy"):
        make_toy(args.train_steps)
    if args.only in (None, "cn"):
        check_cn_clip(args.keep_cn)
    for path in sorted(MODELS.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            log(f"{path.relative_to(REPO)}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
