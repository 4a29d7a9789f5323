"""The fields of an API request, checked: messages in either API's shape, and sampling parameters
bounded (max_tokens above all), each problem one sentence naming the field."""

from __future__ import annotations

from typing import Any

from app.server.errors import ApiError
from app.server.security import MAX_TOKENS_LIMIT
from engines.base import GenerationParams, InvalidRequestError, Message

MAX_STOPS = 16
ROLES = ("system", "user", "assistant", "tool")


def text_of(content: Any, field: str) -> str:
    """Message content as text: a string, or a list of text parts (images are refused by name)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") in ("tool_result", "tool_use"):
                continue  # carried by the tool fields, not as text
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ApiError(400, f"{field}: only text parts are supported, not '{kind}'.", field)
        return "".join(texts)
    raise ApiError(400, f"{field} must be a string or a list of text parts.", field)


def openai_messages(body: dict[str, Any]) -> list[Message]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "messages must be a non-empty list.", "messages")
    messages: list[Message] = []
    for index, item in enumerate(raw):
        field = f"messages[{index}]"
        if not isinstance(item, dict) or item.get("role") not in (*ROLES, "developer"):
            raise ApiError(400, f"{field} needs a role: system, user, assistant or tool.", field)
        role = "system" if item["role"] == "developer" else item["role"]
        message: dict[str, Any] = {"role": role, "content": text_of(item.get("content"), f"{field}.content")}
        for key in ("tool_calls", "tool_call_id", "name"):
            if key in item:
                message[key] = item[key]
        messages.append(message)
    return messages


def sampling(body: dict[str, Any], max_tokens_field: str = "max_tokens", default_max: int = 1024) -> GenerationParams:
    """GenerationParams from the request; the API's neutral defaults where it says nothing."""
    max_tokens = body.get(max_tokens_field, body.get("max_completion_tokens", default_max))
    if max_tokens is None:
        max_tokens = default_max
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise ApiError(
            400, f"{max_tokens_field} must be a whole number from 1 to {MAX_TOKENS_LIMIT}.", max_tokens_field
        )
    stop = body.get("stop", body.get("stop_sequences"))
    stops = [stop] if isinstance(stop, str) else stop or []
    if not isinstance(stops, list) or len(stops) > MAX_STOPS or not all(isinstance(s, str) and s for s in stops):
        raise ApiError(400, f"stop must be a string or a list of at most {MAX_STOPS} non-empty strings.", "stop")
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ApiError(400, "seed must be a whole number.", "seed")
    values = {
        "temperature": _number(body, "temperature", 1.0),
        "top_p": _number(body, "top_p", 1.0),
        "top_k": int(_number(body, "top_k", 0)),
        "min_p": 0.0,
        "repeat_penalty": 1.0,
        "presence_penalty": _number(body, "presence_penalty", 0.0),
        "frequency_penalty": _number(body, "frequency_penalty", 0.0),
    }
    try:
        return GenerationParams(
            **values,  # type: ignore[arg-type]
            max_tokens=max_tokens,
            seed=seed,
            stop=tuple(stops),
            response_format=response_format(body),
        )
    except InvalidRequestError as err:
        raise ApiError(400, str(err)) from err


def response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI's response_format as Parlour's: {"type": "json_object"}, or {"type": "json_schema",
    "json_schema": {"name", "schema", "strict"}}; "text" (or nothing) leaves the reply free."""
    value = body.get("response_format")
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise ApiError(400, "response_format.json_schema needs a schema object.", "response_format")
        return {"type": "json_schema", "schema": schema}
    raise ApiError(400, "response_format.type must be text, json_object or json_schema.", "response_format")


def _number(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ApiError(400, f"{name} must be a number.", name)
    return float(value)
