"""Query arithmetic parsing (the rclip-style ``+term -term`` syntax)."""

from __future__ import annotations

import pytest
from huisou.core.errors import HuisouError
from huisou.core.search import parse_query


def test_plain_query_is_one_term():
    assert parse_query("dog on a beach at sunset") == [(1.0, "dog on a beach at sunset")]


def test_plus_and_minus_terms():
    assert parse_query('beach +sunset -"people walking"') == [
        (1.0, "beach"),
        (1.0, "sunset"),
        (-1.0, "people walking"),
    ]


def test_weighted_term_and_words_following_a_term():
    assert parse_query("red car +2:night sky") == [(1.0, "red car"), (2.0, "night sky")]


def test_hyphenated_words_are_not_terms():
    assert parse_query("a well-lit room") == [(1.0, "a well-lit room")]


def test_unbalanced_quote_falls_back_to_literal():
    assert parse_query('my "id card') == [(1.0, 'my "id card')]


def test_chinese_query_passes_through():
    assert parse_query("我的身份证") == [(1.0, "我的身份证")]


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_query_is_a_clear_error(query):
    with pytest.raises(HuisouError):
        parse_query(query)
