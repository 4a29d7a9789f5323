"""fit_conversation and the context-length choice, on a tokenizer of one token per word (no model needed)."""

from __future__ import annotations

import pytest

from engines.context import (
    MIN_REPLY_TOKENS,
    ContextOverflowError,
    default_context_length,
    fit_conversation,
    kv_bytes_per_token,
)


def word_tokens(messages: list[dict[str, str]]) -> list[int]:
    """Each message costs a 2-token header plus one token per word, like a chat template would."""
    ids: list[int] = []
    for message in messages:
        ids += [1, 2] + [len(word) for word in message["content"].split()]
    return ids


def turn(role: str, words: int, tag: str = "w") -> dict[str, str]:
    return {"role": role, "content": " ".join([tag] * words)}


def conversation(turns: int, words: int = 20) -> list[dict[str, str]]:
    messages = [turn("system", 5, "s")]
    for i in range(turns):
        messages += [turn("user", words, f"u{i}"), turn("assistant", words, f"a{i}")]
    return messages + [turn("user", words, "last")]


def test_a_conversation_that_fits_is_kept_whole_and_the_reply_gets_the_rest() -> None:
    messages = conversation(2)
    fitted = fit_conversation(messages, word_tokens, 1000, 64)
    assert fitted.messages == messages and fitted.dropped_turns == 0
    assert fitted.ids == word_tokens(messages)
    assert fitted.max_tokens == 64


def test_the_reply_may_use_what_is_left_of_the_window_but_never_more() -> None:
    messages = conversation(0)  # system (7 tokens) + user (22 tokens)
    fitted = fit_conversation(messages, word_tokens, 100, 1000)
    assert fitted.max_tokens == 100 - 29


def test_the_oldest_whole_turns_go_first_and_the_system_prompt_stays() -> None:
    messages = conversation(10)  # 7 + 10 * 44 + 22 = 469 tokens
    fitted = fit_conversation(messages, word_tokens, 256, 64)
    assert fitted.messages[0] == messages[0]  # the system prompt
    assert fitted.messages[-1] == messages[-1]  # the newest turn
    kept = fitted.messages[1:]
    assert kept == messages[len(messages) - len(kept) :]  # a tail of whole turns, nothing half-cut
    assert kept[0]["role"] == "user"
    assert len(fitted.ids) <= 256 - 64
    # The fewest turns dropped: one more turn would not have fitted.
    one_more = [messages[0], *messages[len(messages) - len(kept) - 2 :]]
    assert len(word_tokens(one_more)) > 256 - 64
    assert fitted.dropped_turns == (len(messages) - 1 - len(kept)) // 2


def test_the_reply_reserve_is_at_most_half_the_window() -> None:
    messages = conversation(3)  # 161 tokens
    fitted = fit_conversation(messages, word_tokens, 400, 10_000)
    assert fitted.dropped_turns == 0  # a reserve of 10,000 would have dropped everything
    assert fitted.max_tokens == 400 - 161


def test_the_stop_policy_refuses_instead_of_dropping() -> None:
    with pytest.raises(ContextOverflowError, match="no longer fits the model's context window"):
        fit_conversation(conversation(10), word_tokens, 256, 64, policy="stop")


def test_a_newest_message_longer_than_the_window_is_one_sentence() -> None:
    messages = [turn("user", 300)]
    with pytest.raises(ContextOverflowError) as caught:
        fit_conversation(messages, word_tokens, 256, 64)
    assert "The newest message is too long for this model" in str(caught.value)


def test_a_newest_turn_that_fits_only_without_the_full_reserve_gets_what_room_is_left() -> None:
    messages = [turn("user", 20, "old"), turn("assistant", 20), turn("user", 200, "new")]
    fitted = fit_conversation(messages, word_tokens, 256, 128)
    assert fitted.messages == messages[-1:]
    assert fitted.max_tokens == 256 - 202 >= MIN_REPLY_TOKENS


def test_the_default_context_is_the_models_own_capped_by_memory() -> None:
    per_token = kv_bytes_per_token(30, 3, 64)
    assert per_token == 2 * 30 * 3 * 64 * 2
    assert default_context_length(8192, 100_000_000, per_token, 64 * 10**9) == 8192
    small = default_context_length(131072, 100_000_000, per_token, 1 * 10**9)
    assert 512 <= small < 131072 and small % 256 == 0
    assert 100_000_000 + small * per_token <= 0.7 * 10**9
    assert default_context_length(None, 0, 0, None) == 4096
