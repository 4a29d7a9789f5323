"""The shape of a request's `response_format`, checked where the request is made (no grammar library is
imported here: the engines compile it, with the model's vocabulary; see engines/constraints.py).

{"type": "json_object"}, {"type": "json_schema", "schema": {...}}, {"type": "regex", "pattern": "..."} or
{"type": "choice", "choices": ["...", ...]}.
"""

from __future__ import annotations

import json
from typing import Any

RESPONSE_FORMAT_TYPES = ("json_object", "json_schema", "regex", "choice", "tool_call")
# The tool-call formats whose call a grammar can write (their markers are plain text in the vocabulary).
CONSTRAINED_CALL_FORMATS = ("hermes", "generic", "llama3_json")
MAX_TOOLS = 128
MAX_SCHEMA_BYTES = 256 * 1024  # far past any real schema; bounds what the grammar compiler is given
MAX_CHOICES = 1000


def response_format_problem(fmt: Any) -> str | None:
    """What is wrong with a response format's shape, in words; None when it is well formed. Cheap: it does
    not compile anything (the engine does, with the model's vocabulary)."""
    if not isinstance(fmt, dict) or fmt.get("type") not in RESPONSE_FORMAT_TYPES:
        return "the response format's type must be one of " + ", ".join(RESPONSE_FORMAT_TYPES)
    kind = fmt["type"]
    if kind == "json_schema":
        schema = fmt.get("schema")
        if not isinstance(schema, dict | bool):
            return "a json_schema response format needs a schema (a JSON object)"
        try:
            size = len(json.dumps(schema, allow_nan=False))
        except (ValueError, TypeError, RecursionError):
            return "the JSON Schema is not plain JSON (or is nested too deeply)"
        if size > MAX_SCHEMA_BYTES:
            return "the JSON Schema is larger than 256 KB"
    elif kind == "tool_call":
        return _tool_call_problem(fmt)
    elif kind == "regex" and not (isinstance(fmt.get("pattern"), str) and fmt["pattern"]):
        return "a regex response format needs a pattern"
    elif kind == "choice":
        choices = fmt.get("choices")
        if not (isinstance(choices, list) and choices and all(isinstance(c, str) and c for c in choices)):
            return "a choice response format needs a list of non-empty texts"
        if len(choices) > MAX_CHOICES:
            return f"a choice response format takes at most {MAX_CHOICES} choices"
    return None


def _tool_call_problem(fmt: dict[str, Any]) -> str | None:
    """A required tool call: {"type": "tool_call", "format": ..., "tools": [OpenAI-shaped tools]}."""
    if fmt.get("format") not in CONSTRAINED_CALL_FORMATS:
        return "a required tool call can be constrained only in the formats " + ", ".join(CONSTRAINED_CALL_FORMATS)
    tools = fmt.get("tools")
    if not isinstance(tools, list) or not tools or len(tools) > MAX_TOOLS:
        return f"a required tool call needs 1 to {MAX_TOOLS} tools"
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            return "each tool needs a function with a name"
        if not isinstance(function.get("parameters", {}), dict):
            return f"the parameters of tool {function['name']} must be a JSON Schema object"
    return None
