"""The real openai client against `parlour serve` on the starter model."""

from __future__ import annotations

import openai
import pytest

from tests.support.parlour_server import GGUF_ID, MLX_ID, TOKEN, Server

GREEDY = {"temperature": 0.0, "max_tokens": 24}
FRANCE = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]


@pytest.fixture
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=TOKEN, max_retries=0, timeout=120)


def test_models_are_listed_by_id(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert GGUF_ID in ids and MLX_ID in ids


def test_a_chat_completion_with_usage(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=GGUF_ID, messages=FRANCE, **GREEDY)
    text = answer.choices[0].message.content
    assert "Paris" in text and answer.choices[0].finish_reason in ("stop", "length")
    assert answer.model == GGUF_ID and answer.usage.completion_tokens > 0
    assert answer.usage.prompt_tokens > 10
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    again = client.chat.completions.create(model=GGUF_ID, messages=FRANCE, **GREEDY)
    assert again.usage.prompt_tokens_details.cached_tokens > 0  # the same prompt is read from the cache
    assert again.choices[0].message.content == text


def test_streaming_gives_the_same_text_and_usage(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model=GGUF_ID, messages=FRANCE, **GREEDY)
    stream = client.chat.completions.create(
        model=GGUF_ID, messages=FRANCE, stream=True, stream_options={"include_usage": True}, **GREEDY
    )
    pieces, reasons, usage = [], [], None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            reasons.append(choice.finish_reason)
    assert "".join(pieces) == whole.choices[0].message.content
    assert reasons[-1] == whole.choices[0].finish_reason and all(r is None for r in reasons[:-1])
    assert usage is not None and usage.completion_tokens == whole.usage.completion_tokens


def test_stop_strings_end_the_reply(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=GGUF_ID, messages=FRANCE, stop=["Paris"], **GREEDY)
    assert "Paris" not in answer.choices[0].message.content
    assert answer.choices[0].finish_reason == "stop"


def test_a_seed_makes_a_sampled_reply_again(client: openai.OpenAI) -> None:
    story = [{"role": "user", "content": "Write one sentence about a cat."}]
    sampled = {"temperature": 1.0, "max_tokens": 24, "seed": 1234}
    first = client.chat.completions.create(model=GGUF_ID, messages=story, **sampled).choices[0].message.content
    second = client.chat.completions.create(model=GGUF_ID, messages=story, **sampled).choices[0].message.content
    assert first == second


def test_a_raw_completion(client: openai.OpenAI) -> None:
    answer = client.completions.create(model=GGUF_ID, prompt="The capital of France is", max_tokens=8, temperature=0)
    assert answer.choices[0].text.strip() and answer.usage.completion_tokens > 0


@pytest.mark.mlx
def test_two_models_by_id_load_just_in_time(client: openai.OpenAI, server: Server) -> None:
    assert server.models()[MLX_ID]["state"] == "not-loaded"
    hello = [{"role": "user", "content": "Hi"}]
    answer = client.chat.completions.create(model=MLX_ID, messages=hello, temperature=0, max_tokens=4)
    assert answer.model == MLX_ID and answer.usage.completion_tokens > 0
    states = server.models()
    assert states[MLX_ID]["state"] == "loaded" and states[GGUF_ID]["state"] == "not-loaded"
    answer = client.chat.completions.create(model=GGUF_ID, messages=hello, temperature=0, max_tokens=4)
    assert answer.model == GGUF_ID
    states = server.models()  # both fit in this machine's memory together: both stay loaded
    assert states[GGUF_ID]["state"] == "loaded" and states[MLX_ID]["state"] == "loaded"


def test_an_unknown_model_is_a_404_sentence(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=FRANCE, max_tokens=4)
    assert "no local model called 'no-such-model'" in missing.value.message


def test_bad_fields_are_400_sentences(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="max_tokens must be a whole number"):
        client.chat.completions.create(model=GGUF_ID, messages=FRANCE, max_tokens=10_000_000)
    with pytest.raises(openai.BadRequestError, match="messages must be a non-empty list"):
        client.chat.completions.create(model=GGUF_ID, messages=[], max_tokens=4)


TOOLS_TEMPLATE = """{%- if tools %}<|im_start|>system
You can call these tools:
{% for tool in tools %}- {{ tool.function.name }}: {{ tool.function.description }}
{% endfor %}<|im_end|>
{% endif %}{% for message in messages %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endfor %}<|im_start|>assistant
"""
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city today, with the temperature in degrees Celsius and the chance of rain",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_tools_reach_the_template_and_the_persons_template_is_used(
    client: openai.OpenAI, server: Server, parlour_cmd: list[str], tmp_path
) -> None:  # noqa: ANN001
    import os
    import subprocess

    def prompt_tokens(**extra: object) -> int:
        answer = client.chat.completions.create(model=GGUF_ID, messages=FRANCE, max_tokens=1, temperature=0, **extra)
        return answer.usage.prompt_tokens

    plain = prompt_tokens()
    assert prompt_tokens(tools=[WEATHER]) == plain  # the starter's own template has no place for tools
    # The person's template for this model (as `parlour templates use` keeps it) is the server's too.
    template = tmp_path / "tools.jinja"
    template.write_text(TOOLS_TEMPLATE)
    env = {**os.environ, "PARLOUR_HOME": str(server.home)}
    for args in (["templates", "add", "tools", str(template)], ["templates", "use", GGUF_ID, "--name", "tools"]):
        done = subprocess.run([*parlour_cmd, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    assert prompt_tokens(tools=[WEATHER]) > prompt_tokens() + 15  # the tool's description is in the prompt
