"""The fit estimate against reality: load the starter on each engine, prefill a long prompt, compare peaks.

llama.cpp: peak resident memory of the engine host (the Finished event's peak_memory_bytes, ru_maxrss)
against the whole estimate, runtime included, after a prefill of about 2,000 tokens.

MLX: MLX's own peak-memory counter (weights, cache and scratch: what it allocates, not the Python
interpreter around it) against the estimate's engine part. On this CPU MLX prefills about 4 tokens a
second (2,264 tokens took 548 s here), so by default the prompt is short (about 150 tokens, ~20 s);
PARLOUR_FIT_MLX_TOKENS=2000 runs the full check.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.library.fit import estimate_memory, shape_from_config, shape_from_gguf
from engines.base import GenerationParams, LoadSettings
from engines.gguf_header import read_gguf_header
from engines.host_client import EngineClient

TOLERANCE = 0.15
ONE_TOKEN = GenerationParams(temperature=0.0, max_tokens=1, repeat_penalty=1.0)
MLX_TOKENS = int(os.environ.get("PARLOUR_FIT_MLX_TOKENS", "150"))


def prompt_of(client: EngineClient, tokens: int) -> tuple[list[dict[str, str]], int]:
    """A user message that renders to about `tokens` prompt tokens, and its exact count."""

    def messages(words: int) -> list[dict[str, str]]:
        text = " ".join(f"item{i % 89} is filed under shelf {i % 13}." for i in range(words))
        return [{"role": "user", "content": "Summarise this inventory: " + text}]

    probe = client.tokenize(messages(20))
    per_word = (len(client.tokenize(messages(40))) - len(probe)) / 20
    words = max(1, int(20 + (tokens - len(probe)) / per_word))
    final = messages(words)
    return final, len(client.tokenize(final))


def report(name: str, measured: int, estimated: int) -> str:
    error = (estimated - measured) / measured
    line = f"{name}: measured {measured / 1e6:.1f} MB, estimated {estimated / 1e6:.1f} MB ({error:+.1%})"
    print(line)
    return line


@pytest.mark.slow
def test_llamacpp_prefill_of_2000_tokens_matches_the_estimate(starter_gguf: Path) -> None:
    context = 2048
    header = read_gguf_header(starter_gguf)
    shape = shape_from_gguf(header.metadata, header.array_lengths)
    assert shape is not None
    with EngineClient() as client:
        client.load(str(starter_gguf), "llamacpp", LoadSettings(context_length=context))
        messages, count = prompt_of(client, 2000)
        assert 1900 <= count < context
        _, finished = client.generate(messages, ONE_TOKEN).text()
    assert finished.finish_reason in ("length", "stop"), finished.error
    measured = finished.stats.peak_memory_bytes
    estimate = estimate_memory("llamacpp", shape, starter_gguf.stat().st_size, context)
    line = report(f"llama.cpp, {count} tokens in a {context} context", measured, estimate.total)
    assert abs(estimate.total - measured) <= TOLERANCE * measured, line


@pytest.mark.slow
@pytest.mark.parametrize("kv_cache_type", ["f16", "q8_0"])
def test_llamacpp_at_a_long_context_matches_the_estimate_for_each_kv_cache(
    starter_gguf: Path, kv_cache_type: str
) -> None:
    context = 8192  # the starter's longest: its KV cache is then a large part of the whole
    header = read_gguf_header(starter_gguf)
    shape = shape_from_gguf(header.metadata, header.array_lengths)
    assert shape is not None
    with EngineClient() as client:
        client.load(str(starter_gguf), "llamacpp", LoadSettings(context_length=context, kv_cache_type=kv_cache_type))
        messages, count = prompt_of(client, 7800)  # the context nearly full, as the estimate assumes
        assert 7500 <= count < context
        _, finished = client.generate(messages, ONE_TOKEN).text()
    assert finished.finish_reason in ("length", "stop"), finished.error
    measured = finished.stats.peak_memory_bytes
    estimate = estimate_memory("llamacpp", shape, starter_gguf.stat().st_size, context, kv_cache_type=kv_cache_type)
    line = report(f"llama.cpp, {kv_cache_type} KV, {count} tokens in a {context} context", measured, estimate.total)
    assert abs(estimate.total - measured) <= TOLERANCE * measured, line


@pytest.mark.slow
@pytest.mark.mlx
def test_mlx_prefill_matches_the_estimate(mlx_dir: Path) -> None:
    import json

    shape = shape_from_config(json.loads((mlx_dir / "config.json").read_text()))
    assert shape is not None
    weights = sum(p.stat().st_size for p in mlx_dir.glob("*.safetensors"))
    with EngineClient() as client:
        client.load(str(mlx_dir), "mlx", LoadSettings(context_length=4096))
        messages, count = prompt_of(client, MLX_TOKENS)
        _, finished = client.generate(messages, ONE_TOKEN).text()
    assert finished.finish_reason in ("length", "stop"), finished.error
    measured = finished.stats.peak_memory_bytes
    estimate = estimate_memory("mlx", shape, weights, count + 1)
    line = report(f"MLX, {count} tokens", measured, estimate.engine_memory)
    assert abs(estimate.engine_memory - measured) <= TOLERANCE * measured, line
    # The weights dominate a short prompt; hold the part that grows with the context to the same standard.
    grown, grown_estimate = measured - weights, estimate.engine_memory - weights
    assert abs(grown_estimate - grown) <= max(0.25 * grown, 2_000_000), report(
        "MLX beyond the weights", grown, grown_estimate
    )
