"""Evaluation sets in JSONL: read with every problem a sentence naming the line or case, written back the same,
and the shipped starter set complete."""

from __future__ import annotations

import json

import pytest

from app.evals.checks import EvalSetError
from app.evals.sets import EvalSet, parse_jsonl, starter_set, to_jsonl

CASE = {"id": "one", "prompt": "Say hi.", "checks": [{"type": "contains_any", "words": ["hi"]}]}


def jsonl(*items: object) -> str:
    return "\n".join(json.dumps(item) for item in items)


def test_the_starter_set_covers_the_everyday_tasks() -> None:
    starter = starter_set()
    assert starter.name == "starter" and starter.description
    kinds = {check.kind for case in starter.cases for check in case.checks}
    assert {"contains_any", "contains_all", "regex", "json", "json_schema", "max_words"} <= kinds
    ids = [case.id for case in starter.cases]
    assert {"review-mood", "meeting-date", "bridge-summary", "add-function", "json-person"} <= set(ids)


def test_a_set_goes_out_and_back_the_same() -> None:
    starter = starter_set()
    again = parse_jsonl(to_jsonl(starter), "other name")
    assert again == starter


def test_a_header_turns_and_a_system_prompt() -> None:
    text = jsonl(
        {"set": "mine", "description": "d"},
        {
            **CASE,
            "system": "Be brief.",
            "turns": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        },
    )
    evals = parse_jsonl(text, "file name")
    assert (evals.name, evals.description, evals.checks_total) == ("mine", "d", 1)
    assert [m["role"] for m in evals.cases[0].messages()] == ["system", "user", "assistant", "user"]


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("not json", "Line 1 is not JSON"),
        (jsonl([1, 2]), "Line 1 is not a JSON object"),
        (jsonl({"set": "empty"}), "The set has no cases."),
        (jsonl(CASE, CASE), "Case 'one' appears twice."),
        (jsonl({"id": "x", "checks": CASE["checks"]}), "Case 'x': the prompt is missing."),
        (jsonl({"id": "x", "prompt": "p", "checks": []}), "Case 'x': give 1 to 20 checks."),
        (jsonl({"id": "x", "prompt": "p", "turns": [{"role": "system"}], "checks": CASE["checks"]}), "Case 'x': turns"),
        (jsonl({"id": "re", "prompt": "p", "checks": [{"type": "regex", "pattern": "["}]}), "Case 're': the regular"),
    ],
)
def test_problems_are_sentences(text: str, sentence: str) -> None:
    with pytest.raises(EvalSetError) as refused:
        parse_jsonl(text, "set")
    assert sentence in str(refused.value)


def test_a_set_counts_its_checks() -> None:
    assert isinstance(starter_set(), EvalSet) and starter_set().checks_total == 13
