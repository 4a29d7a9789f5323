"""`parlour chat` with structured output: a JSON Schema file, any JSON object, a pattern and a choice list
hold on the starter model; a schema it cannot use, a file that is no schema and a device are one sentence
with exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from tests.cli.helpers import one_sentence, run_in

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 30}, "country": {"type": "string", "maxLength": 30}},
    "required": ["city", "country"],
    "additionalProperties": False,
}


def test_a_schema_file_a_pattern_and_a_choice_hold(parlour_cmd: list[str], tmp_path: Path) -> None:
    schema = tmp_path / "place.json"
    schema.write_text(json.dumps(SCHEMA))
    done = run_in(
        tmp_path,
        parlour_cmd,
        "chat",
        "--temperature",
        "1",
        "--seed",
        "3",
        "--json-schema",
        schema,
        "Where is the Eiffel Tower?",
    )
    assert done.returncode == 0, done.stderr
    jsonschema.validate(json.loads(done.stdout), SCHEMA)
    done = run_in(tmp_path, parlour_cmd, "chat", "--regex", "[0-9]{4}", "--max-tokens", "8", "In which year?")
    assert done.returncode == 0 and re.fullmatch("[0-9]{4}", done.stdout.strip()), done.stdout
    done = run_in(tmp_path, parlour_cmd, "chat", "--choice", "yes", "--choice", "no", "Is Paris in France?")
    assert done.returncode == 0 and done.stdout.strip() in ("yes", "no")


def test_what_cannot_be_used_is_one_sentence(parlour_cmd: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "strin"}')
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--json-schema", bad, "Hi"))
    assert said.startswith("The JSON Schema cannot be used for structured output") and "strin" in said
    not_json = tmp_path / "notes.txt"
    not_json.write_text("a schema, surely")
    assert "is not valid JSON" in one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--json-schema", not_json, "Hi"))
    assert "not a regular file" in one_sentence(
        run_in(tmp_path, parlour_cmd, "chat", "--json-schema", "/dev/zero", "Hi")
    )
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--regex", "(ab", "Hi"))
    assert said.startswith("The regular expression cannot be used") and "unclosed group" in said


def test_load_options_reach_the_engine_and_a_bad_combination_is_a_sentence(
    parlour_cmd: list[str], tmp_path: Path
) -> None:
    done = run_in(
        tmp_path,
        parlour_cmd,
        "chat",
        "--kv-cache",
        "q4_0",
        "--batch-size",
        "128",
        "--no-mmap",
        "--threads",
        "1",
        "--temperature",
        "0",
        "--max-tokens",
        "12",
        "What is the capital of France?",
    )
    assert done.returncode == 0 and "Paris" in done.stdout, done.stderr
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--kv-cache", "q8_0", "--flash-attn", "off", "Hi"))
    assert said.startswith("A q8_0 KV cache needs flash attention on llama.cpp")
    assert "batch size" in one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--batch-size", "5", "Hi"))
