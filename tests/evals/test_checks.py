"""Every kind of check on crafted replies, passing and failing; unusable checks refused with the case named;
a pattern that would backtrack for ever fails in bounded time instead of hanging."""

from __future__ import annotations

import pytest

from app.evals.checks import EvalSetError, judge, parse_check

SCHEMA = {"type": "object", "required": ["name", "age"], "properties": {"age": {"type": "number"}}}


@pytest.mark.parametrize(
    ("raw", "reply", "passed"),
    [
        ({"type": "contains_all", "words": ["Paris", "France"]}, "Paris is the capital of france.", True),
        ({"type": "contains_all", "words": ["Paris", "Lyon"]}, "Paris is the capital.", False),
        ({"type": "contains_all", "words": ["Paris"], "case_sensitive": True}, "paris", False),
        ({"type": "contains_any", "words": ["positive", "good"]}, "Positive.", True),
        ({"type": "contains_any", "words": ["negative"]}, "Positive.", False),
        ({"type": "regex", "pattern": r"\d{4}-\d{2}-\d{2}"}, "It is on 2027-03-14.", True),
        ({"type": "regex", "pattern": r"^\d+$"}, "12 apples", False),
        ({"type": "equals", "text": "Yes"}, "  yes \n", True),
        ({"type": "equals", "text": "Yes", "case_sensitive": True}, "yes", False),
        ({"type": "json"}, '{"a": 1}', True),
        ({"type": "json"}, '```json\n{"a": 1}\n```', True),
        ({"type": "json"}, 'Here it is: {"a": 1}', False),
        ({"type": "json_schema", "schema": SCHEMA}, '{"name": "Ada", "age": 36}', True),
        ({"type": "json_schema", "schema": SCHEMA}, '{"name": "Ada", "age": "36"}', False),
        ({"type": "json_schema", "schema": SCHEMA}, '{"name": "Ada"}', False),
        ({"type": "max_words", "n": 3}, "one two three", True),
        ({"type": "max_words", "n": 3}, "one two three four", False),
    ],
)
def test_each_kind_of_check(raw: dict, reply: str, passed: bool) -> None:
    verdict = judge(parse_check(raw, "Case 'x'"), reply)
    assert verdict.passed is passed
    assert bool(verdict.detail) is not passed  # a failure says why; a pass says nothing


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        ({"type": "regex", "pattern": "(unclosed"}, "the regular expression /(unclosed/ is not valid"),
        ({"type": "json_schema", "schema": {"type": "nonsense"}}, "the JSON Schema is not valid"),
        ({"type": "contains_all", "words": []}, "contains_all needs a list of words"),
        ({"type": "max_words", "n": 0}, "max_words needs n, a whole number above 0"),
        ({"type": "telepathy"}, "a check needs a type"),
        ({"type": "regex", "pattern": "a" * 5000}, "regex needs a pattern of 1 to 2000 characters"),
    ],
)
def test_an_unusable_check_is_refused_with_the_case_named(raw: dict, sentence: str) -> None:
    with pytest.raises(EvalSetError) as refused:
        parse_check(raw, "Case 'dates'")
    assert str(refused.value).startswith("Case 'dates': ") and sentence in str(refused.value)


def test_a_pattern_that_backtracks_for_ever_fails_instead_of_hanging() -> None:
    check = parse_check({"type": "regex", "pattern": r"(a|aa)+$"}, "Case 'slow'")
    verdict = judge(check, "a" * 60 + "b")  # exponential backtracking
    assert not verdict.passed and "took over" in verdict.detail


def test_checks_describe_themselves() -> None:
    assert parse_check({"type": "max_words", "n": 5}, "c").describe() == "has at most 5 words"
    assert parse_check({"type": "contains_any", "words": ["a", "b"]}, "c").describe() == "contains one of “a”, “b”"
