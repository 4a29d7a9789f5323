"""The load settings a load uses, whether an engine can run them, and what they cost in memory.

`effective_load_settings` is the one place settings are put together: LoadSettings' defaults, then the
model's own stored overrides (app.store.load_settings), then what was asked for this once (the command
line's options, the window's context length), with the prompt cache in the data folder. The window,
`parlour chat` and `parlour models settings` all go through it, so they agree on what a load gets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from app.library.fit import MLX_CACHE_STEP, MemoryBudget, ModelShape, estimate_memory
from app.store.db import Store
from app.store.errors import StoreError
from app.store.load_settings import stored_load_settings
from engines.base import LoadSettings
from engines.context import check_context_length, default_context_length
from engines.inspect import human_size
from engines.remote_target import is_remote_ref

log = logging.getLogger("parlour.library")


def model_overrides(path: str | Path, store: Store | None = None) -> dict[str, Any]:
    """The model's stored overrides, less a draft model whose file is gone (a deleted draft model must not
    stop the load). Without a `store`, one is opened for this read; a store that cannot be read means none."""
    if is_remote_ref(str(path)):
        return {}  # a remote model is loaded by its server
    try:
        if store is not None:
            overrides = stored_load_settings(store, path)
        else:
            from app.store.db import open_store

            opened = open_store()
            try:
                overrides = stored_load_settings(opened, path)
            finally:
                opened.close()
    except StoreError as err:
        log.warning("the load settings of %s could not be read: %s", path, err)
        return {}
    draft = overrides.get("draft_model")
    if draft is not None and not Path(draft).exists():
        log.info("leaving out the draft model of %s: %s is no longer there", path, draft)
        del overrides["draft_model"]
    return overrides


def effective_load_settings(
    path: str | Path, store: Store | None = None, explicit: dict[str, Any] | None = None
) -> LoadSettings:
    """Defaults, then the model's stored overrides, then `explicit` (LoadSettings fields asked for this once).
    InvalidRequestError (one sentence) when `explicit` holds a value LoadSettings refuses."""
    from app.paths import prompt_cache_dir

    values = {**model_overrides(path, store), **(explicit or {})}
    try:
        values["prompt_cache_dir"] = str(prompt_cache_dir())
    except OSError as err:  # an unwritable data folder: the cache stays in memory, the load goes on
        log.warning("the prompt cache stays in memory: %s", err)
    return LoadSettings(**values)


def check_load_settings(values: dict[str, Any], engine: str, model_context: int | None = None) -> LoadSettings:
    """The settings `values` make, or InvalidRequestError with the sentence the engine would refuse them with:
    a value out of range, a context past the model's, a quantized KV cache without flash attention."""
    settings = LoadSettings(**values)
    check_context_length(settings.context_length, model_context, 0, 0, None)
    if engine == "llamacpp":
        # Imported here: the module imports llama_cpp only inside its engine's methods, but it is not small.
        from engines.llamacpp_engine import flash_attention

        flash_attention(settings)
    return settings


def own_context(
    engine: str, shape: ModelShape, weights: int, model_context: int | None, settings: LoadSettings, free: int
) -> int:
    """The context a load with no context length gets: the model's own, capped to what free memory holds."""
    per_token = estimate_memory(engine, shape, weights, MLX_CACHE_STEP, kv_cache_type=settings.kv_cache_type)
    return default_context_length(model_context, weights, per_token.kv_cache // MLX_CACHE_STEP, free)


def memory_line(
    engine: str,
    shape: ModelShape | None,
    weights: int,
    model_context: int | None,
    settings: LoadSettings,
    budget: MemoryBudget,
) -> str:
    """One sentence on what `settings` cost: "About 1.2 GB with this context; 20.3 GB is free."."""
    if shape is None:
        return "Parlour cannot tell how much memory this model needs; it reads only its size."
    # As judge_fit: MLX runs on the GPU only on Apple Silicon; llama.cpp with no GPU layers runs from RAM.
    on_cpu = (engine == "mlx" and budget.kind != "unified") or (engine == "llamacpp" and settings.gpu_layers == 0)
    gpu = budget.has_gpu and not on_cpu
    free = budget.fast if gpu or budget.kind != "cuda" else budget.total - budget.fast
    context = settings.context_length or own_context(engine, shape, weights, model_context, settings, free)
    needed = estimate_memory(engine, shape, weights, context, gpu=gpu, kv_cache_type=settings.kv_cache_type).total
    which = "this context" if settings.context_length else f"the model's own context ({context:,} tokens)"
    if needed > free:
        return f"About {human_size(needed)} with {which}; only {human_size(free)} is free, so it may not load."
    return f"About {human_size(needed)} with {which}; {human_size(free)} is free."
