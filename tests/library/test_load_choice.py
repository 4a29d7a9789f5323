"""The load settings a load gets (defaults, then the model's own, then the options typed), what an engine
would refuse, and the memory line the load settings dialog shows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.library.fit import MemoryBudget, estimate_memory, local_model_memory, local_model_shape
from app.library.load_choice import (
    check_load_settings,
    effective_load_settings,
    memory_line,
    model_overrides,
)
from app.paths import prompt_cache_dir
from app.store.db import Store, open_store
from app.store.load_settings import save_load_settings
from engines.base import InvalidRequestError, LoadSettings
from tests.library.test_fit import LLAMA_8B

GB = 1_000_000_000


@pytest.fixture
def store(private_home: Path) -> Iterator[Store]:
    opened = open_store()
    yield opened
    opened.close()


def test_defaults_then_the_models_own_then_the_options_typed(store: Store, starter_gguf: Path) -> None:
    plain = effective_load_settings(starter_gguf, store)
    assert plain == LoadSettings(prompt_cache_dir=str(prompt_cache_dir()))
    assert Path(plain.prompt_cache_dir or "").is_dir()
    save_load_settings(store, starter_gguf, {"kv_cache_type": "q8_0", "threads": 1, "context_length": 2048})
    own = effective_load_settings(starter_gguf, store)
    assert (own.kv_cache_type, own.threads, own.context_length) == ("q8_0", 1, 2048)
    typed = effective_load_settings(starter_gguf, store, {"threads": 2, "prompt_lookup": False})
    assert (typed.kv_cache_type, typed.threads, typed.prompt_lookup, typed.context_length) == ("q8_0", 2, False, 2048)
    # Without a store one is opened for the read (the command line's one-shot chat).
    assert effective_load_settings(starter_gguf).threads == 1
    with pytest.raises(InvalidRequestError, match="batch size"):
        effective_load_settings(starter_gguf, store, {"batch_size": 1})
    # A remote model's server decides how it is loaded: nothing stored applies.
    assert model_overrides("remote:gpu-box/llama", store) == {}


def test_a_draft_model_that_was_deleted_is_left_out(
    store: Store, starter_gguf: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    draft = tmp_path / "draft.gguf"
    draft.symlink_to(starter_gguf)
    save_load_settings(store, starter_gguf, {"draft_model": str(draft), "max_draft_tokens": 4})
    assert effective_load_settings(starter_gguf, store).draft_model == str(draft)
    draft.unlink()
    with caplog.at_level(logging.INFO, logger="parlour.library"):
        settings = effective_load_settings(starter_gguf, store)
    assert settings.draft_model is None and settings.max_draft_tokens == 4
    assert "no longer there" in caplog.text


def test_what_the_engine_would_refuse_is_its_own_sentence() -> None:
    with pytest.raises(InvalidRequestError, match="^A q8_0 KV cache needs flash attention on llama.cpp"):
        check_load_settings({"kv_cache_type": "q8_0", "flash_attention": False}, "llamacpp")
    # MLX has no flash attention switch: its 8-bit cache runs either way.
    assert check_load_settings({"kv_cache_type": "q8_0", "flash_attention": False}, "mlx").kv_cache_type == "q8_0"
    assert check_load_settings({"kv_cache_type": "q4_0", "flash_attention": True}, "llamacpp").flash_attention
    with pytest.raises(InvalidRequestError, match="at most 8,192 tokens"):
        check_load_settings({"context_length": 9000}, "llamacpp", 8192)
    with pytest.raises(InvalidRequestError, match="between 16 and"):
        check_load_settings({"context_length": 8}, "mlx", 8192)
    with pytest.raises(InvalidRequestError, match="draft tokens must be a whole number from 1 to 64"):
        check_load_settings({"max_draft_tokens": 0}, "llamacpp")


def test_the_memory_line_follows_the_context_the_cache_and_the_free_memory() -> None:
    weights = 4_900_000_000
    roomy = MemoryBudget("cpu", 60 * GB, 60 * GB, "60 GB of RAM")
    at_8k = memory_line("llamacpp", LLAMA_8B, weights, 131072, LoadSettings(context_length=8192), roomy)
    expected = estimate_memory("llamacpp", LLAMA_8B, weights, 8192).total
    assert at_8k == f"About {expected / 1e9:.1f} GB with this context; 60.0 GB is free."
    at_32k = memory_line("llamacpp", LLAMA_8B, weights, 131072, LoadSettings(context_length=32768), roomy)
    quantized = memory_line(
        "llamacpp", LLAMA_8B, weights, 131072, LoadSettings(context_length=32768, kv_cache_type="q4_0"), roomy
    )
    assert _gigabytes(at_8k) < _gigabytes(at_32k) and _gigabytes(quantized) < _gigabytes(at_32k)
    own = memory_line("llamacpp", LLAMA_8B, weights, 131072, LoadSettings(), roomy)
    assert "with the model's own context (" in own and own.endswith("60.0 GB is free.")
    tight = MemoryBudget("cpu", 6 * GB, 6 * GB, "6 GB of RAM")
    too_big = memory_line("llamacpp", LLAMA_8B, weights, 131072, LoadSettings(context_length=32768), tight)
    assert too_big.endswith("only 6.0 GB is free, so it may not load.")
    # llama.cpp with no GPU layers runs from RAM: the GPU's free memory is not what it gets.
    gpu = MemoryBudget("cuda", 24 * GB, 88 * GB, "24 GB free on the GPU and 64 GB of RAM")
    on_cpu = memory_line("llamacpp", LLAMA_8B, weights, 131072, LoadSettings(context_length=8192, gpu_layers=0), gpu)
    assert on_cpu.endswith("; 64.0 GB is free.")
    unknown = memory_line("llamacpp", None, weights, None, LoadSettings(), roomy)
    assert unknown.startswith("Parlour cannot tell how much memory")


def _gigabytes(line: str) -> float:
    about, number, unit = line.split()[:3]
    assert about == "About" and unit == "GB", line
    return float(number)


def test_a_local_models_shape_and_memory(starter_gguf: Path, tmp_path: Path) -> None:
    shape, weights = local_model_shape(str(starter_gguf))
    assert shape is not None and shape.layers == 30 and weights == starter_gguf.stat().st_size
    assert local_model_memory(str(starter_gguf), "llamacpp") == estimate_memory("llamacpp", shape, weights, 8192).total
    assert local_model_shape(str(tmp_path / "nowhere.gguf")) == (None, 0)
    noise = tmp_path / "noise.gguf"
    noise.write_bytes(b"not a model" * 100)
    assert local_model_shape(str(noise)) == (None, 0)  # not a model: nothing to judge by
