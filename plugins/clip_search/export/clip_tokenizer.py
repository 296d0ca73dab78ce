"""Build a Hugging Face ``tokenizers`` JSON that reproduces open_clip's ``SimpleTokenizer``.

Why this exists: the runtime (no torch, no open_clip) tokenizes queries with the small
``tokenizers`` library from ``textual/tokenizer.json``. If its ids differ from what the model was
trained with (open_clip's Python BPE), search quality silently degrades, so the JSON built here
mirrors open_clip step by step:

* vocabulary and merges come from open_clip's bundled ``bpe_simple_vocab_16e6.txt.gz`` (the real
  OpenAI CLIP vocabulary, no download), in exactly open_clip's id order: 256 byte symbols, the
  same with ``</w>``, 48,894 merges, then ``<|startoftext|>`` = 49406 and ``<|endoftext|>`` = 49407;
* the normaliser imitates ``ftfy.fix_text`` (the deterministic parts: HTML entities, Latin
  ligatures, full-width forms, curly quotes, control characters, NFC), then open_clip's
  ``html.unescape`` twice, whitespace collapsing and ``lower()``;
* the pre-tokeniser is open_clip's regular expression, followed by the GPT-2 byte-to-unicode map;
* ``<|startoftext|> ... <|endoftext|>`` is added by the post-processor; truncation keeps the end
  token last (open_clip cuts to ``context_length`` and overwrites the last id with EOT, which is
  the same as truncating the body to ``context_length - 2``);
* padding uses id 0 (the token ``"!"``), as ``open_clip.tokenize`` pads with zeros. HF's
  ``CLIPTokenizerFast`` for OpenAI checkpoints pads with ``<|endoftext|>`` instead; for CLIP text
  towers that pool at ``argmax(ids)`` under a causal mask both give the same embedding, but zero
  padding is what open_clip feeds, so ``tokenizer_config.json`` says ``"pad_token": "!"`` and
  the runtime should pad with ``token_to_id(pad_token)``.

Known, accepted differences from open_clip (ftfy features a static normaliser cannot express):
mojibake repair (``fix_encoding``), HTML entities other than the common named/numeric ones, and
the literal strings ``<start_of_text>``/``<end_of_text>``, which open_clip maps to its special
ids. The start/end tokens are deliberately *not* registered as "added tokens", so a user typing
``<|endoftext|>`` gets ordinary BPE pieces, exactly as open_clip does.

Only the ``tokenizers`` package is needed (imported inside functions), not torch.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tokenizers import Tokenizer

SOT_TOKEN = "<|startoftext|>"
EOT_TOKEN = "<|endoftext|>"
SOT_ID = 49406
EOT_ID = 49407
#: open_clip pads with 0, which is the byte symbol "!" in CLIP's vocabulary.
PAD_TOKEN = "!"
PAD_ID = 0
VOCAB_SIZE = 49408
BPE_FILENAME = "bpe_simple_vocab_16e6.txt.gz"

#: open_clip's pre-tokenisation pattern (without its own special-token alternatives).
SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

# ftfy.chardata tables, frozen here so that the JSON does not depend on the installed ftfy.
_LIGATURES = {
    0x0132: "IJ",
    0x0133: "ij",
    0x0149: "ʼn",
    0x01F1: "DZ",
    0x01F2: "Dz",
    0x01F3: "dz",
    0x01C4: "DŽ",
    0x01C5: "Dž",
    0x01C6: "dž",
    0x01C7: "LJ",
    0x01C8: "Lj",
    0x01C9: "lj",
    0x01CA: "NJ",
    0x01CB: "Nj",
    0x01CC: "nj",
    0xFB00: "ff",
    0xFB01: "fi",
    0xFB02: "fl",
    0xFB03: "ffi",
    0xFB04: "ffl",
    0xFB05: "ſt",
    0xFB06: "st",
}
_CONTROL_CHARS_RE = r"[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]"
_FINAL_SIGMA_RE = (
    r"(?<=\p{Cased}|\p{Cased}\p{Case_Ignorable}|\p{Cased}\p{Case_Ignorable}{2})"
    r"\u03a3(?!\p{Case_Ignorable}*\p{Cased})"
)
_SINGLE_QUOTES_RE = r"[\u02bc\u2018-\u201b]"
_DOUBLE_QUOTES_RE = r"[\u201c-\u201f]"
# Common HTML entities. "&amp;" is undone three times: ftfy unescapes once (when the text has
# no "<"), then open_clip calls html.unescape twice.
_HTML_ENTITIES = [
    ("&amp;", "&"),
    ("&amp;", "&"),
    ("&amp;", "&"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", '"'),
    ("&#39;", "'"),
    ("&#x27;", "'"),
    ("&apos;", "'"),
    ("&nbsp;", "\u00a0"),
]


def _width_map() -> dict[int, str]:
    """ftfy's ``fix_character_width`` table: full-/half-width forms to their NFKC form."""
    width_map = {0x3000: " "}
    for i in range(0xFF01, 0xFFF0):
        alternate = unicodedata.normalize("NFKC", chr(i))
        if alternate != chr(i):
            width_map[i] = alternate
    return width_map


@lru_cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte-to-printable-character map, in open_clip's (vocabulary) order."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def find_open_clip_bpe() -> Path:
    """Locate open_clip's bundled BPE merges file without importing open_clip (or torch)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"open_clip is not installed; pass bpe_path= pointing at {BPE_FILENAME} "
            "(pip install 'huisou[export]' brings open_clip_torch)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BPE_FILENAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{BPE_FILENAME} not found in the open_clip package")


def load_vocab_and_merges(bpe_path: str | Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary and merges exactly as ``open_clip.tokenizer.SimpleTokenizer.__init__``."""
    with gzip.open(bpe_path) as fh:
        lines = fh.read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    symbols = list(bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols]
    vocab_list.extend("".join(m) for m in merges)
    vocab_list.extend([SOT_TOKEN, EOT_TOKEN])
    vocab = {tok: i for i, tok in enumerate(vocab_list)}
    if len(vocab) != VOCAB_SIZE or vocab[SOT_TOKEN] != SOT_ID or vocab[EOT_TOKEN] != EOT_ID:
        raise ValueError(f"unexpected CLIP BPE file {bpe_path}: vocabulary size {len(vocab)}")
    return vocab, [(a, b) for a, b in merges]


def build_clip_tokenizer(
    bpe_path: str | Path | None = None, context_length: int = 77, pad: bool = True
) -> Tokenizer:
    """Return a ``tokenizers.Tokenizer`` equivalent to ``open_clip.tokenize``.

    With ``pad=True`` truncation and fixed-length zero padding to ``context_length`` are stored
    in the tokenizer itself, so ``Tokenizer.from_file(...).encode(text).ids`` is already the
    model input; a runtime may still call ``enable_padding``/``enable_truncation`` itself.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    vocab, merges = load_vocab_and_merges(bpe_path or find_open_clip_bpe())
    tok = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=merges,
            unk_token=None,
            continuing_subword_prefix="",
            end_of_word_suffix="</w>",
            fuse_unk=False,
        )
    )
    steps: list[Any] = [normalizers.Replace(a, b) for a, b in _HTML_ENTITIES]
    steps += [normalizers.Replace(chr(cp), s) for cp, s in sorted(_LIGATURES.items())]
    steps += [normalizers.Replace(chr(cp), s) for cp, s in sorted(_width_map().items())]
    steps += [
        normalizers.Replace(Regex(_SINGLE_QUOTES_RE), "'"),
        normalizers.Replace(Regex(_DOUBLE_QUOTES_RE), '"'),
        normalizers.Replace(Regex(_CONTROL_CHARS_RE), ""),
        normalizers.NFC(),
        normalizers.Replace(Regex(r"\s+"), " "),
        normalizers.Strip(),
        # Python's str.lower() turns a word-final capital sigma into "ς"; the Rust lowercase
        # of `tokenizers` maps characters one by one ("σ"). Apply Python's Final_Sigma rule first
        # (look-behind limited to two case-ignorable characters).
        normalizers.Replace(Regex(_FINAL_SIGMA_RE), "\u03c2"),
        normalizers.Lowercase(),
    ]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.post_processor = TemplateProcessing(
        single=f"{SOT_TOKEN} $A {EOT_TOKEN}",
        pair=f"{SOT_TOKEN} $A {EOT_TOKEN} $B {EOT_TOKEN}",
        special_tokens=[(SOT_TOKEN, SOT_ID), (EOT_TOKEN, EOT_ID)],
    )
    tok.decoder = decoders.ByteLevel()
    if pad:
        tok.enable_truncation(max_length=context_length)
        tok.enable_padding(length=context_length, pad_id=PAD_ID, pad_token=PAD_TOKEN)
    return tok


def tokenizer_config(context_length: int = 77) -> dict[str, Any]:
    """``tokenizer_config.json`` content: HF's keys plus an explicit pad id for our runtime."""
    return {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": context_length,
        "bos_token": SOT_TOKEN,
        "eos_token": EOT_TOKEN,
        "unk_token": EOT_TOKEN,
        # open_clip pads with id 0, which is the token "!" (as laion's HF exports also say).
        "pad_token": PAD_TOKEN,
        "pad_token_id": PAD_ID,
        "do_lower_case": True,
        "clean_up_tokenization_spaces": False,
    }


def write_tokenizer_files(
    out_dir: str | Path,
    context_length: int = 77,
    tokenizer: Tokenizer | str | Path | None = None,
    bpe_path: str | Path | None = None,
) -> tuple[Path, Path]:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` into ``out_dir``.

    ``tokenizer`` may be a ready ``tokenizers.Tokenizer``, a path to an existing tokenizer.json
    (copied through ``tokenizers`` so it is re-serialised compactly), or ``None`` to build the
    CLIP BPE tokenizer from open_clip's vocabulary.
    """
    from tokenizers import Tokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if tokenizer is None:
        tok = build_clip_tokenizer(bpe_path, context_length)
    elif isinstance(tokenizer, (str, Path)):
        tok = Tokenizer.from_file(str(tokenizer))
    else:
        tok = tokenizer
    json_path = out / "tokenizer.json"
    tok.save(str(json_path), pretty=False)
    cfg_path = out / "tokenizer_config.json"
    cfg_path.write_text(json.dumps(tokenizer_config(context_length), indent=2) + "\n")
    return json_path, cfg_path


#: Strings used to check token-for-token equality with ``open_clip.tokenize``.
PARITY_STRINGS: list[str] = [
    "a red circle",
    "A photo of a CAT.",
    "  lots   of\twhitespace\n\nand newlines  ",
    "numbers 12345 and 3.14159, 1,000,000!",
    "punctuation!!! ?? ... --- ;;; (parens) [brackets] {braces}",
    "don't can't won't it's we're they've I'm you'll he'd",
    "DON'T SHOUT'S",
    "e-mail: someone@example.com, url: https://example.org/path?q=1&x=2",
    "café naïve résumé façade",
    "Ångström über straße",
    "日本語のテキスト",
    "一只在草地上奔跑的狗",
    "한국어 문장",
    "Привет, мир",
    "Ελληνικά γράμματα",
    "emoji 😀🐱🚀 and ❤️",
    "curly “quotes” and ‘single’ ones",
    "full-width ＡＢＣ１２３！　space",
    "ligatures: ﬁsh ﬂower ﬀ",
    "html &amp; entities &lt;b&gt; &quot;x&quot;",
    "tab\tseparated\tvalues",
    "hyphen-ated words and under_scores",
    "the quick brown fox jumps over the lazy dog " * 20,
    "a" * 300,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "x",
    "",
    "   ",
    "<|endoftext|> literal special token text",
    "NASA astronaut holding a helmet",
    "close-up of a tabby cat's face",
    "zero\u200bwidth and non\u00a0breaking space",
    "mixed中文and English混合text",
    "$100 €50 £20 ¥1000 #hashtag @mention 50%",
]
