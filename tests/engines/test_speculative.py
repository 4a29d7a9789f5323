"""Speculative decoding (prompt lookup) on both real engines: greedy replies equal plain greedy ones.

The batch that checks a draft runs other CPU kernels than single steps, and those round differently,
so two near-equal logits may swap (llama.cpp's own speculative decoding has the same property). The
comparison therefore covers the plain reply up to its first step whose lead over the runner-up is
below MARGIN, measured by the engine's own greedy trace: far past any rounding, on any CPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.base import EngineError, GenerationParams, LoadSettings
from engines.host_client import EngineClient
from engines.speculation import DraftLength, PromptLookup

MARGIN = 0.5  # logits; the batch and single-step kernels differ by well under 0.1 here
GREEDY = GenerationParams(temperature=0.0, max_tokens=40, repeat_penalty=1.0)
PHRASE = "the quick brown fox jumps over the lazy dog"
# Replies the starter model is sure of at every step (on this machine the first two have no step with a lead
# under MARGIN at all); each repeats words of its prompt, so prompt lookup drafts them.
COPY_PROMPTS = [
    f"Repeat this line three times: {PHRASE}.",
    f"Copy this exactly: {PHRASE}, {PHRASE}, {PHRASE}.",
    "Repeat: one two three four five one two three four five.",
]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def safe_prefix(client: EngineClient, messages: list[dict[str, str]], count: int) -> list[int]:
    """The plain greedy tokens up to the first near tie."""
    trace = client.trace(messages, count)
    for index, margin in enumerate(trace.margins):
        if margin < MARGIN:
            return trace.ids[:index]
    return trace.ids


def detokenize(path: Path, ids: list[int]) -> str:
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    try:
        return vocab.detokenize(ids).decode("utf-8", errors="replace")
    finally:
        vocab.close()


@pytest.fixture(scope="module")
def llama_pair(starter_gguf: Path) -> Iterator[tuple[EngineClient, EngineClient]]:
    plain, drafting = EngineClient(), EngineClient()
    plain.load(str(starter_gguf), "llamacpp", LoadSettings(context_length=2048, prompt_lookup=False))
    drafting.load(str(starter_gguf), "llamacpp", LoadSettings(context_length=2048, prompt_lookup=True))
    yield plain, drafting
    plain.close()
    drafting.close()


@pytest.mark.parametrize("prompt", COPY_PROMPTS)
def test_prompt_lookup_replies_equal_plain_greedy_on_llamacpp(
    llama_pair: tuple[EngineClient, EngineClient], starter_gguf: Path, prompt: str
) -> None:
    plain, drafting = llama_pair
    messages = user(prompt)
    plain_text, plain_end = plain.generate(messages, GREEDY).text()
    text, finished = drafting.generate(messages, GREEDY).text()
    assert finished.finish_reason in ("stop", "length"), finished.error
    assert plain_end.stats.draft_tokens == 0
    assert finished.stats.draft_tokens > 0, "prompt lookup drafted nothing on a reply that repeats its prompt"
    assert 0 < finished.stats.accepted_draft_tokens <= finished.stats.draft_tokens
    safe = detokenize(starter_gguf, safe_prefix(plain, messages, GREEDY.max_tokens))
    assert len(safe) >= 20, f"too few clear steps to compare: {safe!r}"
    assert plain_text.startswith(safe)
    assert text.startswith(safe), f"drafted {text!r} but plain greedy says {safe!r}"
    if plain_text == safe:  # no near tie anywhere: the whole reply must be the same
        assert text == plain_text


def test_rejected_drafts_leave_the_cache_right_across_many_turns(
    llama_pair: tuple[EngineClient, EngineClient], starter_gguf: Path
) -> None:
    """Each turn continues from the KV cache the last one left, rejections and all; a cache cut back
    wrongly would show in the next reply, which must match a plain model's on the same history."""
    plain, drafting = llama_pair
    messages: list[dict[str, str]] = []
    drafted = accepted = 0
    asks = [
        f"Say: {PHRASE}.",
        "Now say it twice.",
        "Write the numbers from 1 to 12.",
        "Say the line about the fox again.",
        "List three colours, then repeat the list.",
        "Repeat your last answer.",
    ]
    for turn, ask in enumerate(asks):
        messages.append({"role": "user", "content": ask})
        text, finished = drafting.generate(messages, GREEDY).text()
        assert finished.finish_reason in ("stop", "length"), finished.error
        drafted += finished.stats.draft_tokens
        accepted += finished.stats.accepted_draft_tokens
        if turn:
            assert finished.stats.cached_tokens > 0  # the conversation so far came from the cache
        safe = detokenize(starter_gguf, safe_prefix(plain, messages, GREEDY.max_tokens))
        assert text.startswith(safe), f"turn {turn}: drafted {text!r}, plain greedy says {safe!r}"
        messages.append({"role": "assistant", "content": text})
    assert 0 < accepted < drafted, "the turns should have both kept and rejected drafts"


@pytest.mark.mlx
def test_prompt_lookup_replies_equal_plain_greedy_on_mlx(mlx_dir: Path, starter_gguf: Path) -> None:
    """Two turns, the second continuing from the cache the first left; the MLX twin's token ids are the
    starter GGUF's, so its vocabulary spells the trace."""
    params = GenerationParams(temperature=0.0, max_tokens=24, repeat_penalty=1.0)
    first = user(f"Copy this exactly: {PHRASE}, {PHRASE}.")
    plain, drafting = EngineClient(), EngineClient()
    try:
        plain.load(str(mlx_dir), "mlx", LoadSettings(prompt_lookup=False))
        drafting.load(str(mlx_dir), "mlx", LoadSettings(prompt_lookup=True))
        text, finished = drafting.generate(first, params).text()
        follow_up = [*first, {"role": "assistant", "content": text}, {"role": "user", "content": "Again."}]
        second, second_end = drafting.generate(follow_up, params).text()
        safe = [detokenize(starter_gguf, safe_prefix(plain, m, params.max_tokens)) for m in (first, follow_up)]
    finally:
        plain.close()
        drafting.close()
    assert finished.stats.accepted_draft_tokens > 0
    assert second_end.stats.cached_tokens > 0
    assert min(len(s) for s in safe) >= 15, f"too few clear steps to compare: {safe}"
    assert text.startswith(safe[0]), f"drafted {text!r}, plain greedy says {safe[0]!r}"
    assert second.startswith(safe[1]), f"drafted {second!r}, plain greedy says {safe[1]!r}"


def test_prompt_lookup_drafts_what_followed_the_same_words_before() -> None:
    lookup = PromptLookup()
    tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9, 50, 2, 3]
    assert lookup.draft(tokens, 4) == [4, 5, 6, 7]
    assert lookup.draft([*tokens, 4], 4) == [5, 6, 7, 8]  # follows the reply as it grows
    assert lookup.draft([7, 7, 7], 3) == [7]  # another history: the index starts over
    assert lookup.draft([10, 11, 12], 3) == []  # nothing repeats: nothing to draft
    assert lookup.draft(tokens, 0) == []


def test_draft_length_grows_on_success_and_rests_after_misses() -> None:
    length = DraftLength(most=16, first=4)
    assert length.next() == 4
    length.update(4, 4)
    assert length.next() == 8
    length.update(8, 2)
    assert length.next() == 3
    length.update(3, 0)  # a miss: drafting rests two steps
    assert [length.next() for _ in range(3)] == [0, 0, 1]
    length.update(1, 0)  # a second miss in a row: four steps
    assert [length.next() for _ in range(5)] == [0, 0, 0, 0, 1]


# --- a draft model -------------------------------------------------------------------------------------


def test_the_starter_drafts_for_its_f16_self_with_plain_greedy_output(starter_gguf: Path) -> None:
    """The Q4_1 starter drafts for a float16 GGUF of the same model (derived at test time)."""
    from tests.support.derived_models import f16_starter_gguf

    target = f16_starter_gguf()
    messages = user(COPY_PROMPTS[1])
    plain, drafting = EngineClient(), EngineClient()
    try:
        plain.load(str(target), "llamacpp", LoadSettings(context_length=1024, prompt_lookup=False))
        settings = LoadSettings(context_length=1024, prompt_lookup=False, draft_model=str(starter_gguf))
        drafting.load(str(target), "llamacpp", settings)
        plain_text, _ = plain.generate(messages, GREEDY).text()
        text, finished = drafting.generate(messages, GREEDY).text()
        safe = detokenize(starter_gguf, safe_prefix(plain, messages, GREEDY.max_tokens))
        follow_up = [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": "Once more."}]
        second, second_end = drafting.generate(follow_up, GREEDY).text()
        second_safe = detokenize(starter_gguf, safe_prefix(plain, follow_up, GREEDY.max_tokens))
    finally:
        plain.close()
        drafting.close()
    assert finished.stats.draft_tokens > 0 and finished.stats.accepted_draft_tokens > 0
    assert len(safe) >= 20 and plain_text.startswith(safe)
    assert text.startswith(safe), f"drafted {text!r}, plain greedy says {safe!r}"
    assert second_end.stats.cached_tokens > 0
    assert second.startswith(second_safe)


def test_a_draft_model_of_another_vocabulary_is_refused(starter_gguf: Path) -> None:
    from tests.support.derived_models import foreign_vocab_gguf

    client = EngineClient()
    try:
        with pytest.raises(EngineError) as refused:
            client.load(str(starter_gguf), "llamacpp", LoadSettings(draft_model=str(foreign_vocab_gguf())))
    finally:
        client.close()
    assert refused.value.code == "invalid_request"
    assert "cannot draft for" in str(refused.value) and "same tokenizer" in str(refused.value)


@pytest.mark.mlx
def test_the_4_bit_mlx_twin_drafts_for_its_float16_self(starter_gguf: Path) -> None:
    from tests.support.derived_models import float16_starter_mlx_dir, quantized_starter_mlx_dir

    params = GenerationParams(temperature=0.0, max_tokens=20, repeat_penalty=1.0)
    target, draft = float16_starter_mlx_dir(), quantized_starter_mlx_dir(4)
    messages = user(COPY_PROMPTS[1])
    plain, drafting = EngineClient(), EngineClient()
    try:
        plain.load(str(target), "mlx", LoadSettings(prompt_lookup=False))
        drafting.load(str(target), "mlx", LoadSettings(prompt_lookup=False, draft_model=str(draft)))
        text, finished = drafting.generate(messages, params).text()
        safe = detokenize(starter_gguf, safe_prefix(plain, messages, params.max_tokens))
    finally:
        plain.close()
        drafting.close()
    assert finished.stats.accepted_draft_tokens > 0
    assert len(safe) >= 15 and text.startswith(safe), f"drafted {text!r}, plain greedy says {safe!r}"


def test_the_reply_footer_says_how_many_draft_tokens_were_kept() -> None:
    from app.ui.message_stats import format_stats
    from engines.base import GenerationStats

    stats = GenerationStats(
        prompt_tokens=3000,
        cached_tokens=2990,
        disk_cached_tokens=2990,
        generated_tokens=40,
        draft_tokens=30,
        accepted_draft_tokens=24,
    )
    line = format_stats(stats, "stop")
    assert "prompt 3000 (2990 cached, 2990 from disk)" in line
    assert "24 of 30 draft tokens accepted" in line
    assert "draft" not in format_stats(GenerationStats(generated_tokens=5), "stop")
