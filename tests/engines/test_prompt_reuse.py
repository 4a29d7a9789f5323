"""Prompt-cache reuse, context fitting and template choice, on both real engines through the host."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.base import EngineError, GenerationParams, LoadSettings
from engines.host_client import EngineClient

GREEDY = GenerationParams(temperature=0.0, max_tokens=12, repeat_penalty=1.0)
SMALL_CONTEXT = 256


def conversation(topic: str, turns: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "You are a helpful assistant."}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"Tell me fact number {i} about {topic}."})
        messages.append({"role": "assistant", "content": f"Fact {i}: {topic} are interesting in many ways."})
    messages.append({"role": "user", "content": f"One more thing about {topic}?"})
    return messages


def reply(client: EngineClient, messages: list[dict[str, str]], params: GenerationParams = GREEDY):
    text, finished = client.generate(messages, params).text()
    assert finished.finish_reason in ("stop", "length"), finished.error
    return text, finished.stats


@pytest.fixture(scope="module", params=["llamacpp", pytest.param("mlx", marks=pytest.mark.mlx)])
def engine_client(request, starter_gguf: Path, mlx_dir: Path) -> Iterator[EngineClient]:
    path = starter_gguf if request.param == "llamacpp" else mlx_dir
    client = EngineClient()
    client.load(str(path), request.param, LoadSettings(context_length=1024))
    yield client
    client.close()


def test_next_turn_reuses_the_conversation_so_far(engine_client: EngineClient) -> None:
    messages = conversation("owls", 2)
    text, first = reply(engine_client, messages)
    follow_up = [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": "And why?"}]
    _, second = reply(engine_client, follow_up)
    # Everything up to the end of the first reply was cached; only the new turn is prefilled.
    assert second.cached_tokens >= first.prompt_tokens
    assert second.prompt_tokens - second.cached_tokens < 20


def test_regenerate_and_edit_trim_the_cache_instead_of_starting_over(engine_client: EngineClient) -> None:
    messages = conversation("bees", 2)
    reply(engine_client, messages)
    _, regenerated = reply(engine_client, messages)  # same prompt again: all but the last token reused
    assert regenerated.cached_tokens == regenerated.prompt_tokens - 1
    edited = [*messages[:-1], {"role": "user", "content": "Something else about bees, please."}]
    _, after_edit = reply(engine_client, edited)
    assert 0 < after_edit.cached_tokens < after_edit.prompt_tokens
    assert after_edit.prompt_tokens - after_edit.cached_tokens < 25


def test_switching_conversations_keeps_both_caches(engine_client: EngineClient) -> None:
    cats, dogs = conversation("cats", 3), conversation("dogs", 3)
    reply(engine_client, cats)
    reply(engine_client, dogs)
    _, back_to_cats = reply(engine_client, cats)
    _, back_to_dogs = reply(engine_client, dogs)
    assert back_to_cats.cached_tokens == back_to_cats.prompt_tokens - 1
    assert back_to_dogs.cached_tokens == back_to_dogs.prompt_tokens - 1


def test_reply_with_reuse_is_identical_to_reply_without(
    engine_client: EngineClient, starter_gguf: Path, mlx_dir: Path
) -> None:
    messages = conversation("whales", 2)
    reply(engine_client, messages[:-2])  # leave a partial prefix in the cache
    reused_text, reused = reply(engine_client, messages)
    assert reused.cached_tokens > 0
    engine = engine_client.engine
    path = starter_gguf if engine == "llamacpp" else mlx_dir
    with EngineClient() as cold:
        cold.load(str(path), engine, LoadSettings(context_length=1024, prompt_cache_bytes=0))
        cold_text, cold_stats = reply(cold, messages)
        _, again = reply(cold, messages)
    assert cold_stats.cached_tokens == 0 and again.cached_tokens == 0
    assert reused_text == cold_text


# --- context window -----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["llamacpp", pytest.param("mlx", marks=pytest.mark.mlx)])
def test_conversation_three_times_the_context_drops_oldest_turns(
    engine: str, starter_gguf: Path, mlx_dir: Path, llama_client: EngineClient
) -> None:
    path = starter_gguf if engine == "llamacpp" else mlx_dir
    messages = conversation("volcanoes", 26)
    whole = llama_client.render(messages)  # the 8192-token default window takes it all
    assert whole.dropped_turns == 0 and whole.tokens >= 3 * SMALL_CONTEXT
    with EngineClient() as client:
        client.load(str(path), engine, LoadSettings(context_length=SMALL_CONTEXT))
        fitted = client.render(messages, GenerationParams(max_tokens=1))
        assert fitted.tokens <= SMALL_CONTEXT and fitted.dropped_turns > 0

        text, stats = reply(client, messages, GenerationParams(temperature=0.0, max_tokens=24))
        assert stats.dropped_turns > 0
        assert stats.prompt_tokens + stats.generated_tokens <= SMALL_CONTEXT
        assert text.strip()
        prompt = client.render(messages).text
        assert "You are a helpful assistant." in prompt  # the system prompt stays
        assert "One more thing about volcanoes?" in prompt  # and the newest turn
        assert "fact number 0 " not in prompt  # the oldest turns went first

        _, stopped = client.generate(messages, GenerationParams(max_tokens=24, context_policy="stop")).text()
        assert stopped.finish_reason == "error"
        assert "no longer fits the model's context window" in (stopped.error or "")


def test_newest_message_alone_too_long_is_a_plain_error(starter_gguf: Path) -> None:
    with EngineClient() as client:
        client.load(str(starter_gguf), "llamacpp", LoadSettings(context_length=256))
        _, finished = client.generate([{"role": "user", "content": "word " * 400}], GREEDY).text()
        assert finished.finish_reason == "error"
        assert "The newest message is too long for this model" in (finished.error or "")


# --- template choice ----------------------------------------------------------------------------------


def test_template_sources_model_override_and_builtin(llama_client: EngineClient, mlx_dir: Path, tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Hi"}]
    own = llama_client.render(messages)
    assert own.template_source == "model" and own.notice is None
    assert own.text.endswith("<|im_start|>assistant\n")

    override = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}[assistant] "
    custom = llama_client.render(messages, template=override)
    assert custom.template_source == "override" and custom.text == "[user] Hi\n[assistant] "

    # The same MLX model with its chat template removed: a built-in stands in, and says so.
    bare = tmp_path / "bare"
    bare.mkdir()
    for item in mlx_dir.iterdir():
        if item.name != "tokenizer_config.json":
            (bare / item.name).symlink_to(item)
    config = json.loads((mlx_dir / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    shutil.rmtree(bare / ".derived-from", ignore_errors=True)
    with EngineClient() as client:
        client.load(str(bare), "mlx")
        chosen = client.render(messages)
    assert chosen.template_source == "builtin:chatml"
    assert "no chat template" in chosen.notice
    assert chosen.text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_template_that_raises_reaches_the_user_as_a_sentence(llama_client: EngineClient) -> None:
    rejecting = "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    messages = [{"role": "system", "content": "x"}, {"role": "user", "content": "Hi"}]
    _, finished = llama_client.generate(messages, GREEDY, template=rejecting).text()
    assert finished.finish_reason == "error"
    assert "System role not supported" in (finished.error or "")
    with pytest.raises(EngineError, match="System role not supported"):
        llama_client.render(messages, template=rejecting)
