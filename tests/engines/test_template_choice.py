"""choose_template: the user's override, then the model's own, then a built-in matched by special tokens, said aloud."""

from __future__ import annotations

import pytest

from engines.template_choice import BUILTIN_SIGNATURES, builtin_template, choose_template


def vocabulary(*tokens: str):  # noqa: ANN201
    return lambda token: token in tokens


def test_the_users_override_wins_and_says_nothing() -> None:
    chosen = choose_template("{{ mine }}", "{{ model }}", vocabulary())
    assert (chosen.source, chosen.text, chosen.notice) == ("override", "{{ mine }}", None)


def test_the_models_own_template_comes_next() -> None:
    chosen = choose_template(None, "{{ model }}", vocabulary())
    assert (chosen.source, chosen.text, chosen.notice) == ("model", "{{ model }}", None)
    assert choose_template("   ", "{{ model }}", vocabulary()).source == "model"  # a blank override is none


@pytest.mark.parametrize(("name", "tokens"), BUILTIN_SIGNATURES)
def test_without_one_a_built_in_is_matched_by_the_special_tokens(name: str, tokens: tuple[str, ...]) -> None:
    chosen = choose_template(None, None, vocabulary(*tokens))
    assert chosen.source == f"builtin:{name}"
    assert chosen.text == builtin_template(name) and chosen.text.strip()
    assert chosen.notice and name in chosen.notice and "no chat template" in chosen.notice


def test_with_nothing_to_go_on_chatml_is_used_and_the_notice_says_so() -> None:
    chosen = choose_template(None, "  ", vocabulary("<s>"))
    assert chosen.source == "builtin:chatml"
    assert chosen.notice and "none of the known formats matches" in chosen.notice


def test_a_family_needs_all_its_tokens() -> None:
    assert choose_template(None, None, vocabulary("<|im_start|>")).notice.startswith(  # type: ignore[union-attr]
        "This model has no chat template and none"
    )
