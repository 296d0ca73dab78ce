"""Matching a query against the lines OCR read from a photo (pure functions)."""

from __future__ import annotations

from huisou.plugins.ocr.matching import match, normalize

ID_CARD = ["中华人民共和国", "居民身份证", "姓名李明", "公民身份号码110101199001011234"]
BOOK = ["Chapter 3", "The Old Man and the Sea", "He was an old man who fished alone"]


def test_normalize_drops_spaces_punctuation_and_case():
    assert normalize("Password: Sun flower２０２４！") == "passwordsunflower2024"


def test_chinese_substring_matches_and_names_its_line():
    found = match("身份证", ID_CARD)
    assert found is not None and found.kind == "exact" and found.line == "居民身份证"


def test_spaces_in_the_query_do_not_matter_to_chinese_text():
    assert match("姓名 李明", ID_CARD).line == "姓名李明"


def test_english_is_case_insensitive_and_matches_partial_words():
    assert match("old man and the sea", BOOK).line == "The Old Man and the Sea"
    assert match("fish", BOOK).line == "He was an old man who fished alone"


def test_a_line_that_is_the_query_beats_a_line_that_contains_it():
    whole = match("居民身份证", ["居民身份证"])
    part = match("居民身份证", ["这是一张居民身份证的复印件"])
    assert whole.score > part.score


def test_words_in_any_order_rank_below_an_exact_phrase():
    scattered = match("sea old", BOOK)
    assert scattered.kind == "words"
    assert scattered.score < match("old man", BOOK).score


def test_a_misread_character_still_matches_but_ranks_below_exact():
    misread = match("sunflower2024", ["Password: sunflower2O24"])
    assert misread is not None and misread.kind == "fuzzy"
    assert misread.score < match("sunflower2024", ["Password: sunflower2024"]).score


def test_unrelated_text_does_not_match():
    assert match("发票", ID_CARD) is None
    assert match("bryant", BOOK) is None
    assert match("!!!", BOOK) is None
    assert match("sea", []) is None
