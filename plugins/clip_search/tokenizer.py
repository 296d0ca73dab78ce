"""Query tokenization through the model's own ``textual/tokenizer.json``.

One code path for every tokenizer family the catalog can hold (CLIP byte-level BPE, BERT
WordPiece for Chinese-CLIP, XLM-R / SigLIP SentencePiece): the Hugging Face ``tokenizers``
library reads the file, its post-processor adds the model's special tokens, and this module
only fixes the length. Rules, as Immich's loader applies them:

- context length: ``config.json`` ``text_cfg.context_length`` (77 when absent);
- padding with the id of ``tokenizer_config.json``'s ``pad_token`` (never a hard-coded 0: the
  XLM-R tower builds its attention mask from the pad id, and CLIP pads with ``<|endoftext|>``);
- longer text is truncated to the context length *including* the special tokens, so the end
  token (where CLIP pools) stays last;
- whitespace collapsed; SigLIP-style ``clean: canonicalize`` also drops punctuation and
  lowercases;
- an empty or whitespace-only query is rejected with a clear error.
"""

from __future__ import annotations

import string
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huisou.core.errors import HuisouError, ModelError

if TYPE_CHECKING:  # pragma: no cover - types only
    import numpy as np

#: Tried in order when tokenizer_config.json names no pad token.
FALLBACK_PAD_TOKENS: tuple[str, ...] = ("<|endoftext|>", "<pad>", "[PAD]")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def _pad_token_name(value: Any) -> str | None:
    if isinstance(value, dict):  # {"content": "<pad>", ...} in some transformers versions
        value = value.get("content")
    return value if isinstance(value, str) and value else None


class TextTokenizer:
    """Turns query strings into fixed-length id and attention-mask arrays."""

    def __init__(
        self,
        tokenizer_json: str | Path,
        context_length: int = 77,
        tokenizer_config: dict[str, Any] | None = None,
        canonicalize: bool = False,
    ) -> None:
        from tokenizers import Tokenizer

        path = Path(tokenizer_json)
        try:
            self._tok = Tokenizer.from_file(str(path))
        except Exception as exc:  # the library raises bare Exception subclasses
            raise ModelError(f"cannot load tokenizer {path}: {exc}") from exc
        self.context_length = int(context_length)
        self.canonicalize = canonicalize
        self.pad_token, self.pad_id = self._find_pad(tokenizer_config or {})
        self._tok.enable_padding(
            length=self.context_length, pad_id=self.pad_id, pad_token=self.pad_token
        )
        self._tok.enable_truncation(max_length=self.context_length)
        # Tokenizer objects are not documented as thread-safe; queries are rare, a lock is cheap.
        self._lock = threading.Lock()

    def _find_pad(self, cfg: dict[str, Any]) -> tuple[str, int]:
        name = _pad_token_name(cfg.get("pad_token"))
        if name is not None:
            pad_id = self._tok.token_to_id(name)
            if pad_id is None and isinstance(cfg.get("pad_token_id"), int):
                pad_id = cfg["pad_token_id"]
            if pad_id is not None:
                return name, int(pad_id)
        padding = self._tok.padding
        if padding and padding.get("pad_token") is not None:
            return str(padding["pad_token"]), int(padding.get("pad_id", 0))
        for candidate in FALLBACK_PAD_TOKENS:
            pad_id = self._tok.token_to_id(candidate)
            if pad_id is not None:
                return candidate, int(pad_id)
        return "", 0

    def clean(self, text: str) -> str:
        text = " ".join(text.split())
        if self.canonicalize:
            text = " ".join(text.translate(_PUNCTUATION).lower().split())
        return text

    def encode(self, texts: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """``(input_ids, attention_mask)``, both int64 ``[N, context_length]``.

        The caller casts to whatever integer type the ONNX graph declares.
        """
        import numpy as np

        cleaned = []
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise HuisouError("empty query: type some words to search for")
            cleaned.append(self.clean(text))
        with self._lock:
            encodings = self._tok.encode_batch(cleaned)
        ids = np.asarray([enc.ids for enc in encodings], dtype=np.int64)
        mask = np.asarray([enc.attention_mask for enc in encodings], dtype=np.int64)
        return ids, mask
