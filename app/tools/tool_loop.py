"""One reply with tools: the model is offered the MCP servers' tools through its own chat template, each call it
writes is parsed out of the stream, shown, and run only when the person approves it; the result goes back
to the model and the reply continues. At most 8 calls per reply; each call bounded by a timeout; a server
that crashes or hangs is a sentence fed back to the model, and the reply goes on.

No Qt: the terminal chat uses it as it is, and `approve` is whatever asks the person (a prompt in the
terminal, a card in the window). The events say what happened, in order, for the caller to show and keep.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from typing import Any

from app.tools.approval import MAX_CALLS_PER_REPLY, Answer, ToolLoopBudget, denied_sentence
from app.tools.errors import ToolError
from engines.base import Delta, Finished, GenerationParams, Message
from engines.host_client import EngineClient
from engines.response_format import CONSTRAINED_CALL_FORMATS
from engines.tool_calls import (
    MalformedToolCall,
    TextPiece,
    ToolCall,
    ToolCallFormat,
    ToolCallParser,
    detect_format,
    tool_calls_to_openai,
)


@dataclass(frozen=True)
class ReplyText:
    text: str
    reasoning: bool = False


@dataclass(frozen=True)
class CallAsked:
    """The model wrote a call; it runs only if `approve` says so."""

    call: ToolCall
    server: str


@dataclass(frozen=True)
class CallDone:
    call: ToolCall
    result: str  # what goes back to the model: the tool's text, or the sentence of why there is none
    ran: bool  # False: denied, refused by the budget, or failed
    error: str | None = None


@dataclass(frozen=True)
class Notice:
    """A sentence for the person: a malformed call shown as text, the call budget spent."""

    text: str


@dataclass(frozen=True)
class TurnEnded:
    finished: Finished
    messages: list[Message]  # the conversation as it now stands: assistant calls and tool results included


ToolTurnEvent = ReplyText | CallAsked | CallDone | Notice | TurnEnded


def offered_tools(servers: Any) -> list[dict[str, Any]]:
    """The servers' switched-on tools in the shape chat templates (and the OpenAI API) take."""
    return [
        {
            "type": "function",
            "function": {"name": info.key, "description": info.description, "parameters": info.input_schema},
        }
        for info in servers.tools()
    ]


def tool_turn(
    client: EngineClient,
    messages: list[Message],
    params: GenerationParams,
    servers: Any,
    approve: Callable[[ToolCall, str], Answer],
    *,
    template: str | None = None,
    require_call: bool = False,
    call_timeout_s: float = 60.0,
    max_calls: int = MAX_CALLS_PER_REPLY,
    required_rounds: int = 1,
) -> Iterator[ToolTurnEvent]:
    """A reply with tools, from the first token to its end (through any number of approved calls).

    With `require_call`, the first `required_rounds` rounds of the reply must each be a call (the grammar
    writes it where the model's format allows), as an API client's tool_choice "required" asks."""
    conversation = list(messages)
    infos = {info.key: info for info in servers.tools()}
    tools = offered_tools(servers)
    model = client.model
    fmt = detect_format(template or (model.chat_template if model else None), model.name if model else None)
    fmt = fmt or ToolCallFormat.GENERIC
    budget = ToolLoopBudget(max_calls)
    rounds = 0
    while True:
        forced = require_call and tools and rounds < required_rounds
        round_params = _required_call(params, fmt, tools) if forced else params
        rounds += 1
        text, calls, finished = yield from _one_reply(client, conversation, round_params, template, tools, fmt)
        if finished.finish_reason == "error" or not calls:
            conversation.append({"role": "assistant", "content": text})
            yield TurnEnded(finished, conversation)
            return
        conversation.append({"role": "assistant", "content": text, "tool_calls": tool_calls_to_openai(calls)})
        for call in calls:
            done = yield from _run_call(call, infos, servers, approve, budget, call_timeout_s)
            conversation.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": done.result})
        if budget.remaining <= 0:
            yield Notice(f"This reply reached its limit of {max_calls} tool calls; it ends here.")
            yield TurnEnded(finished, conversation)
            return


def _required_call(params: GenerationParams, fmt: ToolCallFormat, tools: list[dict[str, Any]]) -> GenerationParams:
    """The first round must be a call: the grammar writes it where the format allows."""
    if fmt.value not in CONSTRAINED_CALL_FORMATS:
        return params
    return replace(params, response_format={"type": "tool_call", "format": fmt.value, "tools": tools})


def _one_reply(
    client: EngineClient,
    conversation: list[Message],
    params: GenerationParams,
    template: str | None,
    tools: list[dict[str, Any]],
    fmt: ToolCallFormat,
) -> Generator[ToolTurnEvent, None, tuple[str, list[ToolCall], Finished]]:
    """Stream one reply, text shown as it comes and calls collected; returns (text, calls, finished)."""
    parser = ToolCallParser(fmt)
    parts: list[str] = []
    calls: list[ToolCall] = []
    finished: Finished = Finished("error", error="The reply ended without a word from the engine.")
    variables = {"tools": tools} if tools else {}
    for event in client.generate(conversation, params, template, variables):
        if isinstance(event, Delta) and event.reasoning:
            yield ReplyText(event.text, True)
        elif isinstance(event, Delta):
            yield from sorted_events(parser.feed(event.text), parts, calls)
        elif isinstance(event, Finished):
            finished = event
    yield from sorted_events(parser.finish(), parts, calls)
    return "".join(parts), calls, finished


def sorted_events(events: Iterator[Any], parts: list[str], calls: list[ToolCall]) -> Iterator[ToolTurnEvent]:
    """A tool-call parser's events as the reply's text (kept in `parts`) and notices; the calls go to `calls`."""
    for event in events:
        if isinstance(event, TextPiece):
            parts.append(event.text)
            yield ReplyText(event.text)
        elif isinstance(event, MalformedToolCall):
            parts.append(event.raw)
            yield ReplyText(event.raw)
            yield Notice(f"The model wrote a tool call Parlour could not read, so it did not run: {event.reason}")
        elif isinstance(event, ToolCall):
            calls.append(event)


def _run_call(
    call: ToolCall,
    infos: dict[str, Any],
    servers: Any,
    approve: Callable[[ToolCall, str], Answer],
    budget: ToolLoopBudget,
    timeout_s: float,
) -> Generator[ToolTurnEvent, None, CallDone]:
    info = infos.get(call.name)
    server = info.server if info is not None else ""
    yield CallAsked(call, server)
    done = _decide(call, info, servers, approve, budget, timeout_s)
    yield done
    return done


def _decide(
    call: ToolCall,
    info: Any,
    servers: Any,
    approve: Callable[[ToolCall, str], Answer],
    budget: ToolLoopBudget,
    timeout_s: float,
) -> CallDone:
    if info is None:
        why = f"There is no tool called {call.name}."
        return CallDone(call, why, False, why)
    try:
        budget.spend()
    except ToolError as err:
        return CallDone(call, str(err), False, str(err))
    if approve(call, info.server) is Answer.DENY:
        return CallDone(call, denied_sentence(call.name), False)
    try:
        return CallDone(call, servers.call(call.name, call.arguments, timeout_s), True)
    except ToolError as err:
        return CallDone(call, str(err), False, str(err))
