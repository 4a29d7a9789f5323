"""The real openai client against `parlour serve`: response_format (a JSON Schema, any JSON object) holds,
a schema the engine cannot compile is a 400 sentence, and tools come back as tool_calls in the OpenAI shape,
a required call written by the grammar so even the small starter model makes a valid one, streamed or not."""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest

from tests.support.parlour_server import GGUF_ID, TOKEN, Server

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 40}, "country": {"type": "string", "maxLength": 40}},
    "required": ["city", "country"],
    "additionalProperties": False,
}
ASK = [{"role": "user", "content": "Where is the Eiffel Tower? Answer as JSON."}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city today",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 40}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
WEATHER_IN_PARIS = [{"role": "user", "content": "What is the weather in Paris today?"}]


@pytest.fixture
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=TOKEN, max_retries=0, timeout=120)


def test_a_json_schema_response_format_holds_for_every_seed(client: openai.OpenAI) -> None:
    shape = {"type": "json_schema", "json_schema": {"name": "place", "schema": SCHEMA, "strict": True}}
    for seed in range(5):
        answer = client.chat.completions.create(
            model=GGUF_ID, messages=ASK, temperature=1.0, seed=seed, max_tokens=64, response_format=shape
        )
        assert answer.choices[0].finish_reason == "stop"
        jsonschema.validate(json.loads(answer.choices[0].message.content), SCHEMA)
    answer = client.chat.completions.create(
        model=GGUF_ID, messages=ASK, temperature=0.0, max_tokens=64, response_format={"type": "json_object"}
    )
    if answer.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(answer.choices[0].message.content), dict)


def test_a_schema_the_engine_cannot_compile_is_a_400_sentence(client: openai.OpenAI) -> None:
    broken = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "strin"}}}
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=GGUF_ID, messages=ASK, max_tokens=8, response_format=broken)
    assert "The JSON Schema cannot be used for structured output" in str(refused.value) and "strin" in str(
        refused.value
    )
    with pytest.raises(openai.BadRequestError, match="response_format"):
        client.chat.completions.create(model=GGUF_ID, messages=ASK, max_tokens=8, response_format={"type": "yaml"})  # type: ignore[arg-type]


def test_a_required_call_comes_back_as_tool_calls(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=GGUF_ID,
        messages=WEATHER_IN_PARIS,
        tools=[WEATHER, TIME],
        tool_choice="required",
        temperature=0.0,
        max_tokens=64,
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name in ("get_weather", "get_time") and call.id
    arguments = json.loads(call.function.arguments)
    if call.function.name == "get_weather":
        jsonschema.validate(arguments, WEATHER["function"]["parameters"])
    # A named tool is the one called.
    named = client.chat.completions.create(
        model=GGUF_ID,
        messages=WEATHER_IN_PARIS,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        temperature=0.0,
        max_tokens=32,
    )
    assert [c.function.name for c in named.choices[0].message.tool_calls] == ["get_time"]
    # The client runs the tool and sends the result back; the model answers in text.
    history = [
        *WEATHER_IN_PARIS,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 degrees Celsius."},
    ]
    after = client.chat.completions.create(
        model=GGUF_ID, messages=history, tools=[WEATHER], temperature=0.0, max_tokens=24
    )
    assert after.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_a_streamed_call_arrives_as_a_tool_calls_delta(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=GGUF_ID,
        messages=WEATHER_IN_PARIS,
        tools=[WEATHER],
        tool_choice="required",
        temperature=0.0,
        max_tokens=64,
        stream=True,
    )
    calls, texts, reasons = [], [], []
    for chunk in stream:
        for choice in chunk.choices:
            calls += choice.delta.tool_calls or []
            texts.append(choice.delta.content or "")
            reasons.append(choice.finish_reason)
    assert [c.function.name for c in calls] == ["get_weather"] and calls[0].index == 0
    jsonschema.validate(json.loads(calls[0].function.arguments), WEATHER["function"]["parameters"])
    assert "<tool_call>" not in "".join(texts) and reasons[-1] == "tool_calls"


def test_tool_choice_is_checked(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="tool_choice"):
        client.chat.completions.create(
            model=GGUF_ID,
            messages=WEATHER_IN_PARIS,
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "nope"}},
            max_tokens=8,
        )
