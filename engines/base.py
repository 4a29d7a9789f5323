"""The engine contract: parameters, typed events, model descriptions and errors.

Every engine (MLX, llama.cpp, and later a remote OpenAI-compatible server) speaks
this one vocabulary, and the engine host sends the same events as JSON lines, so
the UI and the CLI never care which engine produced a reply.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from engines.response_format import response_format_problem

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "cancelled", "error"]
EngineName = Literal["mlx", "llamacpp", "remote"]


# Bounds on what a request may ask for; the engines' own limits (vocabulary, context) apply within them.
MAX_TOP_K = 1_000_000  # past every vocabulary; more means "all", which 0 already says
MAX_REPLY_TOKENS = 1 << 24
MAX_SEED = (1 << 32) - 1  # llama.cpp takes a 32-bit seed
MAX_STOP_STRINGS = 16
MAX_STOP_CHARS = 1000


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of `data` that are fields of dataclass `cls`: messages from a newer or
    older peer may carry keys this version does not know."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class GenerationParams:
    """Parlour's own sampling defaults; adapters map every field explicitly.

    Engines disagree on defaults (mlx-lm is greedy, llama-cpp-python stops at 16
    tokens with temperature 0.8), so nothing here is ever left to an engine.
    """

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    max_tokens: int = 1024
    seed: int | None = None
    stop: tuple[str, ...] = ()
    # When prompt + reply would pass the context window: "drop_oldest" turns, or "stop" with a message.
    context_policy: str = "drop_oldest"
    # Structured output: the reply must match a JSON Schema, a pattern or a choice (engines/constraints.py).
    response_format: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        problems = []
        floats = ("temperature", "top_p", "min_p", "repeat_penalty", "presence_penalty", "frequency_penalty")
        if any(not _is_number(getattr(self, name)) for name in floats):
            problems.append("sampling settings must be finite numbers")
        elif not 0.0 <= self.temperature <= 5.0:
            problems.append("temperature must be between 0 and 5")
        if _is_number(self.top_p) and not 0.0 < self.top_p <= 1.0:
            problems.append("top_p must be above 0 and at most 1")
        if not _is_int(self.top_k) or not 0 <= self.top_k <= MAX_TOP_K:
            problems.append(f"top_k must be 0 (off) or a whole number up to {MAX_TOP_K:,}")
        if _is_number(self.min_p) and not 0.0 <= self.min_p < 1.0:
            problems.append("min_p must be at least 0 and below 1")
        if _is_number(self.repeat_penalty) and not 0.0 < self.repeat_penalty <= 5.0:
            problems.append("repeat penalty must be above 0 and at most 5")
        for name in ("presence_penalty", "frequency_penalty"):
            if _is_number(getattr(self, name)) and not -2.0 <= getattr(self, name) <= 2.0:
                problems.append(f"{name.replace('_', ' ')} must be between -2 and 2")
        if not _is_int(self.max_tokens) or not 1 <= self.max_tokens <= MAX_REPLY_TOKENS:
            problems.append(f"max tokens must be a whole number from 1 to {MAX_REPLY_TOKENS:,}")
        if self.seed is not None and (not _is_int(self.seed) or not 0 <= self.seed <= MAX_SEED):
            problems.append(f"the seed must be a whole number from 0 to {MAX_SEED:,}")
        if not isinstance(self.stop, tuple) or len(self.stop) > MAX_STOP_STRINGS:
            problems.append(f"at most {MAX_STOP_STRINGS} stop strings")
        elif any(not isinstance(text, str) or not text or len(text) > MAX_STOP_CHARS for text in self.stop):
            problems.append(f"each stop string must be text of 1 to {MAX_STOP_CHARS} characters")
        if self.context_policy not in ("drop_oldest", "stop"):
            problems.append("the context policy must be drop_oldest or stop")
        if self.response_format is not None:
            problems.append(response_format_problem(self.response_format) or "")
        problems = [problem for problem in problems if problem]
        if problems:
            raise InvalidRequestError("Invalid generation settings: " + "; ".join(problems) + ".")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0 or self.top_k == 1

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationParams:
        values = _known_fields(cls, data)
        if "stop" in values:
            values["stop"] = tuple(values["stop"] or ())
        return cls(**values)


# Bytes per KV-cache element of each type (q8_0 and q4_0 keep a 2-byte scale per block of 32).
KV_CACHE_TYPES = ("f16", "q8_0", "q4_0")
KV_CACHE_BYTES = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}


@dataclass(frozen=True)
class LoadSettings:
    """How a model is loaded; a change means a reload."""

    context_length: int | None = None  # None: the model's own, capped to what free memory can hold
    gpu_layers: int | None = None  # None: all layers where a GPU is present, else 0
    threads: int | None = None
    prompt_cache_bytes: int = 1 << 30  # saved prompt caches for switching conversations; 0 turns reuse off
    # The KV cache's element type: f16, or quantized (q8_0, q4_0 on llama.cpp; 8- and 4-bit on MLX).
    kv_cache_type: str = "f16"
    flash_attention: bool | None = None  # llama.cpp; None: on exactly when a quantized KV cache needs it
    batch_size: int | None = None  # llama.cpp's prompt batch; None: 512
    memory_map: bool = True  # read the weights through a memory map (llama.cpp)
    memory_lock: bool = False  # keep the weights in RAM, never paged out (llama.cpp)
    # Speculative decoding: drafts from n-grams of the prompt and the reply so far, checked by the model.
    # None: where it pays off (llama.cpp; MLX on a GPU; on a CPU MLX's batched check costs more than it saves).
    prompt_lookup: bool | None = None
    draft_model: str | None = None  # a smaller model of the same vocabulary that drafts tokens
    max_draft_tokens: int = 16  # the most draft tokens checked in one batch
    # The prompt cache on disk, kept across restarts: a folder (None: memory only) and its byte budget.
    prompt_cache_dir: str | None = None
    prompt_cache_disk_bytes: int = 4 << 30
    # Load for embeddings (llama.cpp, a GGUF file): the model turns texts into vectors and does not chat.
    embedding: bool = False

    def __post_init__(self) -> None:
        # The context length is checked against the model and free memory when loading (engines.context).
        problems = []
        if self.context_length is not None and not _is_int(self.context_length):
            problems.append("the context length must be a whole number")
        if self.gpu_layers is not None and (not _is_int(self.gpu_layers) or not -1 <= self.gpu_layers <= 100_000):
            problems.append("GPU layers must be -1 (all) or a whole number up to 100,000")
        if self.threads is not None and (not _is_int(self.threads) or not 1 <= self.threads <= 1024):
            problems.append("threads must be a whole number from 1 to 1,024")
        if not _is_int(self.prompt_cache_bytes) or not 0 <= self.prompt_cache_bytes <= 1 << 40:
            problems.append("the prompt cache size must be between 0 and 1 TB")
        if self.kv_cache_type not in KV_CACHE_TYPES:
            problems.append("the KV cache type must be " + ", ".join(KV_CACHE_TYPES))
        if self.batch_size is not None and (not _is_int(self.batch_size) or not 32 <= self.batch_size <= 8192):
            problems.append("the batch size must be a whole number from 32 to 8,192")
        if not _is_int(self.max_draft_tokens) or not 1 <= self.max_draft_tokens <= 64:
            problems.append("draft tokens must be a whole number from 1 to 64")
        if not _is_int(self.prompt_cache_disk_bytes) or not 0 <= self.prompt_cache_disk_bytes <= 1 << 44:
            problems.append("the prompt cache on disk must be between 0 and 16 TB")
        for name in ("memory_map", "memory_lock", "embedding"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name.replace('_', ' ')} must be true or false")
        for name in ("flash_attention", "prompt_lookup"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), bool):
                problems.append(f"{name.replace('_', ' ')} must be true, false or automatic")
        for name in ("draft_model", "prompt_cache_dir"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                problems.append(f"the {name.replace('_', ' ')} must be a path")
        if problems:
            raise InvalidRequestError("Invalid load settings: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LoadSettings:
        return cls(**_known_fields(cls, data or {}))


@dataclass(frozen=True)
class ModelInfo:
    """What a model is, read from its files without running it."""

    path: str
    engine: EngineName
    format: Literal["gguf", "mlx", "remote"]
    name: str
    architecture: str | None = None
    parameter_count: int | None = None
    quantization: str | None = None
    context_length: int | None = None
    file_size: int = 0
    chat_template: str | None = None
    bos_token: str | None = None
    eos_token: str | None = None
    # KV-cache geometry, for context sizing and memory estimates.
    layers: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        return cls(**_known_fields(cls, data))


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    prompt_tps: float = 0.0
    generated_tokens: int = 0
    generation_tps: float = 0.0
    ttft_ms: float = 0.0
    peak_memory_bytes: int | None = None
    cached_tokens: int = 0  # prompt tokens reused from the prompt cache instead of prefilled
    dropped_turns: int = 0  # older turns left out to fit the context window
    draft_tokens: int = 0  # tokens proposed by speculative decoding (prompt lookup or a draft model)
    accepted_draft_tokens: int = 0  # of those, the ones the model agreed with and kept
    disk_cached_tokens: int = 0  # of cached_tokens, the ones restored from the prompt cache on disk

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationStats:
        return cls(**_known_fields(cls, data))


# --- events -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    template_source: str | None = None  # "override", "model" or "builtin:NAME"
    notice: str | None = None  # shown to the user, e.g. when a built-in template stands in
    kind: Literal["started"] = "started"


@dataclass(frozen=True)
class PromptProgress:
    """How much of the prompt the engine has read (prefilled) so far; sent for long prompts only."""

    done: int  # prompt tokens read, cached ones included
    total: int  # prompt tokens in all
    kind: Literal["prompt_progress"] = "prompt_progress"

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class Delta:
    text: str
    reasoning: bool = False  # part of a thinking block, shown folded
    kind: Literal["delta"] = "delta"


@dataclass(frozen=True)
class Finished:
    finish_reason: FinishReason
    stats: GenerationStats = field(default_factory=GenerationStats)
    error: str | None = None  # set when finish_reason is "error": one plain sentence
    # With an error: which kind (an EngineError code), so a caller can tell the user's bad input
    # (a hostile template, a bad model file) from Parlour's own failure.
    error_code: str | None = None
    detail: str | None = None  # for the log, never the screen: an exit status, the host's last output
    kind: Literal["finished"] = "finished"


# What an engine's generate() yields: a reply's whole life.
ReplyEvent = Started | PromptProgress | Delta | Finished


# --- errors -----------------------------------------------------------------------------------------


class EngineError(Exception):
    """A failure a person can act on. str(error) is one plain sentence, never a traceback."""

    code = "engine_error"


class ModelFileError(EngineError):
    """The model file or folder is missing, damaged or of a kind Parlour refuses."""

    code = "bad_model"


class InvalidRequestError(EngineError):
    code = "invalid_request"


class EngineCrashedError(EngineError):
    """The engine process died (native crash, out-of-memory kill)."""

    code = "engine_crashed"


class NotLoadedError(EngineError):
    code = "not_loaded"


class RemoteError(EngineError):
    """A remote endpoint could not be used: unreachable, refused the key, no such model, rate limited, too slow."""

    code = "remote_error"


class TemplateError(EngineError):
    """The chat template failed: a syntax error, a raise_exception(), an unsafe operation or a budget."""

    code = "template_error"


ERROR_CLASSES: dict[str, type[EngineError]] = {
    cls.code: cls
    for cls in (
        EngineError,
        ModelFileError,
        InvalidRequestError,
        EngineCrashedError,
        NotLoadedError,
        TemplateError,
        RemoteError,
    )
}
# Failures the person caused and can fix (a bad file, a hostile template, an impossible setting):
# commands exit with 2 for these, and 1 for Parlour's own.
USER_INPUT_CODES = frozenset({ModelFileError.code, InvalidRequestError.code, TemplateError.code})


def error_from_code(code: str, message: str) -> EngineError:
    return ERROR_CLASSES.get(code, EngineError)(message)


# --- the protocol -----------------------------------------------------------------------------------

ProgressCallback = Callable[[float, str], None]

# What MLX and remote engines answer to a request for embeddings.
EMBEDDINGS_NEED_GGUF = (
    "Parlour makes embeddings with llama.cpp only: embeddings need a GGUF model on llama.cpp, "
    "so choose a GGUF embedding model."
)
Message = dict[str, Any]  # {"role": ..., "content": ...}
