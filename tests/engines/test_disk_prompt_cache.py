"""The prompt cache on disk: written by one engine process, used by the next, never trusted when damaged."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engines.base import GenerationParams, LoadSettings
from engines.disk_prompt_cache import MIN_TOKENS, DiskPromptCache
from engines.host_client import EngineClient

GREEDY = GenerationParams(temperature=0.0, max_tokens=8, repeat_penalty=1.0)
NOTES = " ".join(f"Note {i}: the meeting about item {i} moved to room {i % 7}." for i in range(60))


def long_chat() -> list[dict[str, str]]:
    return [
        {"role": "user", "content": "Here are my notes. " + NOTES},
        {"role": "assistant", "content": "I have read your notes."},
        {"role": "user", "content": "Which room is item 12 in?"},
    ]


def one_reply(model: Path, engine: str, cache: Path | None, messages: list[dict[str, str]]):
    """A reply from a fresh engine process (as after a restart), which is then closed."""
    client = EngineClient()
    try:
        settings = LoadSettings(context_length=2048, prompt_cache_dir=str(cache) if cache else None)
        client.load(str(model), engine, settings)
        text, finished = client.generate(messages, GREEDY).text()
        client.unload()  # answered once the state is written (the host unloads only after its writer is done)
    finally:
        client.close()
    assert finished.finish_reason in ("stop", "length"), finished.error
    return text, finished.stats


def follow_up(messages: list[dict[str, str]], text: str) -> list[dict[str, str]]:
    return [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": "And item 13?"}]


def entries(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


@pytest.mark.parametrize("engine", ["llamacpp", pytest.param("mlx", marks=pytest.mark.mlx)])
def test_a_new_process_reuses_the_cache_the_last_one_wrote(
    engine: str, starter_gguf: Path, mlx_dir: Path, tmp_path: Path
) -> None:
    model = starter_gguf if engine == "llamacpp" else mlx_dir
    messages = long_chat()
    text, first = one_reply(model, engine, tmp_path, messages)
    assert first.prompt_tokens >= MIN_TOKENS and first.disk_cached_tokens == 0
    assert any(name.endswith(".meta") for name in entries(tmp_path)), entries(tmp_path)
    _, second = one_reply(model, engine, tmp_path, follow_up(messages, text))
    assert second.disk_cached_tokens >= first.prompt_tokens  # the whole first exchange came from disk
    assert second.cached_tokens == second.disk_cached_tokens
    assert second.prompt_tokens - second.cached_tokens < 40
    if engine == "llamacpp":  # the same state gives the same next reply as reading it all again
        again, _ = one_reply(model, engine, None, follow_up(messages, text))
        restored, _ = one_reply(model, engine, tmp_path, follow_up(messages, text))
        assert restored == again


def test_a_changed_model_file_never_uses_the_old_cache(starter_gguf: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    shutil.copyfile(starter_gguf, model)
    cache = tmp_path / "cache"
    messages = long_chat()
    text, _ = one_reply(model, "llamacpp", cache, messages)
    old = entries(cache)
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 10**9))  # saved again, say
    _, second = one_reply(model, "llamacpp", cache, follow_up(messages, text))
    assert second.disk_cached_tokens == 0
    assert not set(old) & set(entries(cache)), "the old version's files should be gone"


@pytest.mark.parametrize("damage", ["truncated", "random payload", "random meta", "empty meta"])
def test_a_damaged_cache_file_is_deleted_and_the_reply_goes_on(starter_gguf: Path, tmp_path: Path, damage: str) -> None:
    messages = long_chat()
    text, _ = one_reply(starter_gguf, "llamacpp", tmp_path, messages)
    [meta] = [p for p in tmp_path.iterdir() if p.suffix == ".meta"]
    payload = meta.with_suffix(".kv")
    size = payload.stat().st_size
    if damage == "truncated":
        with open(payload, "r+b") as handle:
            handle.truncate(size // 2)
    elif damage == "random payload":
        payload.write_bytes(os.urandom(size))  # the same size: only the checksum can tell
    elif damage == "random meta":
        meta.write_bytes(os.urandom(4096))
    else:
        meta.write_bytes(b"")
    reply_text, stats = one_reply(starter_gguf, "llamacpp", tmp_path, follow_up(messages, text))
    assert stats.disk_cached_tokens == 0
    assert reply_text
    assert not meta.exists() and not payload.exists(), "the damaged entry should be gone"
    assert any(name.endswith(".meta") for name in entries(tmp_path)), "the new reply's state is saved"


# --- the folder itself ---------------------------------------------------------------------------------


def write_bytes(count: int):
    def write(path: Path) -> None:
        path.write_bytes(b"x" * count)

    return write


def test_least_recently_used_entries_go_first_when_the_folder_is_over_budget(tmp_path: Path) -> None:
    cache = DiskPromptCache(tmp_path, 2500, {"model": "m", "engine": "e", "settings": {}}, ".kv")
    cache.save([1, 2, 3], write_bytes(1000))
    cache.save([4, 5, 6], write_bytes(1000))
    _, first = cache.best_match([1, 2, 3, 9])
    assert first is not None and cache.verified_payload(first) is not None  # used: now the most recent
    cache.save([7, 8, 9], write_bytes(1000))
    assert cache.best_match([1, 2, 3])[0] == 3
    assert cache.best_match([4, 5, 6])[0] == 0  # the least recently used went
    assert cache.best_match([7, 8, 9])[0] == 3
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 2500


def test_a_longer_state_of_the_same_chat_replaces_the_shorter_one(tmp_path: Path) -> None:
    cache = DiskPromptCache(tmp_path, 1 << 20, {"model": "m", "engine": "e", "settings": {}}, ".kv")
    cache.save([1, 2, 3], write_bytes(10))
    cache.save([1, 2, 3, 4, 5], write_bytes(10))
    assert len([p for p in tmp_path.iterdir() if p.suffix == ".meta"]) == 1
    assert {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {0o600}  # private, whatever the umask
    reopened = DiskPromptCache(tmp_path, 1 << 20, {"model": "m", "engine": "e", "settings": {}}, ".kv")
    assert reopened.best_match([1, 2, 3, 4, 5, 6])[0] == 5


def test_a_full_disk_costs_only_the_saved_state(tmp_path: Path) -> None:
    cache = DiskPromptCache(tmp_path, 1 << 20, {"model": "m", "engine": "e", "settings": {}}, ".kv")

    def no_space(path: Path) -> None:
        path.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    cache.save([1, 2, 3], no_space)
    assert list(tmp_path.iterdir()) == []
    assert cache.best_match([1, 2, 3])[1] is None
