"""The fit estimate's arithmetic and badges (the comparison with measured memory is in test_fit_measured.py)."""

from __future__ import annotations

import json
from pathlib import Path

from app.library.fit import (
    MemoryBudget,
    ModelShape,
    estimate_memory,
    judge_fit,
    machine_budget,
    shape_from_config,
    shape_from_gguf,
)
from engines.gguf_header import GGUFTruncatedError, parse_gguf_prefix, read_gguf_header

GB = 1_000_000_000
# A Llama-3-8B-like shape: 32 layers, 8 KV heads of 128.
LLAMA_8B = ModelShape(
    layers=32,
    heads=32,
    kv_heads=8,
    key_length=128,
    value_length=128,
    embedding=4096,
    feed_forward=14336,
    vocab=128256,
    dtype_bytes=2,
)


def test_shape_from_the_starter_gguf_header(starter_gguf: Path) -> None:
    header = read_gguf_header(starter_gguf)
    shape = shape_from_gguf(header.metadata, header.array_lengths)
    assert shape == ModelShape(
        layers=30,
        heads=9,
        kv_heads=3,
        key_length=64,
        value_length=64,
        embedding=576,
        feed_forward=1536,
        vocab=49152,
        dtype_bytes=2,
    )


def test_header_from_a_prefix_of_the_file(starter_gguf: Path) -> None:
    data = starter_gguf.read_bytes()[: 2 * 1024 * 1024]
    header = parse_gguf_prefix(data)
    assert header.metadata["llama.block_count"] == 30 and len(header.tensors) == 272
    try:
        parse_gguf_prefix(data[:500_000])  # ends inside the vocabulary
    except GGUFTruncatedError as err:
        assert err.expected is None
    else:
        raise AssertionError("a prefix that ends inside the header must ask for more")


def test_shape_from_a_config_with_nested_text_config() -> None:
    config = {
        "model_type": "gemma3",
        "text_config": {
            "num_hidden_layers": 26,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "hidden_size": 1152,
            "head_dim": 256,
            "intermediate_size": 6912,
            "vocab_size": 262144,
            "torch_dtype": "bfloat16",
        },
    }
    shape = shape_from_config(config)
    assert shape is not None and (shape.layers, shape.kv_heads, shape.key_length, shape.dtype_bytes) == (26, 1, 256, 2)
    assert shape_from_config({"model_type": "x"}) is None


def test_kv_cache_grows_with_context_as_the_engines_allocate_it() -> None:
    small = estimate_memory("llamacpp", LLAMA_8B, 4_900_000_000, 8192)
    big = estimate_memory("llamacpp", LLAMA_8B, 4_900_000_000, 32768)
    # 32 layers x 8 heads x (128 + 128) x 2 bytes = 128 KiB a token: the well-known 1 GiB at 8K for Llama 3 8B.
    assert small.kv_cache == 8192 * 131072 == 1024**3
    assert big.kv_cache == 4 * small.kv_cache
    mlx = estimate_memory("mlx", LLAMA_8B, 4_500_000_000, 1000)
    assert mlx.kv_cache == 1024 * 131072  # mlx-lm grows its cache 256 tokens at a time
    # The scores of a prefill step grow with the context on the CPU; Metal's fused attention keeps none.
    longer = estimate_memory("mlx", LLAMA_8B, 4_500_000_000, 4000)
    assert longer.compute > mlx.compute
    on_gpu = [estimate_memory("mlx", LLAMA_8B, 4_500_000_000, c, gpu=True).compute for c in (1000, 4000)]
    assert on_gpu[0] == on_gpu[1]


def test_badges() -> None:
    weights = 4_900_000_000
    cpu_big = MemoryBudget("cpu", 64 * GB, 64 * GB, "64 GB of RAM")
    assert judge_fit("llamacpp", LLAMA_8B, weights, 8192, cpu_big).badge == "Fits"
    cpu_small = MemoryBudget("cpu", 7 * GB, 7 * GB, "7 GB of RAM")
    verdict = judge_fit("llamacpp", LLAMA_8B, weights, 32768, cpu_small)
    assert verdict.badge.startswith("Fits with context ") and verdict.context < 32768
    assert verdict.estimate is not None and verdict.estimate.total <= 7 * GB
    gpu = MemoryBudget("cuda", 4 * GB, 36 * GB, "4 GB free on the GPU")
    assert judge_fit("llamacpp", LLAMA_8B, weights, 8192, gpu).badge == "Partial GPU offload"
    # MLX cannot spill layers to the CPU: on a Mac without room it is simply too large.
    mac = MemoryBudget("unified", 4 * GB, 6 * GB, "4 GB of unified memory for the GPU")
    assert judge_fit("mlx", LLAMA_8B, 4_500_000_000, 8192, mac).badge == "Too large"
    assert judge_fit("llamacpp", LLAMA_8B, weights, 8192, MemoryBudget("cpu", GB, GB, "1 GB")).badge == "Too large"
    assert judge_fit("llamacpp", None, weights, 8192, cpu_big).badge == "Unknown"


def test_this_machines_budget_is_its_available_ram() -> None:
    from engines.hardware import cuda_devices, is_apple_silicon, memory

    budget = machine_budget()
    if not is_apple_silicon() and not cuda_devices():
        total, _ = memory()
        assert budget.kind == "cpu" and 0 < budget.fast <= (total or 0) and budget.fast == budget.total


def test_derived_mlx_config_shape(mlx_dir: Path) -> None:
    shape = shape_from_config(json.loads((mlx_dir / "config.json").read_text()))
    assert shape is not None and shape.dtype_bytes == 4  # float32 weights, so a float32 cache


def test_the_estimate_sizes_an_mlx_prefill_by_the_steps_the_engine_reads() -> None:
    from app.library import fit
    from engines import mlx_engine

    assert (fit.MLX_PREFILL_STEP_GPU, fit.MLX_PREFILL_STEP_CPU) == (
        mlx_engine.PREFILL_STEP_GPU,
        mlx_engine.PREFILL_STEP_CPU,
    )
