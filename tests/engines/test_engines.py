"""Both real engines on the starter model, through the engine host, as the app and CLI use them."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from engines.base import Delta, EngineError, Finished, GenerationParams, ModelFileError
from engines.host_client import EngineClient
from tests.conftest import FRANCE, GREEDY

# llama.cpp multiplies Q4_1 weights with activations quantized to 8 bits, by kernels that differ
# between AVX2, AVX-512 and NEON, while MLX runs the dequantized weights in float32. Where MLX's
# best token leads its runner-up by less than PARITY_MARGIN (in logits), llama.cpp may break the
# tie the other way on some CPU; those steps are not compared. Each step is teacher-forced with
# MLX's tokens, so one near tie does not end the comparison. The prompts were not chosen by
# trying them on any machine.
PARITY_MARGIN = 1.0
PARITY_PROMPTS = [
    "What is the capital of France? Answer in one sentence.",
    "Repeat exactly: 12345 café ünïcödé 日本語",
    "Write a haiku about the sea.",
    "Explain what a CPU does in two sentences.",
]
PARITY_TOKENS = 16


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def greedy_trace(
    client: EngineClient, prompt: str, count: int, forced: list[int] | None = None
) -> tuple[list[int], list[float]]:
    """Greedy token ids of the reply and each one's lead over the runner-up, asked of the host
    (the text re-tokenized would lose ids)."""
    trace = client.trace(user(prompt), count, forced)
    return list(trace.ids), list(trace.margins)


# --- replies ------------------------------------------------------------------------------------------


def test_llamacpp_answers_paris(llama_client: EngineClient) -> None:
    text, finished = llama_client.generate(user(FRANCE), GREEDY).text()
    assert "Paris" in text
    assert finished.finish_reason == "stop"
    stats = finished.stats
    assert stats.prompt_tokens > 10 and stats.generated_tokens > 3
    assert stats.prompt_tps > 0 and stats.generation_tps > 0 and stats.ttft_ms > 0
    assert stats.peak_memory_bytes and stats.peak_memory_bytes > 50e6


@pytest.mark.mlx
def test_mlx_answers_paris(mlx_client: EngineClient) -> None:
    text, finished = mlx_client.generate(user(FRANCE), GREEDY).text()
    assert "Paris" in text
    assert finished.finish_reason == "stop"
    assert finished.stats.generated_tokens > 3 and finished.stats.generation_tps > 0
    assert finished.stats.peak_memory_bytes and finished.stats.peak_memory_bytes > 50e6


def test_max_tokens_ends_with_length(llama_client: EngineClient) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=5)
    _, finished = llama_client.generate(user("Tell me a long story about a dragon."), params).text()
    assert finished.finish_reason == "length"
    assert finished.stats.generated_tokens == 5


def test_stop_string_ends_the_reply_and_is_not_shown(llama_client: EngineClient) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=64, stop=("Paris",))
    text, finished = llama_client.generate(user(FRANCE), params).text()
    assert finished.finish_reason == "stop"
    assert "Paris" not in text and text.strip()


def test_system_prompt_reaches_the_model(llama_client: EngineClient) -> None:
    with_system = [{"role": "system", "content": "Always answer in French."}, *user("Hello")]
    assert llama_client.tokenize(with_system) != llama_client.tokenize(user("Hello"))


# --- parity -------------------------------------------------------------------------------------------


@pytest.mark.mlx
def test_same_prompt_same_token_ids_on_both_engines(llama_client: EngineClient, mlx_client: EngineClient) -> None:
    for prompt in [*PARITY_PROMPTS, "café ünïcödé 日本語 — 2 + 2 = 4"]:
        assert llama_client.tokenize(user(prompt)) == mlx_client.tokenize(user(prompt)), prompt


@pytest.mark.mlx
def test_greedy_tokens_match_across_engines_where_the_reference_is_clear(
    llama_client: EngineClient, mlx_client: EngineClient
) -> None:
    compared = total = 0
    for prompt in PARITY_PROMPTS:
        reference, margins = greedy_trace(mlx_client, prompt, PARITY_TOKENS)
        assert len(reference) >= 3, prompt
        ours, _ = greedy_trace(llama_client, prompt, len(reference), forced=reference)
        assert len(ours) == len(reference), prompt
        clear = [i for i, margin in enumerate(margins) if margin >= PARITY_MARGIN]
        mismatched = [(i, reference[i], ours[i], round(margins[i], 2)) for i in clear if ours[i] != reference[i]]
        assert not mismatched, (prompt, mismatched)
        compared += len(clear)
        total += len(reference)
    # Near ties are rare: if most steps were skipped, the comparison would prove nothing.
    assert compared >= total * 0.6, (compared, total)


def test_greedy_trace_agrees_with_generation(llama_client: EngineClient) -> None:
    """The diagnostic the parity test relies on gives the tokens a greedy reply is made of."""
    ids, margins = greedy_trace(llama_client, FRANCE, 12)
    assert len(ids) == len(margins) and all(m >= 0 for m in margins)
    forced, _ = greedy_trace(llama_client, FRANCE, len(ids), forced=ids)
    # Teacher-forced with its own greedy tokens, an engine predicts them again wherever it is not at a tie.
    assert all(f == i for f, i, m in zip(forced, ids, margins, strict=True) if m > 1e-3)
    text, _ = llama_client.generate(user(FRANCE), GREEDY).text()
    assert "Paris" in text


# --- cancel and crash ---------------------------------------------------------------------------------


def _cancel_after_first_delta(client: EngineClient) -> Finished:
    reply = client.generate(user("Write a long essay about the history of bread."), GenerationParams(max_tokens=500))
    finished = None
    deltas = 0
    for event in reply:
        if isinstance(event, Delta):
            deltas += 1
            if deltas == 1:
                reply.cancel()
        elif isinstance(event, Finished):
            finished = event
    assert finished is not None
    return finished


def test_cancel_mid_stream_then_the_same_host_answers(llama_client: EngineClient) -> None:
    pid = llama_client.pid
    finished = _cancel_after_first_delta(llama_client)
    assert finished.finish_reason == "cancelled"
    # The host checks for a cancel at every token; how many tokens pass while the request travels
    # depends on the machine's speed, so the bound is loose: far below the 500 asked for.
    assert finished.stats.generated_tokens < 50
    text, again = llama_client.generate(user(FRANCE), GREEDY).text()
    assert again.finish_reason == "stop" and "Paris" in text
    assert llama_client.pid == pid


@pytest.mark.mlx
def test_mlx_cancel_mid_stream(mlx_client: EngineClient) -> None:
    finished = _cancel_after_first_delta(mlx_client)
    assert finished.finish_reason == "cancelled"
    assert finished.stats.generated_tokens < 50


def _kill_after_first_delta(client: EngineClient, sig: signal.Signals) -> Finished:
    assert client.pid is not None
    pid = client.pid
    reply = client.generate(user("Write a long essay about rivers."), GenerationParams(max_tokens=2000))
    finished = None
    killed = False
    for event in reply:
        if isinstance(event, Delta) and not killed:
            os.kill(pid, sig)
            killed = True
        if isinstance(event, Finished):
            finished = event
    assert finished is not None
    return finished


def test_kill_during_reply_is_reported_and_the_next_request_works(starter_gguf: Path) -> None:
    with EngineClient() as client:
        client.load(str(starter_gguf))
        first_pid = client.pid
        finished = _kill_after_first_delta(client, signal.SIGKILL)
        assert finished.finish_reason == "error"
        assert "killed by signal 9 (SIGKILL)" in (finished.error or "")
        assert (finished.detail or "").startswith("Its last output:")  # the host's last stderr lines, apart
        assert "Its last output" not in (finished.error or "")  # the sentence is for the person

        text, again = client.generate(user(FRANCE), GREEDY).text()
        assert "Paris" in text and again.finish_reason == "stop"
        assert client.pid != first_pid and client.restarts == 1


def test_native_abort_is_reported_and_the_model_comes_back(starter_gguf: Path) -> None:
    with EngineClient() as client:
        client.load(str(starter_gguf))
        finished = _kill_after_first_delta(client, signal.SIGABRT)
        assert finished.finish_reason == "error"
        assert "signal 6 (SIGABRT)" in (finished.error or "")
        pong = client.ping()  # a fresh host, with the model reloaded before the ping
        assert pong.loaded is True and pong.pid == client.pid


# --- bad input through the engine API -----------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "truncated_1mb",
        "truncated_half",
        "random_bytes",
        "hostile_length",
        "mlx_with_code",
        "mlx_pickle_only",
        "mlx_unknown_type",
    ],
)
def test_bad_model_through_the_host_is_one_sentence(case: str, bad_models: dict) -> None:
    path, phrase = bad_models[case]
    with EngineClient() as client:
        with pytest.raises(ModelFileError) as caught:
            client.load(str(path))
        assert phrase in str(caught.value) and "\n" not in str(caught.value)
        assert client.ping().loaded is False  # the host survived


def test_wrong_engine_for_the_format_is_refused(starter_gguf: Path) -> None:
    with EngineClient() as client, pytest.raises(EngineError, match="MLX engine runs MLX model folders"):
        client.load(str(starter_gguf), "mlx")


def test_generate_without_a_model_is_a_plain_error() -> None:
    with EngineClient() as client:
        _, finished = client.generate(user("hi"), GREEDY).text()
        assert finished.finish_reason == "error"
        assert finished.error == "No model is loaded; choose a model first."
