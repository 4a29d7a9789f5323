"""The OpenAI-compatible endpoints: /v1/models, /v1/chat/completions and /v1/completions, streaming
over server-sent events or not, with usage (cached prompt tokens included)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.server.errors import ApiError
from app.server.registry import ModelRegistry, ServedModel
from app.server.replies import reply_events, whole_reply
from app.server.request_fields import openai_messages, sampling, text_of
from engines.base import Delta, Finished, GenerationParams, GenerationStats, Message

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
    return ApiError(500, finished.error or "The engine failed to write a reply.")


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
    messages, params = openai_messages(body), sampling(body)
    tools = body.get("tools")
    variables = {"tools": tools} if isinstance(tools, list) and tools else {}
    answer = Answer("chatcmpl", "chat.completion", model)
    if body.get("stream"):
        options = body.get("stream_options") or {}
        with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        registry.check_room(model)
        return EventSourceResponse(answer.chat_chunks(registry, messages, params, variables, with_usage))
    async with registry.turn(model) as client:
        text, finished = await whole_reply(
            client, messages, params, variables, await asyncio.to_thread(registry.template_for, model)
        )
    if finished.finish_reason == "error":
        raise failed(finished)
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason(finished)}
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
        variables: dict[str, Any],
        with_usage: bool,
    ) -> AsyncIterator[dict[str, str]]:
        try:
            async with registry.turn(self.model) as client:
                yield self._chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
                template = await asyncio.to_thread(registry.template_for, self.model)
                async for event in reply_events(client, messages, params, variables, template):
                    if isinstance(event, Delta) and event.text:
                        key = "reasoning_content" if event.reasoning else "content"
                        yield self._chunk([{"index": 0, "delta": {key: event.text}, "finish_reason": None}])
                    elif isinstance(event, Finished):
                        if event.finish_reason == "error":
                            yield {"data": json.dumps({"error": {"message": event.error, "type": "server_error"}})}
                            return
                        end = {"index": 0, "delta": {}, "finish_reason": finish_reason(event)}
                        yield self._chunk([end], usage=None) if with_usage else self._chunk([end])
                        if with_usage:
                            yield self._chunk([], usage=usage(event.stats))
        except ApiError as err:
            yield {"data": json.dumps({"error": {"message": err.message, "type": "server_error"}})}
            return
        yield {"data": "[DONE]"}

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
