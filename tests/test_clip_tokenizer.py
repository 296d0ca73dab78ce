"""TextTokenizer: one generic path for CLIP BPE (real vocab) and BERT WordPiece (built here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huisou.core.errors import HuisouError
from huisou.plugins.clip_search.tokenizer import TextTokenizer

TINY = Path(__file__).resolve().parent / "models" / "tiny_clip"
SOT, EOT = 49406, 49407


@pytest.fixture
def clip_tok() -> TextTokenizer:
    return TextTokenizer(TINY / "textual" / "tokenizer.json", 77,
                         {"pad_token": "<|endoftext|>"})


def test_clip_bpe_pads_with_the_configured_token(clip_tok):
    ids, mask = clip_tok.encode(["a red circle"])
    assert ids.shape == (1, 77) and mask.shape == (1, 77)
    row = ids[0].tolist()
    assert row[0] == SOT and row[4] == EOT and row[5:] == [EOT] * 72
    assert mask[0].tolist() == [1] * 5 + [0] * 72
    # a config with a dict-form pad token (some transformers versions) and id 0 ("!")
    bang = TextTokenizer(TINY / "textual" / "tokenizer.json", 77,
                         {"pad_token": {"content": "!", "lstrip": False}})
    assert bang.pad_id == 0 and bang.encode(["a red circle"])[0][0, 5:].tolist() == [0] * 72


def test_clip_bpe_truncation_keeps_end_token_last(clip_tok):
    ids, mask = clip_tok.encode(["sunset over the sea " * 40])
    assert ids.shape == (1, 77) and ids[0, 0] == SOT and ids[0, -1] == EOT
    assert EOT not in ids[0, :-1].tolist() and mask[0].all()


def test_clip_whitespace_and_case(clip_tok):
    a = clip_tok.encode(["  Red \n\t circle  "])[0]
    b = clip_tok.encode(["red circle"])[0]
    assert (a == b).all()
    with pytest.raises(HuisouError, match="empty query"):
        clip_tok.encode([" \n "])


def test_canonicalize_drops_punctuation():
    tok = TextTokenizer(TINY / "textual" / "tokenizer.json", 16, {}, canonicalize=True)
    assert tok.clean("A Dog, on: the BEACH!") == "a dog on the beach"
    # no tokenizer_config: the tokenizer.json's own padding settings ("!" = 0, open_clip's 0)
    assert (tok.pad_token, tok.pad_id) == ("!", 0)


def _wordpiece_json(tmp_path: Path) -> Path:
    """A Chinese-CLIP-style BERT WordPiece tokenizer with a tiny vocab."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "我", "的", "身", "份", "证", "红", "色",
             "圆", "cat", "##s", "dog", "on", "the", "beach"]
    tok = Tokenizer(WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    return path


def test_wordpiece_chinese_padding_truncation_specials(tmp_path):
    path = _wordpiece_json(tmp_path)
    tok = TextTokenizer(path, 8, {"pad_token": "[PAD]"})
    ids, mask = tok.encode(["我的身份证", "Cats on the beach", "xyz"])
    assert ids.tolist()[0] == [2, 4, 5, 6, 7, 8, 3, 0]
    assert ids.tolist()[1] == [2, 12, 13, 15, 16, 17, 3, 0]
    assert ids.tolist()[2] == [2, 1, 3, 0, 0, 0, 0, 0]
    assert mask.tolist()[2] == [1, 1, 1, 0, 0, 0, 0, 0]
    long, _ = tok.encode(["红色圆" * 10])
    assert long.tolist()[0] == [2, 9, 10, 11, 9, 10, 11, 3]  # truncated, [SEP] kept last


def test_wordpiece_pad_from_tokenizer_padding_or_fallback(tmp_path):
    path = _wordpiece_json(tmp_path)
    # no tokenizer_config: "[PAD]" is found among the fallbacks
    assert TextTokenizer(path, 8).pad_id == 0
    # an unknown pad token name with an explicit id in the config
    tok = TextTokenizer(path, 8, {"pad_token": "<nope>", "pad_token_id": 3})
    assert tok.pad_id == 3


def test_broken_tokenizer_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps({"not": "a tokenizer"}))
    with pytest.raises(HuisouError, match=f"cannot load tokenizer {bad}"):
        TextTokenizer(bad)
