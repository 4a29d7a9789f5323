"""The tool-call formats of the common model families: which one a model speaks, and what a call's JSON means.

Each family writes a call as JSON after its own marker (Hermes/Qwen `<tool_call>`, Mistral `[TOOL_CALLS]`,
Granite `<|tool_call|>`) or, for Llama 3.x, as a reply that is a bare JSON object. The chat template says
which: it teaches the model the syntax, so its own markers are the best evidence. The streaming side is
engines/tool_calls.py.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ToolCallFormat(StrEnum):
    HERMES = "hermes"  # Hermes 2/3, Qwen 2.5/3: <tool_call>{"name", "arguments"}</tool_call>, possibly several
    LLAMA3_JSON = "llama3_json"  # Llama 3.x: the reply is {"name", "parameters"}, maybe after <|python_tag|>
    MISTRAL = "mistral"  # Mistral v0.3, Nemo: [TOOL_CALLS] [{"name", "arguments", "id"?}, ...]
    GRANITE = "granite"  # Granite 3.x: <|tool_call|>[{"name", "arguments"}, ...]
    GENERIC = "generic"  # nothing declared: Hermes tags, which many fine-tunes copy


HERMES_OPEN, HERMES_CLOSE = "<tool_call>", "</tool_call>"
MISTRAL_MARKER = "[TOOL_CALLS]"
GRANITE_MARKER = "<|tool_call|>"
PYTHON_TAG = "<|python_tag|>"

NOT_JSON_SENTENCE = "The tool call is not valid JSON."

# The marker that opens a call, for the formats that have one.
OPENING_MARKERS: dict[ToolCallFormat, str] = {
    ToolCallFormat.HERMES: HERMES_OPEN,
    ToolCallFormat.GENERIC: HERMES_OPEN,
    ToolCallFormat.MISTRAL: MISTRAL_MARKER,
    ToolCallFormat.GRANITE: GRANITE_MARKER,
}

# Tool-call syntaxes that templates declare but this module does not read; guessing Hermes tags for
# these models would only hide that their calls are never recognised.
_UNREAD_TEMPLATE_MARKERS = (
    "tool▁calls▁begin",  # DeepSeek V3/R1 and the R1 distills
    "[ARGS]",  # Mistral's later tokenizers: [TOOL_CALLS]name[ARGS]{...}
)

# Model names, for a template that declares nothing (Hermes-2-Pro and Hermes-3 ship their tool syntax in a
# second template, and a GGUF may carry only the first). Checked in order: "Hermes-3-Llama-3.1" is Hermes.
_NAME_HINTS: tuple[tuple[re.Pattern[str], ToolCallFormat | None], ...] = (
    (re.compile(r"deepseek"), None),
    (re.compile(r"hermes|qwen|qwq"), ToolCallFormat.HERMES),
    (re.compile(r"granite"), ToolCallFormat.GRANITE),
    (re.compile(r"mistral|mixtral|ministral|codestral"), ToolCallFormat.MISTRAL),
    (re.compile(r"llama[-_ ]?3"), ToolCallFormat.LLAMA3_JSON),
)


def detect_format(template_source: str | None, model_name: str | None) -> ToolCallFormat | None:
    """The tool-call format a model speaks: its template's markers first, then its name, else GENERIC.

    None means the template declares a syntax this module cannot read (DeepSeek's, Mistral's [ARGS]).
    """
    source = template_source or ""
    if MISTRAL_MARKER in source:
        return None if "[ARGS]" in source else ToolCallFormat.MISTRAL
    if GRANITE_MARKER in source:
        return ToolCallFormat.GRANITE
    if HERMES_OPEN in source:
        return ToolCallFormat.HERMES
    # Llama 3.x templates describe the call in words: 'Respond in the format {"name": ..., "parameters": ...}'.
    if '"parameters"' in source and ("<|start_header_id|>" in source or PYTHON_TAG in source):
        return ToolCallFormat.LLAMA3_JSON
    if any(marker in source for marker in _UNREAD_TEMPLATE_MARKERS):
        return None
    name = (model_name or "").lower()
    for pattern, fmt in _NAME_HINTS:
        if pattern.search(name):
            return fmt
    return ToolCallFormat.GENERIC


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


def new_call_id(fmt: ToolCallFormat) -> str:
    # Mistral's templates refuse any id that is not 9 letters or digits when the result is sent back.
    if fmt is ToolCallFormat.MISTRAL:
        return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(9))
    return f"call_{secrets.token_hex(6)}"


def looks_like_llama_call(value: Any) -> bool:
    """Whether a Llama 3 reply's JSON object has a call's shape (else it is an answer that happens to be JSON)."""
    if not isinstance(value, dict):
        return False
    spec = value["function"] if isinstance(value.get("function"), dict) else value
    has_arguments = "parameters" in spec or "arguments" in spec
    return value.get("type") == "function" or ("name" in spec and has_arguments)


def calls_from_json(json_text: str, fmt: ToolCallFormat) -> list[ToolCall] | str:
    """The calls in one call's (or call list's) JSON, or one plain sentence saying why it is not valid.

    A list is all or nothing: running part of what the model asked for could do the wrong half of a plan.
    """
    try:
        value = json.loads(json_text)
    except (ValueError, RecursionError):
        return NOT_JSON_SENTENCE
    return calls_from_value(value, fmt)


def calls_from_value(value: Any, fmt: ToolCallFormat) -> list[ToolCall] | str:
    """The calls in one decoded call (an object) or call list, or one plain sentence saying why not."""
    items = value if isinstance(value, list) else [value]
    if not items:
        return "The tool call list is empty."
    calls: list[ToolCall] = []
    for position, item in enumerate(items, 1):
        call = _call_from_value(item, fmt)
        if isinstance(call, str):
            subject = "The tool call" if len(items) == 1 else f"Tool call {position} of {len(items)}"
            return f"{subject} {call}."
        calls.append(call)
    return calls


def _call_from_value(item: Any, fmt: ToolCallFormat) -> ToolCall | str:
    """One call, or the end of a sentence that starts with "The tool call"."""
    if not isinstance(item, dict):
        return "is not a JSON object"
    # Some models nest OpenAI's shape: {"type": "function", "function": {"name", "arguments"}}.
    spec = item["function"] if isinstance(item.get("function"), dict) else item
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        return "has no function name"
    arguments = spec.get("arguments", spec.get("parameters", {}))  # missing means a call without arguments
    if isinstance(arguments, str):  # some models send the arguments as a string of JSON
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except (ValueError, RecursionError):
            return "has arguments that are not valid JSON"
    if not isinstance(arguments, dict):
        return "has arguments that are not a JSON object"
    given_id = item.get("id", spec.get("id"))
    call_id = given_id if isinstance(given_id, str) and given_id else new_call_id(fmt)
    return ToolCall(call_id, name, arguments)


def call_summary(call: dict[str, Any]) -> str:
    """An OpenAI-shaped call as `name(arguments)`, the arguments as the model wrote them (JSON)."""
    function = call.get("function") or {}
    return f"{function.get('name', '?')}({function.get('arguments', '')})"


def tool_calls_to_openai(calls: list[ToolCall]) -> list[dict[str, Any]]:
    """The calls in OpenAI chat-completions shape, arguments as a JSON string."""
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
        }
        for call in calls
    ]
