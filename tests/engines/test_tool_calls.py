"""Tool calls are found in streamed replies of each family's format, whatever the cuts between deltas.

The samples are written as the models emit them (Qwen 2.5/3 and Hermes, Llama 3.1/3.2, Mistral v0.3 and
Nemo, Granite 3.x); the templates' own rendering of an assistant tool call is parsed back as well. Every
sample is fed whole, one character at a time and in random pieces, and must give the same events.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engines.reasoning import ReasoningSplitter
from engines.templates import render_chat
from engines.tool_call_formats import NOT_JSON_SENTENCE, new_call_id
from engines.tool_calls import (
    MAX_CALL_CHARS,
    TOO_LONG_SENTENCE,
    UNFINISHED_SENTENCE,
    MalformedToolCall,
    TextPiece,
    ToolCall,
    ToolCallEvent,
    ToolCallFormat,
    ToolCallParser,
    detect_format,
    tool_calls_to_openai,
)
from tests.fuzz.profiles import fuzz_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "templates"
HERMES, LLAMA, MISTRAL = ToolCallFormat.HERMES, ToolCallFormat.LLAMA3_JSON, ToolCallFormat.MISTRAL
GRANITE, GENERIC = ToolCallFormat.GRANITE, ToolCallFormat.GENERIC
GENERATED_ID = re.compile(r"call_[0-9a-f]{12}")
MISTRAL_ID = re.compile(r"[A-Za-z0-9]{9}")

# ------------------------------------------------------------------------------------------------ helpers

# What a stream comes to, ids aside: ("text", joined text) / ("call", name, arguments, id or "*") /
# ("bad", raw, reason). A generated id becomes "*" once its shape is checked.
Outcome = tuple[Any, ...]


def text(value: str) -> Outcome:
    return ("text", value)


def call(name: str, arguments: dict[str, Any], call_id: str = "*") -> Outcome:
    return ("call", name, arguments, call_id)


def bad(raw: str, reason: str) -> Outcome:
    return ("bad", raw, reason)


def outcomes(fmt: ToolCallFormat, events: list[ToolCallEvent], reply: str) -> list[Outcome]:
    result: list[Outcome] = []
    for event in events:
        if isinstance(event, TextPiece):
            assert event.text, "an empty text piece is noise"
            if result and result[-1][0] == "text":
                result[-1] = text(result[-1][1] + event.text)
            else:
                result.append(text(event.text))
        elif isinstance(event, ToolCall):
            given = f'"{event.id}"' in reply
            if not given:  # generated: Mistral's templates take only 9 letters or digits
                assert (MISTRAL_ID if fmt is MISTRAL else GENERATED_ID).fullmatch(event.id), event.id
            result.append(call(event.name, event.arguments, event.id if given else "*"))
        else:
            assert isinstance(event, MalformedToolCall)
            assert re.fullmatch(r"[A-Z].*\.", event.reason), "the reason is one plain sentence"
            result.append(bad(event.raw, event.reason))
    return result


def parse(fmt: ToolCallFormat, pieces: list[str]) -> list[Outcome]:
    parser = ToolCallParser(fmt)
    events = [event for piece in pieces for event in parser.feed(piece)]
    return outcomes(fmt, events + list(parser.finish()), "".join(pieces))


def random_pieces(value: str, seed: int, largest: int = 12) -> list[str]:
    rng = random.Random(seed)
    pieces, start = [], 0
    while start < len(value):
        size = rng.randint(1, largest)
        pieces.append(value[start : start + size])
        start += size
    return pieces


def parse_every_way(fmt: ToolCallFormat, value: str, *, by_character: bool = True) -> list[Outcome]:
    """The outcome of `value` fed whole, which must also come from every other way of cutting it."""
    whole = parse(fmt, [value])
    cuts = [random_pieces(value, seed) for seed in range(5)] + [random_pieces(value, 99, largest=4096)]
    if by_character:
        cuts.append(list(value))
    for pieces in cuts:
        assert parse(fmt, pieces) == whole, f"cut into {len(pieces)} pieces"
    return whole


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.jinja").read_text(encoding="utf-8")


# ------------------------------------------------------------------------- replies as the models write them

WEATHER = {"city": "Zürich"}
QWEN_CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call>'

SAMPLES: dict[str, tuple[ToolCallFormat, str, list[Outcome]]] = {
    # Qwen 2.5 / Qwen 3 (after its think block) / Hermes 2 Pro and 3
    "qwen-one-call": (HERMES, QWEN_CALL, [call("get_weather", WEATHER)]),
    "qwen-parallel-calls": (
        HERMES,
        QWEN_CALL + '\n<tool_call>\n{"name": "get_time", "arguments": {"timezone": "Europe/Zurich"}}\n</tool_call>',
        [call("get_weather", WEATHER), text("\n"), call("get_time", {"timezone": "Europe/Zurich"})],
    ),
    "qwen3-text-then-call": (
        HERMES,
        "I'll look up the current weather in Zürich for you.\n\n" + QWEN_CALL,
        [text("I'll look up the current weather in Zürich for you.\n\n"), call("get_weather", WEATHER)],
    ),
    "hermes-arguments-first-and-as-a-string": (
        HERMES,
        '<tool_call>\n{"arguments": "{\\"query\\": \\"météo Zürich\\"}", "name": "web_search"}\n</tool_call>',
        [call("web_search", {"query": "météo Zürich"})],
    ),
    "hermes-json-holding-brackets-quotes-and-the-close-tag-name": (
        HERMES,
        '<tool_call>{"name": "write_file", "arguments": {"path": "a.md", "text": "{x} [y] \\"z\\" \\\\ tool_call>"}}'
        "</tool_call>\nDone.",
        [call("write_file", {"path": "a.md", "text": '{x} [y] "z" \\ tool_call>'}), text("\nDone.")],
    ),
    "hermes-plain-answer-with-angle-brackets": (
        HERMES,
        "Use <tools> or <tool_ and 3 < 4; </tool_call> alone is text. 東京 🌦️",
        [text("Use <tools> or <tool_ and 3 < 4; </tool_call> alone is text. 東京 🌦️")],
    ),
    "hermes-reply-ends-in-half-a-marker": (HERMES, "See <tool_ca", [text("See <tool_ca")]),
    "hermes-call-with-given-id": (
        HERMES,
        '<tool_call>{"name": "f", "arguments": {}, "id": "given-7"}</tool_call>',
        [call("f", {}, "given-7")],
    ),
    "generic-compact-hermes-tags": (
        GENERIC,
        'Sure.<tool_call>{"name":"get_weather","arguments":{"city":"Zürich"}}</tool_call>',
        [text("Sure."), call("get_weather", WEATHER)],
    ),
    # Llama 3.2 (and 3.1, whose calls may be tagged and several)
    "llama-3.2-call": (
        LLAMA,
        '{"name": "get_weather", "parameters": {"city": "Zürich"}}',
        [call("get_weather", WEATHER)],
    ),
    "llama-3.1-python-tag-typed-call": (
        LLAMA,
        '<|python_tag|>{"type": "function", "name": "get_weather", "parameters": {"city": "Zürich"}}',
        [call("get_weather", WEATHER)],
    ),
    "llama-3.1-two-calls": (
        LLAMA,
        '\n{"name": "get_weather", "parameters": {"city": "Paris"}}; '
        '{"name": "get_weather", "parameters": {"city": "Rome"}}',
        [call("get_weather", {"city": "Paris"}), call("get_weather", {"city": "Rome"})],
    ),
    "llama-call-then-text": (
        LLAMA,
        '{"name": "get_weather", "parameters": "{\\"city\\": \\"Zürich\\"}"}\nI asked for the weather.',
        [call("get_weather", WEATHER), text("\nI asked for the weather.")],
    ),
    "llama-plain-answer": (
        LLAMA,
        "The weather in Zürich is 21 °C and sunny.",
        [text("The weather in Zürich is 21 °C and sunny.")],
    ),
    "llama-answer-that-is-json": (
        LLAMA,
        '  {"city": "Zürich", "temperature_c": 21}\nAs requested.',
        [text('  {"city": "Zürich", "temperature_c": 21}\nAs requested.')],
    ),
    "llama-call-shaped-json-after-text-is-text": (
        LLAMA,
        'The call would be {"name": "get_weather", "parameters": {}}',
        [text('The call would be {"name": "get_weather", "parameters": {}}')],
    ),
    "llama-3.1-built-in-tool-syntax-is-text": (
        LLAMA,
        '<|python_tag|>brave_search.call(query="weather in Zürich")',
        [text('<|python_tag|>brave_search.call(query="weather in Zürich")')],
    ),
    "llama-unfinished-answer-json-is-text": (LLAMA, '{"answer": 4', [text('{"answer": 4')]),
    # Mistral v0.3 (no id in what the model writes) and Nemo (with one)
    "mistral-v0.3-call": (
        MISTRAL,
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}}]',
        [call("get_weather", WEATHER)],
    ),
    "mistral-nemo-call-with-id": (
        MISTRAL,
        '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Zürich"}, "id": "a1B2c3D4e"}]',
        [call("get_weather", WEATHER, "a1B2c3D4e")],
    ),
    "mistral-two-calls-after-text": (
        MISTRAL,
        'Je vérifie. [TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, '
        '{"name": "get_time", "arguments": {"timezone": "Europe/Paris"}}]',
        [text("Je vérifie. "), call("get_weather", {"city": "Paris"}), call("get_time", {"timezone": "Europe/Paris"})],
    ),
    "mistral-arguments-with-escapes-and-brackets": (
        MISTRAL,
        '[TOOL_CALLS] [{"name": "note", "arguments": {"text": "say \\"hi]\\" \\\\ [x] {y}"}, "id": "n0t3s4v3d"}] ok',
        [call("note", {"text": 'say "hi]" \\ [x] {y}'}, "n0t3s4v3d"), text(" ok")],
    ),
    "mistral-plain-answer-with-brackets": (
        MISTRAL,
        "See [1] and [TOOL_RESULTS] or [TOOL_ in the docs.",
        [text("See [1] and [TOOL_RESULTS] or [TOOL_ in the docs.")],
    ),
    # Granite 3.x
    "granite-call": (
        GRANITE,
        '<|tool_call|>[{"name": "get_current_weather", "arguments": {"location": "Boston, MA"}}]',
        [call("get_current_weather", {"location": "Boston, MA"})],
    ),
    "granite-two-calls": (
        GRANITE,
        '<|tool_call|>[{"name": "get_current_weather", "arguments": {"location": "Boston, MA"}}, '
        '{"name": "get_stock_price", "arguments": {"ticker": "IBM"}}]',
        [call("get_current_weather", {"location": "Boston, MA"}), call("get_stock_price", {"ticker": "IBM"})],
    ),
}

NO_NAME = "The tool call has no function name."
NOT_OBJECT = "The tool call has arguments that are not a JSON object."
BROKEN_QWEN = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}\n</tool_call>'

MALFORMED: dict[str, tuple[ToolCallFormat, str, list[Outcome]]] = {
    "hermes-broken-json": (HERMES, BROKEN_QWEN, [bad(BROKEN_QWEN, NOT_JSON_SENTENCE)]),
    "hermes-missing-name": (
        HERMES,
        '<tool_call>\n{"arguments": {"city": "Zürich"}}\n</tool_call>',
        [bad('<tool_call>\n{"arguments": {"city": "Zürich"}}\n</tool_call>', NO_NAME)],
    ),
    "hermes-arguments-a-list": (
        HERMES,
        '<tool_call>{"name": "get_weather", "arguments": ["Zürich"]}</tool_call>',
        [bad('<tool_call>{"name": "get_weather", "arguments": ["Zürich"]}</tool_call>', NOT_OBJECT)],
    ),
    "hermes-arguments-a-string-of-a-number": (
        HERMES,
        '<tool_call>{"name": "f", "arguments": "42"}</tool_call>',
        [bad('<tool_call>{"name": "f", "arguments": "42"}</tool_call>', NOT_OBJECT)],
    ),
    "hermes-arguments-a-string-not-json": (
        HERMES,
        '<tool_call>{"name": "f", "arguments": "Zürich"}</tool_call>',
        [
            bad(
                '<tool_call>{"name": "f", "arguments": "Zürich"}</tool_call>',
                "The tool call has arguments that are not valid JSON.",
            )
        ],
    ),
    "hermes-bad-call-then-good-call": (
        HERMES,
        BROKEN_QWEN + "\n" + QWEN_CALL,
        [bad(BROKEN_QWEN, NOT_JSON_SENTENCE), text("\n"), call("get_weather", WEATHER)],
    ),
    "hermes-unterminated": (
        HERMES,
        'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zü',
        [
            text("Checking.\n"),
            bad('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zü', UNFINISHED_SENTENCE),
        ],
    ),
    "hermes-json-complete-but-tag-never-closed": (
        HERMES,
        '<tool_call>\n{"name": "f", "arguments": {}}',
        [bad('<tool_call>\n{"name": "f", "arguments": {}}', UNFINISHED_SENTENCE)],
    ),
    "mistral-unterminated": (
        MISTRAL,
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}}',
        [bad('[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}}', UNFINISHED_SENTENCE)],
    ),
    "mistral-marker-at-the-very-end": (MISTRAL, "[TOOL_CALLS] ", [bad("[TOOL_CALLS] ", UNFINISHED_SENTENCE)]),
    "mistral-broken-json": (
        MISTRAL,
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {city: "Zürich"}}] and after',
        [
            bad('[TOOL_CALLS] [{"name": "get_weather", "arguments": {city: "Zürich"}}]', NOT_JSON_SENTENCE),
            text(" and after"),
        ],
    ),
    "mistral-second-call-without-name-spoils-the-list": (
        MISTRAL,
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {}}, {"arguments": {}}]',
        [
            bad(
                '[TOOL_CALLS] [{"name": "get_weather", "arguments": {}}, {"arguments": {}}]',
                "Tool call 2 of 2 has no function name.",
            )
        ],
    ),
    "mistral-empty-list": (MISTRAL, "[TOOL_CALLS] []", [bad("[TOOL_CALLS] []", "The tool call list is empty.")]),
    "mistral-later-syntax-is-not-json": (
        MISTRAL,
        '[TOOL_CALLS]get_weather[ARGS]{"city": "Zürich"}',
        [
            bad("[TOOL_CALLS]", "The tool-call marker [TOOL_CALLS] is not followed by JSON."),
            text('get_weather[ARGS]{"city": "Zürich"}'),
        ],
    ),
    "granite-arguments-not-json": (
        GRANITE,
        '<|tool_call|>[{"name": "get_current_weather", "arguments": "Boston"}]',
        [
            bad(
                '<|tool_call|>[{"name": "get_current_weather", "arguments": "Boston"}]',
                "The tool call has arguments that are not valid JSON.",
            )
        ],
    ),
    "granite-list-of-strings": (
        GRANITE,
        '<|tool_call|>["get_current_weather"]',
        [bad('<|tool_call|>["get_current_weather"]', "The tool call is not a JSON object.")],
    ),
    "llama-parameters-not-an-object": (
        LLAMA,
        '{"name": "get_weather", "parameters": ["Zürich"]}',
        [bad('{"name": "get_weather", "parameters": ["Zürich"]}', NOT_OBJECT)],
    ),
    "llama-call-shaped-but-broken-json": (
        LLAMA,
        '{"name": "get_weather", "parameters": {city: "Zürich"}}',
        [bad('{"name": "get_weather", "parameters": {city: "Zürich"}}', NOT_JSON_SENTENCE)],
    ),
    "llama-unterminated-call": (
        LLAMA,
        '{"name": "get_weather", "parameters": {"city": "Zürich"}',
        [bad('{"name": "get_weather", "parameters": {"city": "Zürich"}', UNFINISHED_SENTENCE)],
    ),
    "llama-tagged-unterminated": (
        LLAMA,
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Zü',
        [bad('<|python_tag|>{"name": "get_weather", "parameters": {"city": "Zü', UNFINISHED_SENTENCE)],
    ),
    "llama-tagged-without-name": (
        LLAMA,
        '<|python_tag|>{"query": "weather"}',
        [bad('<|python_tag|>{"query": "weather"}', NO_NAME)],
    ),
}


@pytest.mark.parametrize("name", list(SAMPLES) + list(MALFORMED))
def test_every_cut_of_a_reply_gives_its_events(name: str) -> None:
    fmt, reply, expected = SAMPLES.get(name) or MALFORMED[name]
    assert parse_every_way(fmt, reply) == expected


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_call_loses_no_text_and_runs_nothing(name: str) -> None:
    fmt, reply, _ = MALFORMED[name]
    found = parse(fmt, [reply])
    if not any(kind == "call" for kind, *_ in found):
        assert "".join(item[1] for item in found) == reply  # the raw text of each bad call, in place


@pytest.mark.parametrize("fmt", list(ToolCallFormat))
def test_hermes_samples_need_their_format(fmt: ToolCallFormat) -> None:
    # Another format's parser reads a Qwen reply as the text it is, exactly.
    if fmt in (HERMES, GENERIC):
        assert parse(fmt, [QWEN_CALL]) == [call("get_weather", WEATHER)]
    else:
        assert parse(fmt, [QWEN_CALL]) == [text(QWEN_CALL)]


# ------------------------------------------------------------------------------------------------ streaming


def test_text_is_passed_on_at_once_and_only_a_possible_marker_is_held() -> None:
    parser = ToolCallParser(HERMES)
    assert list(parser.feed("Let me check <b>")) == [TextPiece("Let me check <b>")]
    assert list(parser.feed(" now <tool_")) == [TextPiece(" now ")]
    assert list(parser.feed('call>{"name": "f", "arguments": {}}')) == []
    [event] = parser.feed("</tool_call>")  # the call comes as soon as it closes, before the reply ends
    assert isinstance(event, ToolCall) and event.name == "f"
    assert list(parser.finish()) == []


@pytest.mark.parametrize(
    ("fmt", "opening", "closing"),
    [
        (MISTRAL, '[TOOL_CALLS] [{"name": "f", "arguments": {"a": "]}"}}', "]"),
        (GRANITE, '<|tool_call|>[{"name": "f", "arguments": {"a": "]}"}}', "]"),
        (LLAMA, '{"name": "f", "parameters": {"a": "]}"}', "}"),
    ],
)
def test_a_json_call_comes_when_its_json_closes(fmt: ToolCallFormat, opening: str, closing: str) -> None:
    parser = ToolCallParser(fmt)
    assert list(parser.feed(opening)) == []
    [event] = parser.feed(closing)
    assert isinstance(event, ToolCall) and event.arguments == {"a": "]}"}


def test_a_llama_reply_is_shown_as_soon_as_it_cannot_be_a_call() -> None:
    parser = ToolCallParser(LLAMA)
    assert list(parser.feed("\n <|python")) == []
    assert list(parser.feed("_tag|> x")) == [TextPiece("\n <|python_tag|> x")]
    assert list(parser.feed(" and more")) == [TextPiece(" and more")]


def test_a_llama_reply_opening_with_much_blank_space_is_text() -> None:
    reply = " " * 2000 + '{"name": "f", "parameters": {}}'
    assert parse_every_way(LLAMA, reply, by_character=False) == [text(reply)]


# ------------------------------------------------------------------------------------------------ the bound


def padded_call(fmt: ToolCallFormat, json_length: int) -> tuple[str, str, str]:
    """(opener, a call's JSON exactly `json_length` characters long, closer) in `fmt`."""
    key = "parameters" if fmt is LLAMA else "arguments"
    shell = '{"name": "f", "%s": {"x": "%s"}}' % (key, "%s")  # noqa: UP031  # the padding goes in the middle
    if fmt in (MISTRAL, GRANITE):
        shell = "[" + shell + "]"
    padding = json_length - len(shell % "")
    body = shell % ("a" * padding)
    opener = {HERMES: "<tool_call>", MISTRAL: "[TOOL_CALLS]", GRANITE: "<|tool_call|>", LLAMA: ""}[fmt]
    return opener, body, "</tool_call>" if fmt is HERMES else ""


@pytest.mark.parametrize("fmt", [HERMES, MISTRAL, GRANITE, LLAMA])
def test_a_call_of_exactly_the_bound_is_read(fmt: ToolCallFormat) -> None:
    opener, body, closer = padded_call(fmt, MAX_CALL_CHARS)
    [outcome] = parse_every_way(fmt, opener + body + closer, by_character=False)
    assert outcome[0] == "call" and len(outcome[2]["x"]) > MAX_CALL_CHARS - 100


@pytest.mark.parametrize("fmt", [HERMES, MISTRAL, GRANITE, LLAMA])
def test_a_call_over_the_bound_is_malformed_and_the_rest_is_text(fmt: ToolCallFormat) -> None:
    opener, body, closer = padded_call(fmt, MAX_CALL_CHARS + 1)
    after = "\nDone." + opener + '{"name": "g", "arguments": {}}' + closer  # no longer read as a call
    reply = opener + body + closer + after
    found = parse_every_way(fmt, reply, by_character=fmt is HERMES)
    assert found == [
        bad(opener + body[:MAX_CALL_CHARS], TOO_LONG_SENTENCE),
        text(body[MAX_CALL_CHARS:] + closer + after),
    ]


def test_an_unclosed_call_over_the_bound_is_malformed_before_the_reply_ends() -> None:
    parser = ToolCallParser(MISTRAL)
    events = list(parser.feed("[TOOL_CALLS] [" + "{" * (MAX_CALL_CHARS + 10)))
    assert [type(event) for event in events] == [MalformedToolCall, TextPiece]
    assert isinstance(events[0], MalformedToolCall) and events[0].reason == TOO_LONG_SENTENCE


def test_a_long_json_answer_from_llama_is_text() -> None:
    reply = '{"data": "' + "a" * (MAX_CALL_CHARS + 5) + '"}'
    assert parse_every_way(LLAMA, reply, by_character=False) == [text(reply)]


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    reply = "<tool_call>" + "[" * 100_000 + "]" * 100_000 + "</tool_call>"
    assert parse(HERMES, [reply]) == [bad(reply, NOT_JSON_SENTENCE)]


# ------------------------------------------------------------------------------- random replies, any cuts

FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    "<tool",
    "_call>",
    "[TOOL_CALLS]",
    "[TOOL",
    "<|tool_call|>",
    "<|python_tag|>",
    "{",
    "}",
    "[",
    "]",
    '"',
    "\\",
    '"name"',
    '"arguments"',
    '"parameters"',
    ":",
    ",",
    ";",
    '"f"',
    "{}",
    " ",
    "\n",
    "text",
    "é",
    "🌦️",
]


@fuzz_settings(examples=150)
@given(
    fmt=st.sampled_from(list(ToolCallFormat)),
    reply=st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
    seed=st.integers(0, 2**16),
)
def test_any_reply_cut_anywhere_gives_the_same_events_and_loses_nothing(
    fmt: ToolCallFormat, reply: str, seed: int
) -> None:
    whole = parse(fmt, [reply])
    assert parse(fmt, list(reply)) == whole
    assert parse(fmt, random_pieces(reply, seed)) == whole
    if not any(kind == "call" for kind, *_ in whole):
        assert "".join(item[1] for item in whole) == reply


# ----------------------------------------------------------------- the templates' own rendering, parsed back

TEMPLATE_TOKENS = {  # bos, eos, what ends the assistant's turn in the rendered text
    "qwen2.5-7b-instruct": ("", "<|im_end|>", "<|im_end|>\n"),
    "qwen3-0.6b": ("", "<|im_end|>", "<|im_end|>\n"),
    "llama-3.2-3b-instruct": ("<|begin_of_text|>", "<|eot_id|>", "<|eot_id|>"),
    "mistral-7b-instruct-v0.3": ("<s>", "</s>", "</s>"),
    "mistral-nemo-instruct-2407": ("<s>", "</s>", "</s>"),
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": "Aktuelles Wetter / current time",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
    for name in ("get_weather", "get_time")
]
USER = {"role": "user", "content": "Wie ist das Wetter in Zürich?"}


def assistant_with_calls(template: str, calls: list[tuple[str, str, Any]]) -> dict[str, Any]:
    tool_calls = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]
    # Qwen 3's template reads a tool-calling message's content, so it needs one; the others take None.
    return {"role": "assistant", "content": "" if template == "qwen3-0.6b" else None, "tool_calls": tool_calls}


def rendered_reply(template: str, message: dict[str, Any]) -> str:
    """The assistant's turn as the template writes it: all that follows the generation prompt."""
    bos, eos, end_of_turn = TEMPLATE_TOKENS[template]
    source = fixture(template)
    prompt = render_chat(source, [USER], tools=TOOLS, bos_token=bos, eos_token=eos)
    whole = render_chat(source, [USER, message], tools=TOOLS, add_generation_prompt=False, bos_token=bos, eos_token=eos)
    assert whole.startswith(prompt) and whole.endswith(end_of_turn)
    reply = whole[len(prompt) : len(whole) - len(end_of_turn)]
    # What the model's answer is once the reply shaper has taken out a think block (Qwen 3 writes an empty one).
    splitter = ReasoningSplitter(prompt)
    return "".join(piece for piece, reasoning in [*splitter.feed(reply), *splitter.flush()] if not reasoning)


def calls_only(found: list[Outcome]) -> list[Outcome]:
    assert all(item[1].strip() == "" for item in found if item[0] == "text"), found
    return [item for item in found if item[0] != "text"]


@pytest.mark.parametrize("as_string", [False, True], ids=["arguments-object", "arguments-json-string"])
@pytest.mark.parametrize("template", list(TEMPLATE_TOKENS))
def test_a_call_rendered_by_the_template_is_parsed_back(template: str, as_string: bool) -> None:
    arguments = json.dumps(WEATHER, ensure_ascii=False) if as_string else WEATHER
    reply = rendered_reply(template, assistant_with_calls(template, [("call00001", "get_weather", arguments)]))
    fmt = detect_format(fixture(template), None)
    assert fmt is not None
    found = calls_only(parse_every_way(fmt, reply))
    if template == "mistral-7b-instruct-v0.3" and not as_string:
        # This template joins the JSON with `|tojson|safe` and `+`, so Jinja escapes the quotes (transformers
        # renders it the same): the text is not JSON, and is reported, not run.
        assert "&#34;" in reply and found == [bad(reply.strip(), NOT_JSON_SENTENCE)]
        return
    mistral = fmt is MISTRAL
    assert found == [call("get_weather", WEATHER, "call00001" if mistral else "*")]


@pytest.mark.parametrize("template", [name for name in TEMPLATE_TOKENS if not name.startswith("llama")])
def test_several_calls_rendered_by_the_template_are_parsed_back(template: str) -> None:
    # Llama 3.2's template refuses more than one call per message.
    calls = [("call00001", "get_weather", '{"city": "Zürich"}'), ("call00002", "get_time", '{"city": "Bern"}')]
    reply = rendered_reply(template, assistant_with_calls(template, calls))
    found = calls_only(parse_every_way(detect_format(fixture(template), None) or GENERIC, reply))
    ids = ("call00001", "call00002") if "mistral" in template else ("*", "*")
    assert found == [call("get_weather", WEATHER, ids[0]), call("get_time", {"city": "Bern"}, ids[1])]


@pytest.mark.parametrize("template", list(TEMPLATE_TOKENS))
def test_parsed_calls_and_their_results_render_for_the_next_turn(template: str) -> None:
    """The OpenAI shape of parsed calls, and their ids (Mistral's must be 9 letters or digits), render."""
    fmt = detect_format(fixture(template), None)
    assert fmt is not None
    model_reply = {
        HERMES: QWEN_CALL,
        LLAMA: '{"name": "get_weather", "parameters": {"city": "Zürich"}}',
        MISTRAL: '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich"}}]',
    }[fmt]
    parser = ToolCallParser(fmt)
    calls = [event for event in [*parser.feed(model_reply), *parser.finish()] if isinstance(event, ToolCall)]
    assistant: dict[str, Any] = {"role": "assistant", "content": "" if template == "qwen3-0.6b" else None}
    assistant["tool_calls"] = tool_calls_to_openai(calls)
    result = {"role": "tool", "tool_call_id": calls[0].id, "content": '{"temperature": "21 °C"}'}
    bos, eos, _ = TEMPLATE_TOKENS[template]
    prompt = render_chat(fixture(template), [USER, assistant, result], tools=TOOLS, bos_token=bos, eos_token=eos)
    assert "get_weather" in prompt and "21 °C" in prompt
    if fmt is MISTRAL:
        assert calls[0].id in prompt


# ------------------------------------------------------------------------------------------------ detection

FIXTURE_FORMATS = {
    "qwen2.5-7b-instruct": HERMES,
    "qwen3-0.6b": HERMES,
    "llama-3.2-3b-instruct": LLAMA,
    "mistral-7b-instruct-v0.3": MISTRAL,
    "mistral-nemo-instruct-2407": MISTRAL,
    "granite-3.3-2b-instruct": GRANITE,
    "deepseek-r1-distill-qwen-32b": None,  # declares DeepSeek's own call syntax, which is not read
    "smollm2-135m-instruct": GENERIC,
    "gemma-2-2b-it": GENERIC,
    "phi-3.5-mini-instruct": GENERIC,
}


def test_every_fixture_template_has_an_expected_format() -> None:
    assert sorted(FIXTURE_FORMATS) == sorted(path.stem for path in FIXTURES.glob("*.jinja"))


@pytest.mark.parametrize("template", list(FIXTURE_FORMATS))
def test_the_template_decides_the_format(template: str) -> None:
    expected = FIXTURE_FORMATS[template]
    assert detect_format(fixture(template), None) is expected
    # Markers the template declares outweigh a name that says otherwise; only a template without any defers.
    assert detect_format(fixture(template), "Granite-3.3-2B") is (GRANITE if expected is GENERIC else expected)


@pytest.mark.parametrize(
    ("model_name", "expected"),
    [
        ("Qwen2.5-7B-Instruct-Q4_K_M.gguf", HERMES),
        ("NousResearch/Hermes-3-Llama-3.1-8B", HERMES),
        ("mlx-community/Llama-3.2-3B-Instruct-4bit", LLAMA),
        ("Meta-Llama-3.1-8B-Instruct", LLAMA),
        ("Mistral-Nemo-Instruct-2407", MISTRAL),
        ("ibm-granite/granite-3.3-2b-instruct", GRANITE),
        ("DeepSeek-R1-Distill-Qwen-7B", None),
        ("SmolLM2-135M-Instruct", GENERIC),
        (None, GENERIC),
    ],
)
def test_without_markers_the_name_decides(model_name: str | None, expected: ToolCallFormat | None) -> None:
    assert detect_format(None, model_name) is expected
    assert detect_format(fixture("smollm2-135m-instruct"), model_name) is expected


def test_a_later_mistral_syntax_is_not_guessed() -> None:
    template = "{{ '[TOOL_CALLS]' + call.name + '[ARGS]' + call.arguments|tojson }}"
    assert detect_format(template, "Mistral-Small-3.2-24B") is None


# ------------------------------------------------------------------------------------------------ shapes


def test_calls_in_openai_shape() -> None:
    calls = [ToolCall("call_0123456789ab", "get_weather", {"city": "Zürich", "days": [1, 2]})]
    [shaped] = tool_calls_to_openai(calls)
    assert shaped == {
        "id": "call_0123456789ab",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Zürich", "days": [1, 2]}'},
    }
    assert tool_calls_to_openai([]) == []


def test_generated_ids() -> None:
    ids = {new_call_id(HERMES) for _ in range(50)}
    assert len(ids) == 50 and all(GENERATED_ID.fullmatch(i) for i in ids)
    assert all(MISTRAL_ID.fullmatch(new_call_id(MISTRAL)) for _ in range(50))


def test_llamacpp_writes_out_the_control_tokens_that_mark_a_tool_call(starter_gguf, monkeypatch) -> None:  # noqa: ANN001
    # The starter's vocabulary has no tool-call marker, so one of its control tokens stands in for one.
    import llama_cpp

    from engines import llamacpp_engine

    llm = llama_cpp.Llama(str(starter_gguf), vocab_only=True, verbose=False)
    start = llm.tokenize(b"<|im_start|>", add_bos=False, special=True)[0]
    word = llm.tokenize(b"hello", add_bos=False)[0]
    assert llamacpp_engine.token_piece(llm, start) == b""  # a control token: left out of the text
    assert llamacpp_engine.token_piece(llm, word) == llm.detokenize([word])
    monkeypatch.setattr(llamacpp_engine, "TOOL_CALL_MARKERS", frozenset({"<|im_start|>"}))
    assert llamacpp_engine.token_piece(llm, start) == b"<|im_start|>"  # a marker: written out for the parser
