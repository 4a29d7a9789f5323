"""The OpenAI-compatible endpoints: /v1/models, /v1/chat/completions and /v1/completions, streaming
over server-sent events or not, with usage (cached prompt tokens included)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.server.errors import ApiError
from app.server.registry import ModelRegistry, ServedModel
from app.server.replies import reply_events, whole_reply
from app.server.request_fields import openai_messages, sampling, text_of
from app.server.tool_replies import (
    CallCollector,
    ToolRequest,
    call_format,
    collector,
    constrained,
    split_reply,
    tool_request,
)
from engines.base import Delta, Finished, GenerationParams, GenerationStats, Message
from engines.tool_calls import ToolCall, tool_calls_to_openai

# A raw prompt for /v1/completions: the text itself, no chat template around it.
RAW_PROMPT_TEMPLATE = "{{ messages[0]['content'] }}"


def finish_reason(finished: Finished) -> str:
    return "length" if finished.finish_reason == "length" else "stop"


def usage(stats: GenerationStats) -> dict[str, Any]:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.generated_tokens,
        "total_tokens": stats.prompt_tokens + stats.generated_tokens,
        "prompt_tokens_details": {"cached_tokens": stats.cached_tokens},
    }


def failed(finished: Finished) -> ApiError:
    # A request the engine refused (a schema it cannot compile, say) is the client's to fix.
    status = 400 if finished.error_code == "invalid_request" else 500
    return ApiError(status, finished.error or "The engine failed to write a reply.")


async def list_models(request: Request) -> Response:
    registry: ModelRegistry = request.app.state.registry
    data = [
        # "state", as LM Studio's API says it: whether the model is in memory now or loads on first use.
        {
            "id": m.id,
            "object": "model",
            "created": m.created,
            "owned_by": "parlour",
            "engine": m.engine,
            "state": "loaded" if registry.is_loaded(m.path) else "not-loaded",
        }
        for m in await asyncio.to_thread(registry.models)
    ]
    return JSONResponse({"object": "list", "data": data})


async def chat_completions(request: Request) -> Response:
    body = request.state.body
    registry: ModelRegistry = request.app.state.registry
    model = await asyncio.to_thread(registry.find, body.get("model"))
    messages, params, tools = openai_messages(body), sampling(body), tool_request(body)
    answer = Answer("chatcmpl", "chat.completion", model)
    if body.get("stream"):
        options = body.get("stream_options") or {}
        with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        registry.check_room(model)
        return EventSourceResponse(answer.chat_chunks(registry, messages, params, tools, with_usage))
    async with registry.turn(model) as client:
        template = await asyncio.to_thread(registry.template_for, model)
        fmt = call_format(template or (client.model.chat_template if client.model else None), model.id)
        params = constrained(params, tools, fmt)
        text, finished = await whole_reply(client, messages, params, tools.variables(), template)
    if finished.finish_reason == "error":
        raise failed(finished)
    message: dict[str, Any] = {"role": "assistant", "content": text}
    reason = finish_reason(finished)
    if tools.offered:
        content, calls = split_reply(text, fmt)
        if calls:
            message = {
                "role": "assistant",
                "content": content.strip() or None,
                "tool_calls": tool_calls_to_openai(calls),
            }
            reason = "tool_calls"
    choice = {"index": 0, "message": message, "finish_reason": reason}
    return JSONResponse({**answer.head("chat.completion"), "choices": [choice], "usage": usage(finished.stats)})


async def completions(request: Request) -> Response:
    body = request.state.body
    registry: ModelRegistry = request.app.state.registry
    model = await asyncio.to_thread(registry.find, body.get("model"))
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    prompt_text = text_of(prompt, "prompt")
    if not prompt_text:
        raise ApiError(400, "prompt must be a non-empty string.", "prompt")
    messages: list[Message] = [{"role": "user", "content": prompt_text}]
    params = sampling(body, default_max=16)
    answer = Answer("cmpl", "text_completion", model)
    if body.get("stream"):
        registry.check_room(model)
        return EventSourceResponse(answer.text_chunks(registry, messages, params))
    async with registry.turn(model) as client:
        text, finished = await whole_reply(client, messages, params, template=RAW_PROMPT_TEMPLATE)
    if finished.finish_reason == "error":
        raise failed(finished)
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason(finished)}
    return JSONResponse({**answer.head("text_completion"), "choices": [choice], "usage": usage(finished.stats)})


class Answer:
    """One response's id, time and model, and its streamed chunks."""

    def __init__(self, prefix: str, kind: str, model: ServedModel) -> None:
        self.id = f"{prefix}-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = model

    def head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model.id}

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, str]:
        return {"data": json.dumps({**self.head("chat.completion.chunk"), "choices": choices, **extra})}

    async def chat_chunks(
        self,
        registry: ModelRegistry,
        messages: list[Message],
        params: GenerationParams,
        tools: ToolRequest,
        with_usage: bool,
    ) -> AsyncIterator[dict[str, str]]:
        try:
            async with registry.turn(self.model) as client:
                yield self._chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
                template = await asyncio.to_thread(registry.template_for, self.model)
                fmt = call_format(template or (client.model.chat_template if client.model else None), self.model.id)
                calls = collector(fmt) if tools.offered else None
                params = constrained(params, tools, fmt)
                async for event in reply_events(client, messages, params, tools.variables(), template):
                    if isinstance(event, Delta) and event.text:
                        for chunk in self._delta_chunks(event, calls):
                            yield chunk
                    elif isinstance(event, Finished):
                        if event.finish_reason == "error":
                            yield {"data": json.dumps({"error": {"message": event.error, "type": "server_error"}})}
                            return
                        for chunk in self._tail_chunks(calls):
                            yield chunk
                        reason = "tool_calls" if calls and calls.calls else finish_reason(event)
                        end = {"index": 0, "delta": {}, "finish_reason": reason}
                        yield self._chunk([end], usage=None) if with_usage else self._chunk([end])
                        if with_usage:
                            yield self._chunk([], usage=usage(event.stats))
        except ApiError as err:
            yield {"data": json.dumps({"error": {"message": err.message, "type": "server_error"}})}
            return
        yield {"data": "[DONE]"}

    def _delta_chunks(self, event: Delta, calls: CallCollector | None) -> Iterator[dict[str, str]]:
        """A streamed piece as chunks: reasoning, text, or (with tools offered) each call once it is whole."""
        if event.reasoning or calls is None:
            key = "reasoning_content" if event.reasoning else "content"
            yield self._chunk([{"index": 0, "delta": {key: event.text}, "finish_reason": None}])
            return
        yield from self._pieces(calls, calls.feed(event.text))

    def _tail_chunks(self, calls: CallCollector | None) -> Iterator[dict[str, str]]:
        if calls is not None:
            yield from self._pieces(calls, calls.finish())

    def _pieces(self, calls: CallCollector, pieces: Iterator[str | ToolCall]) -> Iterator[dict[str, str]]:
        for piece in pieces:
            if isinstance(piece, str):
                if piece:
                    yield self._chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
                continue
            (call,) = tool_calls_to_openai([piece])
            delta = {"tool_calls": [{"index": len(calls.calls) - 1, **call}]}
            yield self._chunk([{"index": 0, "delta": delta, "finish_reason": None}])

    async def text_chunks(
        self, registry: ModelRegistry, messages: list[Message], params: GenerationParams
    ) -> AsyncIterator[dict[str, str]]:
        head = self.head("text_completion")
        try:
            async with registry.turn(self.model) as client:
                async for event in reply_events(client, messages, params, template=RAW_PROMPT_TEMPLATE):
                    if isinstance(event, Delta) and event.text and not event.reasoning:
                        choice = {"index": 0, "text": event.text, "logprobs": None, "finish_reason": None}
                        yield {"data": json.dumps({**head, "choices": [choice]})}
                    elif isinstance(event, Finished):
                        choice = {"index": 0, "text": "", "logprobs": None, "finish_reason": finish_reason(event)}
                        yield {"data": json.dumps({**head, "choices": [choice], "usage": usage(event.stats)})}
        except ApiError as err:
            yield {"data": json.dumps({"error": {"message": err.message, "type": "server_error"}})}
            return
        yield {"data": "[DONE]"}
