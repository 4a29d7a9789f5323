"""The remote engine: a model on another machine behind an OpenAI-compatible API (vLLM, llama-server,
llama-cpp-python's server, another Parlour, a hosted API), driven from the engine host like a local one.

It produces the same events and stats as the local engines: time to first token and tokens per
second measured here, token counts from the server's usage. Stop closes the stream. Every failure
is one sentence: nothing answers, the key was refused, no such model, rate limited, too slow. The
server applies its own chat template, so Parlour cannot show a remote model's exact prompt or count
its tokens. Only the standard library talks HTTP here, so the engine host needs nothing more.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from engines.base import (
    EMBEDDINGS_NEED_GGUF,
    Delta,
    EngineName,
    Finished,
    GenerationStats,
    InvalidRequestError,
    LoadSettings,
    Message,
    ModelInfo,
    NotLoadedError,
    ProgressCallback,
    RemoteError,
    ReplyEvent,
    Started,
)
from engines.prompting import Prompt
from engines.protocol import ReplyRequest
from engines.remote_target import RemoteTarget, api_key, parse_ref

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 120.0  # the longest silence a stream may keep before it counts as stalled
MAX_LINE = 1 << 20  # one server-sent event line; a larger one is a broken server


def list_models(target: RemoteTarget, key: str | None) -> list[str]:
    """The model ids the endpoint serves, from its /models; RemoteError with a sentence when it cannot say."""
    listed = RemoteEngine._request(target, key, "GET", "/models", None, CONNECT_TIMEOUT_S)
    with listed:
        body = _json(listed.read(MAX_LINE), target)
    return [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)]


class RemoteEngine:
    name: EngineName = "remote"

    def __init__(self, read_timeout: float = READ_TIMEOUT_S) -> None:
        self.target: RemoteTarget | None = None
        self.info: ModelInfo | None = None
        self._key: str | None = None
        self.read_timeout = read_timeout

    # --- loading: check that the endpoint answers and has the model ---------------------------------

    def load(self, info: ModelInfo, settings: LoadSettings, progress: ProgressCallback) -> ModelInfo:
        target = parse_ref(info.path)
        key = api_key(target.name)
        progress(0.2, f"Asking {target.name} for its models")
        ids = list_models(target, key)
        if target.model not in ids:
            raise RemoteError(f"{target.name} has no model called '{target.model}'; it lists {_few(ids)}.")
        self.target, self._key = target, key
        self.info = ModelInfo(path=info.path, engine="remote", format="remote", name=target.label)
        progress(1.0, "Ready")
        return self.info

    def describe(self) -> ModelInfo:
        if self.info is None:
            raise NotLoadedError("No model is loaded; choose a model first.")
        return self.info

    def unload(self) -> None:
        self.target = self.info = self._key = None

    def prompt(self, request: ReplyRequest) -> Prompt:
        raise RemoteError("A remote model applies its server's own chat template; Parlour cannot show its prompt.")

    def tokenize_prompt(self, messages: list[Message]) -> list[int]:
        raise RemoteError("A remote model's tokens are counted by its server, after the reply.")

    def after_reply(self) -> None:
        pass  # a remote server keeps its own caches

    def greedy_trace(
        self, messages: list[Message], count: int, forced: list[int] | None = None
    ) -> tuple[list[int], list[float]]:
        raise RemoteError("A remote model does not report its logits.")

    def embed(self, texts: list[str]) -> list[list[float]]:
        raise InvalidRequestError(EMBEDDINGS_NEED_GGUF)

    # --- a reply -----------------------------------------------------------------------------------

    def generate(self, request: ReplyRequest, should_stop: Callable[[], bool]) -> Iterator[ReplyEvent]:
        target = self.target
        if target is None:
            raise NotLoadedError("No model is loaded; choose a model first.")
        yield Started(template_source="remote", notice=f"{target.name} writes this reply: it leaves this computer.")
        started = time.perf_counter()
        stats = GenerationStats()
        body = self._body(target, request)
        try:
            response = self._request(target, self._key, "POST", "/chat/completions", body, self.read_timeout)
        except RemoteError as err:
            yield Finished("error", stats, str(err), RemoteError.code)
            return
        with response:
            yield from self._stream(target, response, started, stats, should_stop)

    def _stream(
        self,
        target: RemoteTarget,
        response: http.client.HTTPResponse,
        started: float,
        stats: GenerationStats,
        should_stop: Callable[[], bool],
    ) -> Iterator[ReplyEvent]:
        first = last = 0.0
        pieces = 0
        finish = "stop"
        try:
            for chunk in _events(response, target):
                if "error" in chunk:
                    message = chunk["error"].get("message") if isinstance(chunk["error"], dict) else chunk["error"]
                    yield Finished("error", stats, f"{target.name} failed: {message}", RemoteError.code)
                    return
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    stats.prompt_tokens = int(usage.get("prompt_tokens") or 0)
                    stats.generated_tokens = int(usage.get("completion_tokens") or 0)
                    details = usage.get("prompt_tokens_details") or {}
                    stats.cached_tokens = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    for key, reasoning in (("reasoning_content", True), ("content", False)):
                        text = delta.get(key)
                        if isinstance(text, str) and text:
                            last = time.perf_counter()
                            first = first or last
                            pieces += 1
                            yield Delta(text, reasoning)
                    if choice.get("finish_reason") == "length":
                        finish = "length"
                if should_stop():
                    finish = "cancelled"
                    break
        except RemoteError as err:
            yield Finished("error", stats, str(err), RemoteError.code)
            return
        stats.generated_tokens = stats.generated_tokens or pieces
        if first:
            stats.ttft_ms = (first - started) * 1000
            if last > first and stats.generated_tokens > 1:
                stats.generation_tps = (stats.generated_tokens - 1) / (last - first)
        yield Finished(finish, stats)  # type: ignore[arg-type]

    @staticmethod
    def _body(target: RemoteTarget, request: ReplyRequest) -> dict[str, Any]:
        params = request.params
        body: dict[str, Any] = {
            "model": target.model,
            "messages": [{"role": m["role"], "content": m.get("content", "")} for m in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        if params.presence_penalty:
            body["presence_penalty"] = params.presence_penalty
        if params.frequency_penalty:
            body["frequency_penalty"] = params.frequency_penalty
        if params.response_format is not None:
            body["response_format"] = openai_response_format(params.response_format)
        return body

    # --- HTTP --------------------------------------------------------------------------------------

    @staticmethod
    def _request(
        target: RemoteTarget, key: str | None, method: str, path: str, body: dict[str, Any] | None, timeout: float
    ) -> http.client.HTTPResponse:
        headers = {"Accept": "application/json, text/event-stream", "User-Agent": "Parlour"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(target.base_url + path, data=data, headers=headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - an http(s) URL, checked
        except urllib.error.HTTPError as err:
            raise RemoteError(_status_sentence(target, err.code, _server_message(err))) from None
        except TimeoutError:
            raise RemoteError(f"{target.name} did not answer within {timeout:.0f} s.") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise RemoteError(f"Parlour cannot reach {target.name} at {target.base_url} ({reason}).") from None


def _events(response: http.client.HTTPResponse, target: RemoteTarget) -> Iterator[dict[str, Any]]:
    """The JSON objects of a server-sent event stream, until [DONE] or its end."""
    while True:
        try:
            line = response.readline(MAX_LINE)
        except TimeoutError:
            raise RemoteError(f"{target.name} stopped sending the reply.") from None
        except OSError as err:
            raise RemoteError(f"The connection to {target.name} broke ({err}).") from None
        if not line:
            return
        text = line.decode("utf-8", errors="replace").strip()
        if not text.startswith("data:"):
            continue  # comments (keep-alive pings), event names, blank separators
        data = text[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise RemoteError(f"{target.name} sent something that is not JSON.") from None
        if isinstance(event, dict):
            yield event


def _json(raw: bytes, target: RemoteTarget) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise RemoteError(f"{target.name} did not answer like an OpenAI-compatible server.") from None
    if not isinstance(value, dict):
        raise RemoteError(f"{target.name} did not answer like an OpenAI-compatible server.")
    return value


def _server_message(err: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(err.read(65536) or b"{}")
        error = body.get("error", body.get("detail", "")) if isinstance(body, dict) else ""
        message = error.get("message", "") if isinstance(error, dict) else str(error)
        return str(message)[:300]
    except (ValueError, OSError):
        return ""


def _status_sentence(target: RemoteTarget, status: int, message: str) -> str:
    if status in (401, 403):
        return f"{target.name} refused the API key ({status}); set it again with `parlour remotes add`."
    if status == 404:
        return f"{target.name} has no model called '{target.model}' (404)."
    if status == 429:
        return f"{target.name} is limiting requests (429); try again in a moment."
    detail = f": {message}" if message else ""
    return f"{target.name} answered {status}{detail}."


def _few(ids: list[str]) -> str:
    if not ids:
        return "none"
    shown = ", ".join(f"'{i}'" for i in ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def openai_response_format(fmt: dict[str, Any]) -> dict[str, Any]:
    """Parlour's response format in the OpenAI shape a remote server takes (patterns and choices as schemas:
    the OpenAI API has no other kind)."""
    kind = fmt["type"]
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = fmt["schema"]
    elif kind == "regex":
        schema = {"type": "string", "pattern": fmt["pattern"]}
    else:
        schema = {"enum": list(fmt["choices"])}
    return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True}}
