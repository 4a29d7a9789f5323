"""Tools on the server's chat endpoint: the request's `tools` reach the model through its own chat template,
the calls it writes are parsed out of the reply (engines/tool_calls.py) and returned in the OpenAI shape,
and `tool_choice: "required"` (or a named tool) constrains the call with a grammar where the model's format
allows it. Parlour does not run tools on behalf of API clients: the client runs them and sends the results
back as `tool` messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from app.server.errors import ApiError
from engines.base import GenerationParams
from engines.response_format import CONSTRAINED_CALL_FORMATS, MAX_TOOLS
from engines.tool_calls import MalformedToolCall, TextPiece, ToolCall, ToolCallFormat, ToolCallParser, detect_format


@dataclass(frozen=True)
class ToolRequest:
    tools: list[dict[str, Any]]
    choice: str  # "auto", "required", "none", or the name of the one tool that must be called

    @property
    def offered(self) -> bool:
        return bool(self.tools) and self.choice != "none"

    def variables(self) -> dict[str, Any]:
        """What the chat template is given."""
        return {"tools": self.tools} if self.offered else {}


def tool_request(body: dict[str, Any]) -> ToolRequest:
    """The request's tools and tool_choice, checked; each problem a sentence naming the field."""
    tools = body.get("tools") or []
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise ApiError(400, f"tools must be a list of at most {MAX_TOOLS} tools.", "tools")
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise ApiError(400, f"tools[{index}] needs a function with a name.", f"tools[{index}]")
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, dict):
        named = choice.get("function", {}).get("name") if isinstance(choice.get("function"), dict) else None
        if named not in [tool["function"]["name"] for tool in tools]:
            raise ApiError(400, "tool_choice names a function that is not in tools.", "tool_choice")
        return ToolRequest(tools, str(named))
    if choice not in ("auto", "none", "required"):
        raise ApiError(400, "tool_choice must be auto, none, required or a named function.", "tool_choice")
    if choice == "required" and not tools:
        raise ApiError(400, "tool_choice is required but no tools were given.", "tool_choice")
    return ToolRequest(tools, choice)


def call_format(template: str | None, model_name: str) -> ToolCallFormat:
    """How this model writes a call, from its chat template's own markers (Hermes tags when it says nothing)."""
    return detect_format(template, model_name) or ToolCallFormat.GENERIC


def constrained(params: GenerationParams, request: ToolRequest, fmt: ToolCallFormat) -> GenerationParams:
    """With a call required (or one tool named), the reply is a call of an offered tool, written by the grammar
    so even a small model produces a valid one; other replies are left free."""
    if not request.offered or request.choice == "auto" or fmt.value not in CONSTRAINED_CALL_FORMATS:
        return params
    tools = (
        request.tools
        if request.choice == "required"
        else [tool for tool in request.tools if tool["function"]["name"] == request.choice]
    )
    return replace(params, response_format={"type": "tool_call", "format": fmt.value, "tools": tools})


@dataclass
class CallCollector:
    """The reply's text and its tool calls, as they stream; a malformed call stays text, never a call."""

    parser: ToolCallParser
    calls: list[ToolCall] = field(default_factory=list)

    def feed(self, text: str) -> Iterator[str | ToolCall]:
        yield from self._sorted(self.parser.feed(text))

    def finish(self) -> Iterator[str | ToolCall]:
        yield from self._sorted(self.parser.finish())

    def _sorted(self, events: Iterator[Any]) -> Iterator[str | ToolCall]:
        for event in events:
            if isinstance(event, TextPiece):
                yield event.text
            elif isinstance(event, MalformedToolCall):
                yield event.raw
            elif isinstance(event, ToolCall):
                self.calls.append(event)
                yield event


def collector(fmt: ToolCallFormat) -> CallCollector:
    return CallCollector(ToolCallParser(fmt))


def split_reply(text: str, fmt: ToolCallFormat) -> tuple[str, list[ToolCall]]:
    """A whole reply as (its text without the calls, the calls)."""
    calls = collector(fmt)
    parts = [piece for piece in (*calls.feed(text), *calls.finish()) if isinstance(piece, str)]
    return "".join(parts), calls.calls
