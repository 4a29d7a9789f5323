"""Structured output on both engines through one grammar library: the same JSON Schema gives valid JSON on
llama.cpp and on MLX for every seed, a regular expression and a choice list hold, a schema the library
cannot compile is refused with a sentence naming the part, and a malformed response format never reaches
an engine."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from engines.base import GenerationParams, InvalidRequestError
from engines.host_client import EngineClient

SCHEMA = {
    "type": "object",
    "properties": {
        "colour": {"enum": ["red", "green", "blue"]},
        "count": {"type": "integer", "minimum": 0, "maximum": 9},
    },
    "required": ["colour", "count"],
    "additionalProperties": False,
}
ASK = [{"role": "user", "content": "Pick a colour and a small number, as JSON."}]
SEEDS = range(20)


def _sampled(seed: int, fmt: dict, max_tokens: int = 48) -> GenerationParams:
    # Sampling at full temperature: the grammar, not the model's habits, is what keeps the reply valid.
    return GenerationParams(
        temperature=1.0, top_p=1.0, top_k=0, min_p=0.0, max_tokens=max_tokens, seed=seed, response_format=fmt
    )


def _valid_every_time(client: EngineClient) -> None:
    for seed in SEEDS:
        text, finished = client.generate(ASK, _sampled(seed, {"type": "json_schema", "schema": SCHEMA})).text()
        assert finished.finish_reason == "stop", (seed, text, finished)
        jsonschema.validate(json.loads(text), SCHEMA)


def test_a_schema_gives_valid_json_for_every_seed_on_llamacpp(llama_client: EngineClient) -> None:
    _valid_every_time(llama_client)


@pytest.mark.mlx
def test_the_same_schema_gives_valid_json_for_every_seed_on_mlx(mlx_client: EngineClient) -> None:
    _valid_every_time(mlx_client)


@pytest.mark.parametrize("engine", ["llama_client", pytest.param("mlx_client", marks=pytest.mark.mlx)])
def test_a_pattern_a_choice_and_any_json_object_hold(engine: str, request: pytest.FixtureRequest) -> None:
    client: EngineClient = request.getfixturevalue(engine)
    date = {"type": "regex", "pattern": r"[0-9]{4}-[0-9]{2}-[0-9]{2}"}
    text, _ = client.generate([{"role": "user", "content": "When did it happen?"}], _sampled(1, date, 16)).text()
    assert re.fullmatch(date["pattern"], text), text
    choice = {"type": "choice", "choices": ["positive", "negative", "neutral"]}
    text, _ = client.generate([{"role": "user", "content": "The film was fine."}], _sampled(2, choice, 8)).text()
    assert text in choice["choices"]
    text, finished = client.generate(ASK, _sampled(3, {"type": "json_object"}, 64)).text()
    if finished.finish_reason == "stop":  # an object can be longer than the limit; a finished one is whole
        assert isinstance(json.loads(text), dict)
    else:
        assert text.startswith("{")


def test_a_schema_the_library_cannot_compile_is_refused_with_the_part_named(llama_client: EngineClient) -> None:
    for schema, part in (({"type": "strin"}, "strin"), ({"type": "object", "properties": {"a": {"not": {}}}}, "not")):
        text, finished = llama_client.generate(ASK, _sampled(0, {"type": "json_schema", "schema": schema})).text()
        assert finished.finish_reason == "error" and text == ""
        assert (
            finished.error.startswith("The JSON Schema cannot be used for structured output") and part in finished.error
        )
    text, finished = llama_client.generate(ASK, _sampled(0, {"type": "regex", "pattern": "(ab"})).text()
    assert finished.error.startswith("The regular expression cannot be used") and "unclosed group" in finished.error
    # The engine goes on as before.
    text, finished = llama_client.generate(ASK, GenerationParams(temperature=0.0, max_tokens=8)).text()
    assert finished.finish_reason in ("stop", "length") and text


@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "xml"},
        {"type": "json_schema"},
        {"type": "json_schema", "schema": "not an object"},
        {"type": "regex", "pattern": ""},
        {"type": "choice", "choices": []},
        {"type": "choice", "choices": ["a", 3]},
        "json",
    ],
)
def test_a_malformed_response_format_is_refused_before_any_engine(fmt: object) -> None:
    with pytest.raises(InvalidRequestError, match="response format|JSON Schema|schema|pattern|choice"):
        GenerationParams(response_format=fmt)  # type: ignore[arg-type]


def test_parameters_with_a_response_format_cross_the_process_boundary() -> None:
    params = GenerationParams(response_format={"type": "json_schema", "schema": SCHEMA})
    assert GenerationParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
