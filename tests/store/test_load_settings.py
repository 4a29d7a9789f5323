"""Each model's own load settings on a real SQLite file: only the changed fields are kept, under the
model's key, and reading survives any row a person or an older release left behind."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from app.store.db import Store, open_store
from app.store.load_settings import (
    PER_MODEL_FIELDS,
    clear_load_settings,
    save_load_settings,
    stored_load_settings,
)
from app.store.templates import model_key
from engines.base import InvalidRequestError, LoadSettings


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "models" / "tiny.gguf"
    path.parent.mkdir()
    path.write_bytes(b"GGUF")
    return path


def _write_row(store: Store, model: Path, text: str) -> None:
    """A row as a hand edit or a damaged page might leave it, past the table's JSON check."""
    store.connection.execute("PRAGMA ignore_check_constraints = ON")
    try:
        store.connection.execute(
            "INSERT OR REPLACE INTO model_load_settings (model, overrides, updated_at) VALUES (?, ?, ?)",
            (model_key(model), text, "2024-03-01T10:00:00.000000Z"),
        )
    finally:
        store.connection.execute("PRAGMA ignore_check_constraints = OFF")


def test_only_what_differs_from_the_defaults_is_kept_and_read_back(store: Store, model: Path) -> None:
    assert stored_load_settings(store, model) == {}
    kept = save_load_settings(
        store, model, {"context_length": 4096, "kv_cache_type": "q8_0", "threads": None, "memory_map": True}
    )
    assert kept == {"context_length": 4096, "kv_cache_type": "q8_0"}  # threads and the memory map were the defaults
    assert stored_load_settings(store, model) == kept
    stored = store.read("SELECT overrides FROM model_load_settings WHERE model = ?", (model_key(model),))
    assert json.loads(stored[0][0]) == kept
    # A second save replaces the first (the caller merges); all defaults clears the row.
    save_load_settings(store, model, {"flash_attention": False, "draft_model": "/models/small.gguf"})
    assert stored_load_settings(store, model) == {"flash_attention": False, "draft_model": "/models/small.gguf"}
    assert save_load_settings(store, model, {"flash_attention": None}) == {}
    assert store.read("SELECT count(*) FROM model_load_settings")[0][0] == 0


def test_a_model_finds_its_settings_by_any_path_to_it_and_clearing_forgets_them(store: Store, model: Path) -> None:
    link = model.parent / "link.gguf"
    link.symlink_to(model)
    save_load_settings(store, link, {"max_draft_tokens": 8})
    assert stored_load_settings(store, model) == {"max_draft_tokens": 8}
    assert stored_load_settings(store, str(model.parent / "." / "tiny.gguf")) == {"max_draft_tokens": 8}
    assert stored_load_settings(store, model.parent / "other.gguf") == {}
    clear_load_settings(store, model)
    assert stored_load_settings(store, link) == {}
    clear_load_settings(store, model)  # nothing kept: nothing happens


def test_saving_refuses_what_is_no_per_model_setting_or_no_valid_value(store: Store, model: Path) -> None:
    for overrides, phrase in (
        ({"prompt_cache_dir": "/tmp/cache"}, "no per-model load setting called “prompt_cache_dir”"),
        ({"prompt_cache_bytes": 0}, "no per-model load setting called “prompt_cache_bytes”"),
        ({"prompt_cache_disk_bytes": 0}, "no per-model load setting called “prompt_cache_disk_bytes”"),
        ({"speed": "fast"}, "no per-model load setting called “speed”"),
        ({"batch_size": 5}, "batch size must be a whole number from 32 to 8,192"),
        ({"kv_cache_type": "q9"}, "KV cache type must be f16, q8_0, q4_0"),
        ({"context_length": 4}, "context length must be between 16 and"),
        ({"memory_lock": 1}, "memory lock must be true or false"),
    ):
        with pytest.raises(InvalidRequestError, match=phrase):
            save_load_settings(store, model, {"threads": 2, **overrides})
        assert stored_load_settings(store, model) == {}  # nothing of a refused save is kept
    assert "prompt_cache_dir" not in PER_MODEL_FIELDS and "draft_model" in PER_MODEL_FIELDS


@pytest.mark.parametrize(
    "text",
    [
        '{"context_length": 4096, "threads"',  # cut short
        "not json at all",
        "[1, 2, 3]",
        '"q8_0"',
        "null",
    ],
)
def test_a_damaged_row_reads_as_no_settings(
    store: Store, model: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    _write_row(store, model, text)
    with caplog.at_level(logging.WARNING, logger="app.store.load_settings"):
        assert stored_load_settings(store, model) == {}
    assert "ignoring the stored load settings" in caplog.text
    assert save_load_settings(store, model, {"threads": 3}) == {"threads": 3}  # and a save repairs the row
    assert stored_load_settings(store, model) == {"threads": 3}


def test_unknown_and_invalid_values_are_dropped_and_the_rest_make_valid_settings(
    store: Store, model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    row = {
        "context_length": 2048,
        "kv_cache_type": "q4_0",
        "batch_size": 7,  # out of range
        "threads": True,  # a boolean is not a number of threads
        "gpu_layers": "all",  # a hand edit's word
        "flash_attention": "yes",
        "max_draft_tokens": 65,
        "context_length_old": 1,  # a field LoadSettings does not have
        "prompt_cache_dir": "/elsewhere",  # app-wide, never per model
        "memory_map": False,
    }
    _write_row(store, model, json.dumps(row))
    with caplog.at_level(logging.WARNING, logger="app.store.load_settings"):
        read = stored_load_settings(store, model)
    assert read == {"context_length": 2048, "kv_cache_type": "q4_0", "memory_map": False}
    settings = LoadSettings(**read)
    assert settings.kv_cache_type == "q4_0" and settings.prompt_cache_dir is None
    for name in ("batch_size", "threads", "gpu_layers", "flash_attention", "max_draft_tokens", "prompt_cache_dir"):
        assert f"load setting {name}=" in caplog.text


def test_the_settings_outlive_the_connection(tmp_path: Path, model: Path) -> None:
    path = tmp_path / "parlour.db"
    first = open_store(path)
    save_load_settings(first, model, {"gpu_layers": -1, "memory_lock": True})
    first.close()
    again = open_store(path)
    try:
        assert stored_load_settings(again, model) == {"gpu_layers": -1, "memory_lock": True}
    finally:
        again.close()
