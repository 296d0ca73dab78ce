"""``huisou models import FORMAT DIR``: upstream ONNX exports -> an Immich-layout model directory.

No torch: files are checked, copied (or, for fp16 exports, converted to fp32 with ``onnx``),
the tokenizer is generated, and the result must load in ONNX Runtime and answer with the
declared shapes before it is installed. Formats:

``chinese-clip``
    What Chinese-CLIP's ``cn_clip/deploy/pytorch_to_onnx.py`` writes, under its own names:
    ``PREFIX.img.fp32.onnx`` + ``PREFIX.txt.fp32.onnx``, or the fp16 pairs
    ``PREFIX.{img,txt}.fp16.onnx`` + ``....onnx.extra_file`` (external data), and the BERT
    ``vocab.txt``. Inputs ``image`` float32 [1,3,S,S] and ``text`` int64 [1,52]; outputs
    ``unnorm_*_features`` (the backend normalises). Batch is fixed at 1, and the graph does not
    allow relabelling it (tried: the traced class-token/position shapes then fail to
    broadcast), so the backend runs such image towers one photo per call on its encode pool. Preprocessing: bicubic squash to SxS,
    OpenAI mean/std (``cn_clip.clip.utils.image_transform``).
``transformers-js``
    The Hugging Face layout of many ONNX CLIP exports (e.g. ``Xenova/mobileclip_s0``):
    ``onnx/vision_model.onnx``, ``onnx/text_model.onnx``, ``tokenizer.json``,
    ``tokenizer_config.json``, ``preprocessor_config.json``, ``config.json``.

Every defect is one :class:`BadImport` line naming the file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from huisou.core.errors import HuisouError

IMPORT_FORMATS: tuple[str, ...] = ("chinese-clip", "transformers-js")
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
CN_CONTEXT = 52
#: cn_clip's special ids: the line numbers of these tokens in its vocab.txt.
CN_SPECIAL_IDS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}
CN_LICENCE = "MIT (Chinese-CLIP code and weights, OFA-Sys)"


class BadImport(HuisouError):
    """The files given to ``huisou models import`` are not what the format promises."""


def import_into(fmt: str, source: Path, staging: Path) -> dict[str, Any]:
    """Write the model directory for ``source`` into ``staging``; return the facts written
    to its ``import.json`` (format, source files, checks)."""
    if not source.is_dir():
        raise BadImport(f"{source}: not a directory")
    staging.mkdir(parents=True)
    (staging / "visual").mkdir()
    (staging / "textual").mkdir()
    if fmt == "chinese-clip":
        record = _import_chinese_clip(source, staging)
    elif fmt == "transformers-js":
        record = _import_transformers_js(source, staging)
    else:
        raise BadImport(f"unknown import format {fmt!r} (known: {', '.join(IMPORT_FORMATS)})")
    record["format"] = fmt
    (staging / "import.json").write_text(json.dumps(record, indent=1, ensure_ascii=False),
                                         encoding="utf-8")
    return record


# -- chinese-clip ------------------------------------------------------------------------------


def _import_chinese_clip(source: Path, out: Path) -> dict[str, Any]:
    vocab = _find_file(source, "vocab.txt", "the BERT vocab.txt of Chinese-CLIP")
    vocab_size = check_bert_vocab(vocab)
    record: dict[str, Any] = {"source": str(source), "files": {}}
    towers = {"visual": "img", "textual": "txt"}
    for tower, tag in towers.items():
        src, precision = _find_cn_tower(source, tag)
        _write_fp32(src, out / tower / "model.onnx", precision)
        record["files"][tower] = {"from": src.name, "precision": precision}
    sources = {tower: source / record["files"][tower]["from"] for tower in towers}
    image = _check_graph(out / "visual" / "model.onnx", sources["visual"], "image",
                         "tensor(float)", rank=4)
    text = _check_graph(out / "textual" / "model.onnx", sources["textual"], "text",
                        "tensor(int64)", rank=2)
    size = image["input_shape"][-1]
    context = text["input_shape"][-1]
    if not isinstance(size, int) or size != image["input_shape"][-2]:
        raise BadImport(f"{source / record['files']['visual']['from']}: input 'image' has shape "
                        f"{image['input_shape']}, expected [1, 3, S, S]")
    if context != CN_CONTEXT:
        raise BadImport(f"{source / record['files']['textual']['from']}: input 'text' has "
                        f"length {context}, expected {CN_CONTEXT} (Chinese-CLIP's context)")
    if image["dim"] != text["dim"]:
        raise BadImport(f"{source}: image tower gives {image['dim']}-d vectors, text tower "
                        f"{text['dim']}-d: the two files are not one model")
    build_cn_tokenizer(vocab, CN_CONTEXT).save(str(out / "textual" / "tokenizer.json"))
    _write_json(out / "textual" / "tokenizer_config.json", {"pad_token": "[PAD]"})
    _write_json(out / "config.json", {
        "embed_dim": image["dim"],
        "vision_cfg": {"image_size": size},
        "text_cfg": {"context_length": CN_CONTEXT, "vocab_size": vocab_size},
        "model_family": "chinese-clip",
        "languages": ["zh", "en"],
        "license": CN_LICENCE,
        "description": f"Chinese-CLIP imported from {source}",
    })
    _write_json(out / "visual" / "preprocess_cfg.json", {
        "size": [size, size], "mode": "RGB", "mean": OPENAI_MEAN, "std": OPENAI_STD,
        "interpolation": "bicubic", "resize_mode": "squash",
    })
    record["batch"] = {"visual": image["input_shape"][0], "textual": text["input_shape"][0]}
    return record


def _find_cn_tower(source: Path, tag: str) -> tuple[Path, str]:
    """The fp32 file of a tower, else its fp16 graph (whose external data must be there)."""
    what = {"img": "image", "txt": "text"}[tag]
    for precision in ("fp32", "fp16"):
        found = sorted(source.glob(f"*.{tag}.{precision}.onnx"))
        if len(found) > 1:
            raise BadImport(f"{source}: several {what} towers ({', '.join(p.name for p in found)}); "
                            "import one model per directory")
        if found:
            return found[0], precision
    raise BadImport(f"{source}: no Chinese-CLIP {what} tower (*.{tag}.fp32.onnx, or "
                    f"*.{tag}.fp16.onnx with its .extra_file) from cn_clip's deployment script")


def check_bert_vocab(path: Path) -> int:
    """Number of entries of a BERT WordPiece ``vocab.txt`` with cn_clip's special ids;
    BadImport for anything else (an English CLIP BPE vocab, a JSON file, binary data)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadImport(f"{path}: cannot read as UTF-8 text ({exc})") from None
    if lines and (lines[0].startswith(("{", "#version")) or any("</w>" in x for x in lines[:2000])):
        raise BadImport(f"{path}: an English CLIP BPE vocabulary, not Chinese-CLIP's BERT "
                        "WordPiece vocab.txt (take cn_clip/clip/vocab.txt from OFA-Sys)")
    wrong = [tok for tok, idx in CN_SPECIAL_IDS.items()
             if idx >= len(lines) or lines[idx].strip() != tok]
    if wrong:
        raise BadImport(f"{path}: not a BERT WordPiece vocab.txt ({', '.join(wrong)} not on "
                        "their lines; take cn_clip/clip/vocab.txt from OFA-Sys)")
    return len(lines)


def build_cn_tokenizer(vocab_path: Path, context_length: int = CN_CONTEXT) -> Any:
    """``tokenizers`` equivalent of ``cn_clip.clip.tokenize`` (models-pinned.md 1.7):
    BERT normaliser (clean text, spaces around CJK, lowercase + strip accents), BERT
    pre-tokenizer, WordPiece (``##``, 200-char words are [UNK]), ``[CLS] $A [SEP]``; truncation
    keeps ``[SEP]`` last and padding with id 0 to ``context_length``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    vocab: dict[str, int] = {}
    with vocab_path.open(encoding="utf-8") as fh:
        for index, line in enumerate(fh):  # BERT's load_vocab: a repeated token keeps its last line
            vocab[line.strip()] = index
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=200))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", CN_SPECIAL_IDS["[CLS]"]), ("[SEP]", CN_SPECIAL_IDS["[SEP]"])])
    tok.decoder = decoders.WordPiece()
    tok.enable_truncation(max_length=context_length)
    tok.enable_padding(length=context_length, pad_id=0, pad_token="[PAD]")
    return tok


# -- transformers-js ---------------------------------------------------------------------------

_RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def _import_transformers_js(source: Path, out: Path) -> dict[str, Any]:
    vision = _find_file(source, "onnx/vision_model.onnx", "the image tower")
    text = _find_file(source, "onnx/text_model.onnx", "the text tower")
    tokenizer = _find_file(source, "tokenizer.json", "the tokenizer")
    pre = _read_json(_find_file(source, "preprocessor_config.json", "the image preprocessing"))
    tok_cfg_path = source / "tokenizer_config.json"
    tok_cfg = _read_json(tok_cfg_path) if tok_cfg_path.is_file() else {}
    config_path = source / "config.json"
    config = _read_json(config_path) if config_path.is_file() else {}
    for src, tower in ((vision, "visual"), (text, "textual")):
        _copy_with_external_data(src, out / tower / "model.onnx")
    image = _check_graph(out / "visual" / "model.onnx", vision, None, "tensor(float)", rank=4)
    txt = _check_graph(out / "textual" / "model.onnx", text, None, None, rank=2)
    if image["dim"] != txt["dim"]:
        raise BadImport(f"{source}: image tower gives {image['dim']}-d vectors, text tower "
                        f"{txt['dim']}-d: the two files are not one model")
    shutil.copyfile(tokenizer, out / "textual" / "tokenizer.json")
    _check_tokenizer(out / "textual" / "tokenizer.json", tokenizer)
    if tok_cfg:
        _write_json(out / "textual" / "tokenizer_config.json", tok_cfg)
    size = _hf_image_size(pre, source / "preprocessor_config.json", image["input_shape"])
    context = txt["input_shape"][-1]
    if not isinstance(context, int):
        context = int(tok_cfg.get("model_max_length") or 0)
        context = context if 0 < context <= 1024 else 77
    normalize = pre.get("do_normalize", True)
    _write_json(out / "visual" / "preprocess_cfg.json", {
        "size": [size, size], "mode": "RGB",
        "mean": list(pre.get("image_mean") or OPENAI_MEAN) if normalize else [0.0, 0.0, 0.0],
        "std": list(pre.get("image_std") or OPENAI_STD) if normalize else [1.0, 1.0, 1.0],
        "interpolation": _RESAMPLE.get(pre.get("resample", 3), "bicubic"),
        "resize_mode": "shortest" if pre.get("do_center_crop", True) else "squash",
    })
    languages = config.get("languages") if isinstance(config.get("languages"), list) else ["en"]
    _write_json(out / "config.json", {
        "embed_dim": image["dim"], "vision_cfg": {"image_size": size},
        "text_cfg": {"context_length": context}, "model_family": "transformers-js",
        "languages": languages, "license": str(config.get("license", "")),
        "description": f"imported from {source}",
    })
    return {"source": str(source), "files": {"visual": vision.name, "textual": text.name}}


def _hf_image_size(pre: dict[str, Any], path: Path, shape: list[Any]) -> int:
    """The square input side: the graph's when fixed, else crop_size / size from the config."""
    if isinstance(shape[-1], int) and shape[-1] > 0:
        return int(shape[-1])
    for key in ("crop_size", "size"):
        value = pre.get(key)
        if isinstance(value, dict):
            value = value.get("height") or value.get("shortest_edge")
        if isinstance(value, int) and 0 < value <= 4096:
            return value
    raise BadImport(f"{path}: no image size (crop_size or size) and the graph has none either")


def _check_tokenizer(path: Path, original: Path) -> None:
    from tokenizers import Tokenizer

    try:
        Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises bare Exception subclasses
        raise BadImport(f"{original}: not a Hugging Face tokenizer.json ({exc})") from None


# -- shared ------------------------------------------------------------------------------------


def _find_file(source: Path, rel: str, what: str) -> Path:
    path = source / rel
    if not path.is_file():
        raise BadImport(f"{path}: missing ({what})")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadImport(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadImport(f"{path}: not a JSON object")
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _write_fp32(src: Path, dest: Path, precision: str) -> None:
    if precision == "fp32":
        _copy_with_external_data(src, dest)
        return
    from huisou.plugins.clip_search.fp16 import convert_to_fp32

    convert_to_fp32(src, dest)


def _copy_with_external_data(src: Path, dest: Path) -> None:
    """Copy a graph and the external-data files it names (kept under their names, which the
    graph refers to)."""
    shutil.copyfile(src, dest)
    for name in external_data_files(src):
        data = src.parent / name
        if not data.is_file():
            raise BadImport(f"{data}: missing (external data of {src.name}; keep the pair together)")
        shutil.copyfile(data, dest.parent / name)


def external_data_files(path: Path) -> list[str]:
    """File names a graph's tensors keep their bytes in (empty without ``onnx``, which the
    load check then replaces by ORT's own error)."""
    try:
        import onnx
    except ImportError:
        return []
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise BadImport(f"{path}: not an ONNX model ({type(exc).__name__})") from None
    names = {
        entry.value
        for tensor in onnx.external_data_helper._get_all_tensors(model)
        if tensor.data_location == onnx.TensorProto.EXTERNAL
        for entry in tensor.external_data
        if entry.key == "location"
    }
    for name in names:
        if Path(name).name != name:
            raise BadImport(f"{path}: external data {name!r} is not a plain file name")
    return sorted(names)


def _check_graph(path: Path, label: Path, name: str | None, dtype: str | None,
                 rank: int) -> dict[str, Any]:
    """Load a tower in ONNX Runtime and run it once on zeros: its input, and the vector length
    of its first output (``[batch, dim]``). Errors name ``label``, the user's file."""
    import numpy as np
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT's Fail/InvalidGraph/NoSuchFile
        raise BadImport(f"{label}: ONNX Runtime cannot load it ({str(exc).splitlines()[0]})"
                        ) from None
    inputs = session.get_inputs()
    first = inputs[0]
    wanted = f"input {name!r} {dtype or ''}".strip()
    if (name and first.name != name) or (dtype and first.type != dtype) or len(first.shape) != rank:
        raise BadImport(f"{label}: graph input is {first.name!r} {first.type} {first.shape}, "
                        f"expected {wanted} of rank {rank}")
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in first.shape]
    if rank == 4 and not isinstance(first.shape[-1], int):
        shape[-2:] = [224, 224]
    feed_type = np.float32 if "float" in first.type else (
        np.int64 if first.type == "tensor(int64)" else np.int32)
    feed = {first.name: np.zeros(shape, dtype=feed_type)}
    for extra in inputs[1:]:  # attention_mask of Hugging Face text towers
        feed[extra.name] = np.ones([1 if not isinstance(d, int) else d for d in extra.shape],
                                   dtype=np.int64 if extra.type == "tensor(int64)" else np.int32)
    try:
        out = session.run(None, feed)[0]
    except Exception as exc:
        raise BadImport(f"{label}: the graph fails on a test input ({str(exc).splitlines()[0]})"
                        ) from None
    if out.ndim != 2 or out.shape[0] != shape[0]:
        raise BadImport(f"{label}: first output has shape {list(out.shape)}, expected [batch, dim]")
    return {"input_shape": list(first.shape), "dim": int(out.shape[1])}
