"""The engine protocol: every request a client sends the engine host and every event the host answers with.

Typed here, and encoded and decoded only here: the host, the client, the command line and
the window all hold these dataclasses, never raw dicts. On the wire each message is one JSON
object per line: a request carries "op" and "id", an event carries "event" and the "id" of the
request it answers (None for the host's own: ready, heartbeat).

A failure is a sentence for the person plus, separately, the detail for the log (an exit
status, the host's last output); nothing downstream splits strings to tell them apart.

One protocol, three engines: the same events come from the MLX host, the llama.cpp host
and, later, a remote OpenAI-compatible server.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engines.base import (
    Delta,
    EngineError,
    Finished,
    GenerationParams,
    GenerationStats,
    LoadSettings,
    Message,
    ModelInfo,
    PromptProgress,
    Started,
    error_from_code,
)


class ProtocolError(ValueError):
    """A message that is not one of the protocol's: the peer is broken, not the person."""


# Texts in one embed request: the client splits longer lists, so one answer stays a few MB at most.
MAX_EMBED_TEXTS = 64


# --- requests -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyRequest:
    """A conversation to answer (or to render as the exact prompt a reply would start from)."""

    messages: list[Message]
    params: GenerationParams = field(default_factory=GenerationParams)
    template_override: str | None = None  # the user's template for this model, if any
    template_vars: dict[str, Any] = field(default_factory=dict)  # e.g. {"enable_thinking": False}
    # Continue the last (assistant) message instead of starting a new reply: an interrupted
    # or length-stopped reply picks up where it ended.
    continue_final: bool = False


@dataclass(frozen=True)
class LoadRequest:
    op: ClassVar[str] = "load"
    path: str
    engine: str = "auto"
    settings: LoadSettings = field(default_factory=LoadSettings)


@dataclass(frozen=True)
class GenerateRequest:
    op: ClassVar[str] = "generate"
    reply: ReplyRequest


@dataclass(frozen=True)
class RenderRequest:
    op: ClassVar[str] = "render"
    reply: ReplyRequest


@dataclass(frozen=True)
class TokenizeRequest:
    op: ClassVar[str] = "tokenize"
    messages: list[Message]


@dataclass(frozen=True)
class TraceRequest:
    """Diagnostic: greedy tokens and their margins, to check that two engines run a model alike."""

    op: ClassVar[str] = "greedy_trace"
    messages: list[Message]
    max_tokens: int = 16
    forced: list[int] | None = None  # teacher forcing: feed these tokens instead of the greedy ones


@dataclass(frozen=True)
class EmbedRequest:
    """Texts to turn into vectors, with a model loaded for embeddings (LoadSettings.embedding)."""

    op: ClassVar[str] = "embed"
    texts: list[str]


@dataclass(frozen=True)
class CancelRequest:
    op: ClassVar[str] = "cancel"
    target: str  # the id of the request to stop


@dataclass(frozen=True)
class UnloadRequest:
    op: ClassVar[str] = "unload"


@dataclass(frozen=True)
class PingRequest:
    op: ClassVar[str] = "ping"


@dataclass(frozen=True)
class ShutdownRequest:
    op: ClassVar[str] = "shutdown"


Request = (
    LoadRequest
    | GenerateRequest
    | RenderRequest
    | TokenizeRequest
    | TraceRequest
    | EmbedRequest
    | CancelRequest
    | UnloadRequest
    | PingRequest
    | ShutdownRequest
)


# --- events (Started, Delta and Finished are the engines' own, in engines.base) -------------------------


@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class Heartbeat:
    """Sent every few seconds whatever the engine is doing, so a busy host is told from a stuck one."""


@dataclass(frozen=True)
class Progress:
    fraction: float
    message: str


@dataclass(frozen=True)
class Loaded:
    model: ModelInfo
    engine: str


@dataclass(frozen=True)
class PromptRendered:
    text: str
    tokens: int
    template_source: str
    notice: str | None = None
    dropped_turns: int = 0


@dataclass(frozen=True)
class Tokens:
    ids: list[int]


@dataclass(frozen=True)
class Trace:
    ids: list[int]
    margins: list[float]


@dataclass(frozen=True)
class Embeddings:
    """One L2-normalized vector per text of the EmbedRequest, in its order."""

    vectors: list[list[float]]


@dataclass(frozen=True)
class Unloaded:
    pass


@dataclass(frozen=True)
class Pong:
    pid: int
    loaded: bool
    rss_bytes: int | None = None
    peak_bytes: int | None = None
    renderer_pid: int | None = None


@dataclass(frozen=True)
class Failure:
    """A request that failed: `message` is one sentence for the person, `detail` is for the log."""

    code: str
    message: str
    detail: str | None = None

    def error(self) -> EngineError:
        return error_from_code(self.code, self.message)


Event = (
    Ready
    | Heartbeat
    | Progress
    | Loaded
    | Started
    | PromptProgress
    | Delta
    | Finished
    | PromptRendered
    | Tokens
    | Trace
    | Embeddings
    | Unloaded
    | Pong
    | Failure
)

# The wire name of each event type.
EVENT_NAMES: dict[type, str] = {
    Ready: "ready",
    Heartbeat: "heartbeat",
    Progress: "progress",
    Loaded: "loaded",
    Started: "started",
    PromptProgress: "prompt_progress",
    Delta: "delta",
    Finished: "finished",
    PromptRendered: "prompt",
    Tokens: "tokens",
    Trace: "trace",
    Embeddings: "embeddings",
    Unloaded: "unloaded",
    Pong: "pong",
    Failure: "error",
}
_EVENTS_BY_NAME = {name: cls for cls, name in EVENT_NAMES.items()}
_REQUESTS_BY_OP: dict[str, Any] = {
    cls.op: cls
    for cls in (
        LoadRequest,
        GenerateRequest,
        RenderRequest,
        TokenizeRequest,
        TraceRequest,
        EmbedRequest,
        CancelRequest,
        UnloadRequest,
        PingRequest,
        ShutdownRequest,
    )
}


def is_final(request: Request | str, event: Event) -> bool:
    """Whether `event` is the last one `request` (or a request of that op) will get."""
    op = request if isinstance(request, str) else request.op
    if isinstance(event, Failure):
        return True
    if op == "generate":
        return isinstance(event, Finished)
    if op == "load":
        return isinstance(event, Loaded)
    return not isinstance(event, Progress | Heartbeat)


# --- encoding ------------------------------------------------------------------------------------------


def _reply_to_wire(reply: ReplyRequest) -> dict[str, Any]:
    wire: dict[str, Any] = {"messages": list(reply.messages), "params": reply.params.to_dict()}
    if reply.template_override:
        wire["template"] = reply.template_override
    if reply.template_vars:
        wire["template_vars"] = dict(reply.template_vars)
    if reply.continue_final:
        wire["continue_final"] = True
    return wire


def _reply_from_wire(data: dict[str, Any]) -> ReplyRequest:
    messages = data.get("messages") or []
    template_vars = data.get("template_vars") or {}
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ProtocolError("messages must be a list of objects")
    if not isinstance(template_vars, dict):
        raise ProtocolError("template_vars must be an object")
    template = data.get("template")
    return ReplyRequest(
        messages=messages,
        params=GenerationParams.from_dict(_object(data.get("params") or {}, "params")),
        template_override=template if isinstance(template, str) and template else None,
        template_vars=template_vars,
        continue_final=bool(data.get("continue_final", False)),
    )


def encode_request(request_id: str, request: Request) -> dict[str, Any]:
    wire: dict[str, Any] = {"op": request.op, "id": request_id}
    if isinstance(request, LoadRequest):
        wire.update(path=request.path, engine=request.engine, settings=request.settings.to_dict())
    elif isinstance(request, GenerateRequest | RenderRequest):
        wire.update(_reply_to_wire(request.reply))
    elif isinstance(request, TokenizeRequest):
        wire["messages"] = list(request.messages)
    elif isinstance(request, TraceRequest):
        wire.update(messages=list(request.messages), max_tokens=request.max_tokens, forced=request.forced)
    elif isinstance(request, EmbedRequest):
        wire["texts"] = list(request.texts)
    elif isinstance(request, CancelRequest):
        wire["target"] = request.target
    return wire


def decode_request(wire: Any) -> tuple[str, Request]:
    """(request id, request) from one decoded JSON line; ProtocolError when it is not a request.

    Values a person chose (sampling settings, load settings) are checked by their own types and
    raise EngineError with a sentence, which the host answers as a failure of that request.
    """
    wire = _object(wire, "a request")
    cls = _REQUESTS_BY_OP.get(str(wire.get("op")))
    if cls is None:
        raise ProtocolError(f"unknown request {str(wire.get('op'))[:40]!r}")
    request_id = str(wire.get("id"))
    try:
        if cls is LoadRequest:
            path = wire.get("path")
            if not isinstance(path, str):
                raise ProtocolError("load needs a path")
            settings = LoadSettings.from_dict(_object(wire.get("settings") or {}, "settings"))
            return request_id, LoadRequest(path, str(wire.get("engine") or "auto"), settings)
        if cls in (GenerateRequest, RenderRequest):
            return request_id, cls(_reply_from_wire(wire))
        if cls is TokenizeRequest:
            return request_id, TokenizeRequest(_reply_from_wire(wire).messages)
        if cls is TraceRequest:
            forced = wire.get("forced")
            if forced is not None and not (isinstance(forced, list) and all(type(t) is int for t in forced)):
                raise ProtocolError("forced must be a list of token ids")
            count = wire.get("max_tokens", 16)
            if type(count) is not int or not 0 < count <= 4096:
                raise ProtocolError("max_tokens must be a small whole number")
            return request_id, TraceRequest(_reply_from_wire(wire).messages, count, forced)
        if cls is EmbedRequest:
            return request_id, EmbedRequest(_texts(wire.get("texts")))
        if cls is CancelRequest:
            return request_id, CancelRequest(str(wire.get("target")))
        return request_id, cls()
    except (TypeError, KeyError) as err:
        raise ProtocolError(f"malformed {cls.op} request ({err})") from None


def encode_event(request_id: str | None, event: Event) -> dict[str, Any]:
    wire: dict[str, Any] = {"event": EVENT_NAMES[type(event)], "id": request_id}
    if isinstance(event, Finished):
        wire.update(finish_reason=event.finish_reason, stats=event.stats.to_dict())
        optional = {"error": event.error, "code": event.error_code, "detail": event.detail}
        wire.update({k: v for k, v in optional.items() if v})
    elif isinstance(event, Loaded):
        wire.update(model=event.model.to_dict(), engine=event.engine)
    elif isinstance(event, Delta):
        wire["text"] = event.text
        if event.reasoning:
            wire["reasoning"] = True
    else:
        wire.update({k: v for k, v in dataclasses.asdict(event).items() if k != "kind" and v is not None})
    return wire


def decode_event(wire: Any) -> tuple[str | None, Event]:
    """(the id of the request it answers, event) from one decoded JSON line; ProtocolError otherwise."""
    wire = _object(wire, "an event")
    cls = _EVENTS_BY_NAME.get(str(wire.get("event")))
    if cls is None:
        raise ProtocolError(f"unknown event {str(wire.get('event'))[:40]!r}")
    request_id = wire.get("id")
    request_id = None if request_id is None else str(request_id)
    try:
        if cls is Finished:
            reason = wire.get("finish_reason")
            if reason not in ("stop", "length", "cancelled", "error"):
                raise ProtocolError(f"unknown finish reason {str(reason)[:40]!r}")
            stats = GenerationStats.from_dict(_object(wire.get("stats") or {}, "stats"))
            event: Event = Finished(reason, stats, wire.get("error"), wire.get("code"), wire.get("detail"))
        elif cls is Loaded:
            event = Loaded(ModelInfo.from_dict(_object(wire.get("model"), "model")), str(wire.get("engine")))
        elif cls is Delta:
            event = Delta(str(wire.get("text", "")), bool(wire.get("reasoning", False)))
        elif cls is Embeddings:
            event = Embeddings(_vectors(wire.get("vectors")))
        else:
            names = {f.name for f in dataclasses.fields(cls) if f.name != "kind"}
            event = cls(**{k: v for k, v in wire.items() if k in names})
    except TypeError as err:
        raise ProtocolError(f"malformed {cls.__name__} event ({err})") from None
    return request_id, event


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(text, str) for text in value):
        raise ProtocolError("texts must be a list of strings")
    if len(value) > MAX_EMBED_TEXTS:
        raise ProtocolError(f"at most {MAX_EMBED_TEXTS} texts in one embed request")
    return value


def _vectors(value: Any) -> list[list[float]]:
    """Vectors of numbers, all of one width: what the client hands on is checked here, once."""
    if not isinstance(value, list) or not all(isinstance(vector, list) for vector in value):
        raise ProtocolError("vectors must be a list of lists")
    if len({len(vector) for vector in value}) > 1:
        raise ProtocolError("vectors must all have one width")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for vector in value for x in vector):
        raise ProtocolError("vectors must hold numbers")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} must be a JSON object")
    return value
