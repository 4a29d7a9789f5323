"""llama.cpp's KV state as prompt-cache files: taken on the engine's thread, written on another.

`llama_state_get_data` copies the context's state (the KV cells in use, and the last logits) into one
buffer; that copy is the only part the reply's thread pays for. Restoring hands the bytes back to
llama.cpp, which checks their layout and refuses a state of another shape.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engines.disk_prompt_cache import CacheEntry, DiskPromptCache

log = logging.getLogger(__name__)


def state_snapshot(llm: Any) -> Any:
    """A copy of the context's state, for writing later."""
    import llama_cpp

    size = int(llama_cpp.llama_state_get_size(llm._ctx.ctx))
    buffer = (ctypes.c_uint8 * size)()
    written = int(llama_cpp.llama_state_get_data(llm._ctx.ctx, buffer, size))
    return memoryview(buffer)[:written]


def save_state_file(cache: DiskPromptCache, llm: Any) -> None:
    """Save what the KV cache holds now, keyed by its tokens; the file is written on another thread."""
    tokens = llm.input_ids[: llm.n_tokens].tolist()
    snapshot = state_snapshot(llm)

    def write(path: Path) -> None:
        with open(path, "wb") as handle:
            handle.write(snapshot)

    cache.save_in_background(tokens, write)


def restore_state_file(cache: DiskPromptCache, llm: Any, entry: CacheEntry) -> int:
    """Load a saved state into the context; returns how many tokens it holds (0 if refused, and then
    the file is deleted and the context emptied)."""
    import llama_cpp

    payload = cache.verified_payload(entry)
    if payload is None:
        return 0
    data = payload.read_bytes()
    buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    read = int(llama_cpp.llama_state_set_data(llm._ctx.ctx, buffer, len(data)))
    if read != len(data):
        log.warning("llama.cpp refused a saved prompt cache (%s); deleted", payload.name)
        cache.forget(entry)
        llm.reset()
        llm._ctx.kv_cache_clear()
        return 0
    tokens: Sequence[int] = entry.tokens
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    llm._requires_eval = True
    return len(tokens)
