"""The real anthropic client against `parlour serve`: a message, its stream of events, usage, stop sequences."""

from __future__ import annotations

import anthropic
import pytest

from tests.support.parlour_server import GGUF_ID, TOKEN, Server

GREEDY = {"temperature": 0}  # this client version no longer takes temperature as an argument
FRANCE = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]


@pytest.fixture
def client(server: Server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base, api_key=TOKEN, max_retries=0, timeout=120)


def test_a_message_with_usage(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=GGUF_ID, max_tokens=24, extra_body=GREEDY, system="You answer briefly.", messages=FRANCE
    )
    assert message.role == "assistant" and message.model == GGUF_ID
    assert message.content[0].type == "text" and "Paris" in message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.output_tokens > 0 and message.usage.input_tokens > 0


def test_streamed_events_make_the_same_message(client: anthropic.Anthropic) -> None:
    whole = client.messages.create(model=GGUF_ID, max_tokens=24, extra_body=GREEDY, messages=FRANCE)
    kinds = []
    with client.messages.stream(model=GGUF_ID, max_tokens=24, extra_body=GREEDY, messages=FRANCE) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert final.content[0].text == whole.content[0].text
    assert final.stop_reason == whole.stop_reason and final.usage.output_tokens == whole.usage.output_tokens
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "content_block_stop" in kinds


def test_stop_sequences_and_a_length_limit(client: anthropic.Anthropic) -> None:
    stopped = client.messages.create(
        model=GGUF_ID, max_tokens=24, extra_body=GREEDY, messages=FRANCE, stop_sequences=["Paris"]
    )
    assert "Paris" not in stopped.content[0].text
    short = client.messages.create(model=GGUF_ID, max_tokens=2, extra_body=GREEDY, messages=FRANCE)
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens == 2


def test_errors_in_the_anthropic_shape(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="nope", max_tokens=4, messages=FRANCE)
    assert missing.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=GGUF_ID, max_tokens=4, messages=[{"role": "system", "content": "x"}])
