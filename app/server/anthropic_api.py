"""The Anthropic Messages endpoint, /v1/messages: a system prompt and text turns in, a message out, or
its stream of named events (message_start, content_block_start, content_block_delta, ...)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.server.errors import ApiError
from app.server.registry import ModelRegistry, ServedModel
from app.server.replies import reply_events, whole_reply
from app.server.request_fields import sampling, text_of
from engines.base import Delta, Finished, GenerationParams, Message


def stop_reason(finished: Finished) -> str:
    """Anthropic's stop_reason for how the reply ended. The engine does not say whether a stop sequence
    or the end of the turn ended it, so stop_sequence is always null."""
    return "max_tokens" if finished.finish_reason == "length" else "end_turn"


def anthropic_messages(body: dict[str, Any]) -> list[Message]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "messages must be a non-empty list.", "messages")
    messages: list[Message] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": text_of(system, "system")})
    for index, item in enumerate(raw):
        field = f"messages.{index}"
        if not isinstance(item, dict) or item.get("role") not in ("user", "assistant"):
            raise ApiError(400, f"{field}: role must be user or assistant.", field)
        messages.append({"role": item["role"], "content": text_of(item.get("content"), f"{field}.content")})
    return messages


def usage(finished: Finished) -> dict[str, int]:
    stats = finished.stats
    return {
        "input_tokens": stats.prompt_tokens - stats.cached_tokens,
        "cache_read_input_tokens": stats.cached_tokens,
        "output_tokens": stats.generated_tokens,
    }


async def messages_endpoint(request: Request) -> Response:
    body = request.state.body
    registry: ModelRegistry = request.app.state.registry
    model = await asyncio.to_thread(registry.find, body.get("model"))
    if "max_tokens" not in body:
        raise ApiError(400, "max_tokens: Field required.", "max_tokens")
    messages, params = anthropic_messages(body), sampling(body)
    message_id = f"msg_{uuid.uuid4().hex[:24]}"
    if body.get("stream"):
        registry.check_room(model)
        return EventSourceResponse(stream(registry, model, messages, params, message_id))
    async with registry.turn(model) as client:
        text, finished = await whole_reply(
            client, messages, params, template=await asyncio.to_thread(registry.template_for, model)
        )
    if finished.finish_reason == "error":
        raise ApiError(500, finished.error or "The engine failed to write a reply.")
    return JSONResponse(
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model.id,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason(finished),
            "stop_sequence": None,
            "usage": usage(finished),
        }
    )


def event(name: str, data: dict[str, Any]) -> dict[str, str]:
    return {"event": name, "data": json.dumps({"type": name, **data})}


async def stream(
    registry: ModelRegistry, model: ServedModel, messages: list[Message], params: GenerationParams, message_id: str
) -> AsyncIterator[dict[str, str]]:
    start = {"id": message_id, "type": "message", "role": "assistant", "model": model.id, "content": []}
    empty_usage = {"input_tokens": 0, "output_tokens": 0}
    try:
        async with registry.turn(model) as client:
            yield event("message_start", {"message": {**start, "stop_reason": None, "usage": empty_usage}})
            yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            template = await asyncio.to_thread(registry.template_for, model)
            async for reply_event in reply_events(client, messages, params, template=template):
                if isinstance(reply_event, Delta) and reply_event.text and not reply_event.reasoning:
                    text = {"type": "text_delta", "text": reply_event.text}
                    yield event("content_block_delta", {"index": 0, "delta": text})
                elif isinstance(reply_event, Finished):
                    if reply_event.finish_reason == "error":
                        error = {"type": "api_error", "message": reply_event.error or "The engine failed."}
                        yield event("error", {"error": error})
                        return
                    yield event("content_block_stop", {"index": 0})
                    ended = {"stop_reason": stop_reason(reply_event), "stop_sequence": None}
                    yield event("message_delta", {"delta": ended, "usage": usage(reply_event)})
                    yield event("message_stop", {})
    except ApiError as err:
        yield event("error", {"error": {"type": "api_error", "message": err.message}})
