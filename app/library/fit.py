"""Will this model fit? Memory at a context length, per engine, against what this machine can give.

The estimate is the sum of what each engine really allocates, modelled on its code:

- weights: the variant's weight files (llama.cpp maps the GGUF; MLX loads the safetensors).
- KV cache: layers x KV heads x (key + value head size) x bytes per value x context.
  llama.cpp allocates it for the whole context at load, in f16; mlx-lm grows it in steps
  of 256 tokens, in the model's dtype.
- compute: the largest scratch of a prefill. llama.cpp (CPU, no flash attention) scores a
  512-token batch against the whole context in f32 (heads + the mask); with a GPU it uses flash
  attention and its whole reserved buffer counts, which holds a batch's logits. Parlour's MLX
  engine prefills 512 tokens at a time on a GPU and 32 on the CPU; on the CPU, MLX's attention
  materialises the chunk's scores (Metal's fused kernel does not, for the usual head sizes).
- runtime: the engine process itself (Python, the engine library, llama.cpp's vocabulary tables).

Checked against reality by tests/library/test_fit_measured.py, which loads the starter model
on both engines and prefills about 2,000 tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engines.base import KV_CACHE_BYTES

MB = 1_000_000
LLAMACPP_UBATCH = 512
# MLX's quantized caches keep a scale and a bias (16-bit each) per group of 64 values.
MLX_KV_BYTES = {"q8_0": 1 + 4 / 64, "q4_0": 0.5 + 4 / 64}
# Parlour reads MLX prompts in steps of its own (engines/mlx_engine.py), smaller on the CPU.
MLX_PREFILL_STEP_GPU = 512
MLX_PREFILL_STEP_CPU = 32
MLX_CACHE_STEP = 256  # mlx_lm.models.cache.KVCache.step
# The engine host with its library imported, measured on Linux x86-64 (Python 3.11):
LLAMACPP_RUNTIME = 46 * MB
LLAMACPP_BYTES_PER_VOCAB_ENTRY = 500  # token texts, scores, the merge ranks, as llama.cpp keeps them
MLX_RUNTIME = 135 * MB
METAL_FUSED_HEAD_SIZES = (64, 80, 128)  # MLX's fused prefill attention on Metal; others materialise scores
CONTEXT_LADDER = (131072, 65536, 32768, 16384, 8192, 4096, 2048)
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass(frozen=True)
class ModelShape:
    """The sizes that decide memory, from a GGUF header or a Hugging Face config."""

    layers: int
    heads: int
    kv_heads: int
    key_length: int
    value_length: int
    embedding: int
    feed_forward: int
    vocab: int
    dtype_bytes: int = 2  # MLX: the dtype of activations and cache


@dataclass(frozen=True)
class FitEstimate:
    engine: str
    context: int
    weights: int
    kv_cache: int
    compute: int
    runtime: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.runtime

    @property
    def engine_memory(self) -> int:
        """What the engine library allocates itself (MLX's peak-memory counter sees exactly this)."""
        return self.weights + self.kv_cache + self.compute


@dataclass(frozen=True)
class MemoryBudget:
    """What the machine can give a model: `fast` on the GPU (or RAM), `total` with RAM for offloaded layers."""

    kind: str  # "unified" (Apple Silicon), "cuda" or "cpu"
    fast: int
    total: int
    description: str

    @property
    def has_gpu(self) -> bool:
        return self.kind in ("unified", "cuda")


@dataclass(frozen=True)
class FitVerdict:
    badge: str  # "Fits", "Fits with context N", "Partial GPU offload", "Too large" or "Unknown"
    context: int
    estimate: FitEstimate | None
    detail: str


# --- shapes ---------------------------------------------------------------------------------------------


def _num(value: Any, reduce: Any = max) -> int | None:
    """An int, or a per-layer list of ints reduced to one (some models vary heads by layer)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return int(reduce(value))
    return None


def _mean_up(values: list[int]) -> int:
    return math.ceil(sum(values) / len(values))


def shape_from_gguf(metadata: dict[str, Any], array_lengths: dict[str, int] | None = None) -> ModelShape | None:
    arch = metadata.get("general.architecture")
    if not isinstance(arch, str):
        return None
    get = lambda key: metadata.get(f"{arch}.{key}")  # noqa: E731
    layers, heads = _num(get("block_count")), _num(get("attention.head_count"))
    embedding = _num(get("embedding_length"))
    if not layers or not heads or not embedding:
        return None
    kv_heads = _num(get("attention.head_count_kv"), _mean_up) or heads
    key_length = _num(get("attention.key_length")) or embedding // heads
    vocab = _num(get("vocab_size")) or (array_lengths or {}).get("tokenizer.ggml.tokens") or 32000
    return ModelShape(
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        key_length=key_length,
        value_length=_num(get("attention.value_length")) or key_length,
        embedding=embedding,
        feed_forward=_num(get("feed_forward_length")) or 4 * embedding,
        vocab=int(vocab),
    )


def shape_from_config(config: dict[str, Any]) -> ModelShape | None:
    nested = config.get("text_config")  # multimodal configs keep the language model's sizes here
    text: dict[str, Any] = nested if isinstance(nested, dict) else config
    layers = _num(text.get("num_hidden_layers") or text.get("n_layer") or text.get("num_layers"))
    heads = _num(text.get("num_attention_heads") or text.get("n_head"))
    embedding = _num(text.get("hidden_size") or text.get("n_embd") or text.get("d_model"))
    if not layers or not heads or not embedding:
        return None
    head_dim = _num(text.get("head_dim")) or embedding // heads
    dtype = str(text.get("torch_dtype") or config.get("torch_dtype") or text.get("dtype") or "float16")
    return ModelShape(
        layers=layers,
        heads=heads,
        kv_heads=_num(text.get("num_key_value_heads")) or heads,
        key_length=head_dim,
        value_length=head_dim,
        embedding=embedding,
        feed_forward=_num(text.get("intermediate_size") or text.get("n_inner")) or 4 * embedding,
        vocab=_num(text.get("vocab_size")) or 32000,
        dtype_bytes=DTYPE_BYTES.get(dtype, 2),
    )


# --- the estimate -----------------------------------------------------------------------------------------


def estimate_memory(
    engine: str, shape: ModelShape, weights_bytes: int, context: int, gpu: bool = False, kv_cache_type: str = "f16"
) -> FitEstimate:
    """Bytes needed to run a model with `context` tokens on `engine` ("llamacpp" or "mlx"), its KV cache of
    `kv_cache_type` (f16, q8_0 or q4_0; on MLX the last two are its 8- and 4-bit caches)."""
    kv_per_token = shape.layers * shape.kv_heads * (shape.key_length + shape.value_length)
    if engine == "mlx":
        chunk = min(MLX_PREFILL_STEP_GPU if gpu else MLX_PREFILL_STEP_CPU, context)
        # The chunk's scores against everything cached (materialised by MLX's CPU attention; Metal's
        # fused kernel does without), and the activations the layer keeps per token (the MLP's
        # gate, up and product, the residual stream, the norms and projections): measured on MLX 0.32
        # as 1.0 x the scores plus (5 x feed-forward + 6 x embedding) values per token.
        fused = gpu and shape.key_length in METAL_FUSED_HEAD_SIZES
        attention = 0 if fused else shape.heads * chunk * context * shape.dtype_bytes
        per_token = (5 * shape.feed_forward + 6 * shape.embedding) * shape.dtype_bytes
        cached = math.ceil(context / MLX_CACHE_STEP) * MLX_CACHE_STEP
        return FitEstimate(
            engine="mlx",
            context=context,
            weights=weights_bytes,
            kv_cache=int(cached * kv_per_token * MLX_KV_BYTES.get(kv_cache_type, shape.dtype_bytes)),
            compute=attention + chunk * per_token + shape.vocab * 4,
            runtime=MLX_RUNTIME,
        )
    batch = min(LLAMACPP_UBATCH, context)
    flash = kv_cache_type != "f16"  # a quantized cache runs with flash attention: no score matrix, an f16 mask
    scores = batch * context * 2 if flash else batch * context * (shape.heads + 1) * 4  # KQ in f32, the f32 mask
    mlp = batch * (2 * shape.feed_forward + shape.embedding) * 4
    # With a GPU llama.cpp turns flash attention on (no score matrix, an f16 mask), and its whole reserved
    # buffer is real memory, which holds a batch's logits. On the CPU (no flash attention) only written
    # pages count: the scores and one row of logits.
    gpu_compute = shape.vocab * batch * 4 + mlp + batch * context * 2
    compute = gpu_compute if gpu else scores + mlp + shape.vocab * 4
    return FitEstimate(
        engine="llamacpp",
        context=context,
        weights=weights_bytes,
        kv_cache=int(context * kv_per_token * KV_CACHE_BYTES[kv_cache_type]),
        compute=compute,
        runtime=LLAMACPP_RUNTIME + shape.vocab * LLAMACPP_BYTES_PER_VOCAB_ENTRY,
    )


# --- the machine ----------------------------------------------------------------------------------------


def machine_budget() -> MemoryBudget:
    """What this machine can give a model now (cheap: no engine is imported)."""
    from engines.hardware import apple_gpu_working_set_bytes, cuda_devices, is_apple_silicon, memory
    from engines.inspect import human_size

    total_ram, available = memory()
    available = available or total_ram or 0
    if is_apple_silicon():
        working_set = apple_gpu_working_set_bytes(total_ram) or available
        fast = min(working_set, available)
        return MemoryBudget("unified", fast, available, f"{human_size(fast)} of unified memory for the GPU")
    devices = cuda_devices()
    if devices:
        free_vram = sum(int(d["free_memory_bytes"]) for d in devices)
        return MemoryBudget(
            "cuda",
            free_vram,
            free_vram + available,
            f"{human_size(free_vram)} free on the GPU and {human_size(available)} of RAM",
        )
    return MemoryBudget("cpu", available, available, f"{human_size(available)} of available RAM")


def judge_fit(
    engine: str,
    shape: ModelShape | None,
    weights_bytes: int,
    context: int,
    budget: MemoryBudget,
) -> FitVerdict:
    """The badge for one variant at the chosen context length."""
    from engines.inspect import human_size

    if shape is None:
        return FitVerdict("Unknown", context, None, "Parlour cannot tell this model's size before downloading it.")
    # MLX runs on the GPU only on Apple Silicon; elsewhere it runs on the CPU, from RAM.
    mlx_on_cpu = engine == "mlx" and budget.kind != "unified"
    fast = budget.total if mlx_on_cpu else budget.fast
    gpu = budget.has_gpu and not mlx_on_cpu
    wanted = estimate_memory(engine, shape, weights_bytes, context, gpu=gpu)
    if wanted.total <= fast:
        return FitVerdict("Fits", context, wanted, f"Needs about {human_size(wanted.total)}; {budget.description}.")
    for smaller in (c for c in CONTEXT_LADDER if c < context):
        trimmed = estimate_memory(engine, shape, weights_bytes, smaller, gpu=gpu)
        if trimmed.total <= fast:
            return FitVerdict(
                f"Fits with context {smaller}",
                smaller,
                trimmed,
                f"Needs about {human_size(wanted.total)} at {context} tokens but only "
                f"{human_size(trimmed.total)} at {smaller}; {budget.description}.",
            )
    least = estimate_memory(engine, shape, weights_bytes, min(CONTEXT_LADDER[-1], context), gpu=gpu)
    if engine == "llamacpp" and gpu and least.total <= budget.total:
        return FitVerdict(
            "Partial GPU offload",
            least.context,
            least,
            f"Needs about {human_size(least.total)}: some layers run on the GPU and the rest on "
            f"the CPU, which is slower; {budget.description}.",
        )
    return FitVerdict(
        "Too large",
        context,
        wanted,
        f"Needs about {human_size(least.total)} even with a short context; {budget.description}.",
    )


# --- a model on disk ------------------------------------------------------------------------------------

DEFAULT_SERVED_CONTEXT = 8192  # the context a model is judged at when nothing else is known


def local_model_shape(path: str) -> tuple[ModelShape | None, int]:
    """The model at `path`: its shape (None when it cannot be read) and its weights' bytes (0 when unknown)."""
    import json
    from pathlib import Path

    from engines.gguf_header import read_gguf_header

    location = Path(path)
    try:
        if location.is_dir():
            weights = sum(p.stat().st_size for p in location.glob("*.safetensors"))
            return shape_from_config(json.loads((location / "config.json").read_text(encoding="utf-8"))), weights
        weights = location.stat().st_size
        header = read_gguf_header(location)
        return shape_from_gguf(header.metadata, header.array_lengths), weights
    except (OSError, ValueError):
        return None, 0
    except Exception:  # a header the reader refuses: judged by its size
        return None, location.stat().st_size if location.is_file() else 0


def local_model_memory(path: str, engine: str, context_length: int | None = None) -> int:
    """About how much memory the model at `path` takes once loaded (the fit estimate at its context, or
    8,192 tokens, whichever is smaller); from its weights' size alone when its shape cannot be read."""
    shape, weights = local_model_shape(path)
    context = min(context_length or DEFAULT_SERVED_CONTEXT, DEFAULT_SERVED_CONTEXT)
    if shape is None:
        return int(weights * 1.2)
    return estimate_memory(engine, shape, weights, context).total
