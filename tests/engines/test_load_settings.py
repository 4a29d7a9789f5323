"""Load settings: each KV-cache type loads and answers on llama.cpp (f16, q8_0, q4_0) and MLX (8 and 4 bits);
a quantized cache without flash attention on llama.cpp is refused with a sentence; the settings are checked
before any engine; the fit estimate follows the KV cache's type."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.library.fit import ModelShape, estimate_memory
from engines.base import GenerationParams, InvalidRequestError, LoadSettings
from engines.host_client import EngineClient

FRANCE = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
GREEDY = GenerationParams(temperature=0.0, max_tokens=16, repeat_penalty=1.0)


@pytest.mark.parametrize("kv", ["f16", "q8_0", "q4_0"])
def test_each_kv_cache_type_loads_and_answers_on_llamacpp(starter_gguf: Path, kv: str) -> None:
    with EngineClient() as client:
        client.load(str(starter_gguf), "llamacpp", LoadSettings(kv_cache_type=kv, batch_size=256, memory_map=False))
        text, finished = client.generate(FRANCE, GREEDY).text()
        assert finished.finish_reason in ("stop", "length") and "Paris" in text
        # A second turn reuses the (quantized) cache's prefix and still answers.
        follow = [*FRANCE, {"role": "assistant", "content": text}, {"role": "user", "content": "And of Italy?"}]
        again, finished = client.generate(follow, GREEDY).text()
        assert finished.finish_reason in ("stop", "length") and again and finished.stats.cached_tokens > 0


def test_a_quantized_cache_without_flash_attention_is_refused(starter_gguf: Path) -> None:
    with EngineClient() as client, pytest.raises(InvalidRequestError, match="needs flash attention on llama.cpp"):
        client.load(str(starter_gguf), "llamacpp", LoadSettings(kv_cache_type="q4_0", flash_attention=False))


@pytest.mark.mlx
@pytest.mark.parametrize("kv", ["q8_0", "q4_0"])
def test_mlx_answers_with_an_8_and_a_4_bit_cache(mlx_dir: Path, kv: str) -> None:
    with EngineClient() as client:
        client.load(str(mlx_dir), "mlx", LoadSettings(kv_cache_type=kv))
        text, finished = client.generate(FRANCE, GREEDY).text()
    assert finished.finish_reason in ("stop", "length") and "Paris" in text


@pytest.mark.parametrize(
    "settings",
    [{"kv_cache_type": "q5_1"}, {"batch_size": 8}, {"batch_size": 100_000}, {"kv_cache_type": "F16"}],
)
def test_settings_are_checked_before_any_engine(settings: dict) -> None:
    with pytest.raises(InvalidRequestError, match="Invalid load settings"):
        LoadSettings(**settings)


def test_the_fit_estimate_follows_the_kv_cache_type() -> None:
    shape = ModelShape(
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
    f16, q8, q4 = (
        estimate_memory("llamacpp", shape, 4_900_000_000, 32768, kv_cache_type=kv).kv_cache
        for kv in ("f16", "q8_0", "q4_0")
    )
    assert round(q8 / f16, 3) == 0.531 and round(q4 / f16, 3) == 0.281
    mlx_f16, mlx_8 = (
        estimate_memory("mlx", shape, 4_500_000_000, 32768, kv_cache_type=kv).kv_cache for kv in ("f16", "q8_0")
    )
    assert mlx_8 < 0.55 * mlx_f16
