"""Long prompts are read in chunks: both engines say how far they got, and Stop works while they read."""

from __future__ import annotations

import pytest

from engines.base import Delta, Finished, GenerationParams, PromptProgress
from engines.host_client import EngineClient

# About 3,000 tokens of prompt: a long document to summarise.
LONG_PROMPT = "Summarise this report in one sentence.\n\n" + " ".join(
    f"Section {i}: the river rose by {i % 7} centimetres and the bridge was inspected again." for i in range(160)
)
PARAMS = GenerationParams(temperature=0.0, max_tokens=4, repeat_penalty=1.0)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def read_whole(client: EngineClient) -> tuple[list[PromptProgress], list[Delta], Finished]:
    progress: list[PromptProgress] = []
    deltas: list[Delta] = []
    for event in client.generate(user(LONG_PROMPT), PARAMS):
        if isinstance(event, PromptProgress):
            assert not deltas, "the prompt is read before any text is written"
            progress.append(event)
        elif isinstance(event, Delta):
            deltas.append(event)
        elif isinstance(event, Finished):
            return progress, deltas, event
    raise AssertionError("a reply always ends with Finished")


def stop_while_reading(client: EngineClient, after: int) -> tuple[list[PromptProgress], list[Delta], Finished]:
    """Ask for a reply to the long prompt and stop it after `after` progress reports."""
    reply = client.generate(user(LONG_PROMPT), PARAMS)
    progress: list[PromptProgress] = []
    deltas: list[Delta] = []
    for event in reply:
        if isinstance(event, PromptProgress):
            progress.append(event)
            if len(progress) == after:
                reply.cancel()
        elif isinstance(event, Delta):
            deltas.append(event)
        elif isinstance(event, Finished):
            return progress, deltas, event
    raise AssertionError("a reply always ends with Finished")


@pytest.fixture(scope="module")
def fresh_llama(starter_gguf) -> EngineClient:  # noqa: ANN001
    client = EngineClient()
    client.load(str(starter_gguf), "llamacpp")
    yield client
    client.close()


def test_llamacpp_reports_rising_progress_while_it_reads_a_long_prompt(fresh_llama: EngineClient) -> None:
    progress, deltas, finished = read_whole(fresh_llama)
    total = finished.stats.prompt_tokens
    assert total > 2500
    assert len(progress) >= 5
    assert all(p.total == total for p in progress)
    done = [p.done for p in progress]
    assert done == sorted(done) and len(set(done)) == len(done) and done[-1] < total
    assert finished.finish_reason in ("stop", "length") and deltas


def test_llamacpp_stops_while_reading_and_writes_nothing(fresh_llama: EngineClient) -> None:
    fresh_llama.generate(user("Reset the cache with something short."), PARAMS).text()
    progress, deltas, finished = stop_while_reading(fresh_llama, after=2)
    assert finished.finish_reason == "cancelled"
    assert not deltas and finished.stats.generated_tokens == 0
    assert progress[-1].done < progress[-1].total  # stopped short of the whole prompt
    # What was read is kept: the same prompt again starts from there.
    _, _, again = read_whole(fresh_llama)
    assert again.stats.cached_tokens >= progress[-1].done - 256


@pytest.mark.mlx
def test_mlx_reports_progress_and_stops_while_reading(mlx_client: EngineClient) -> None:
    # MLX reads a few tokens a second on this kind of CPU: stop after two reports rather than reading it all.
    progress, deltas, finished = stop_while_reading(mlx_client, after=2)
    assert len(progress) >= 2
    assert progress[0].done < progress[1].done < progress[1].total
    assert progress[1].total > 2500
    assert finished.finish_reason == "cancelled"
    assert not deltas and finished.stats.generated_tokens == 0


def test_a_short_prompt_sends_no_progress(llama_client: EngineClient) -> None:
    events = list(llama_client.generate(user("Hi"), PARAMS))
    assert not any(isinstance(event, PromptProgress) for event in events)
