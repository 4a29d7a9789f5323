"""`parlour models settings` keeps a model's own load settings, and `parlour chat` loads the model with them,
the load options typed winning; bad input is one sentence with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

from engines.base import LoadSettings
from tests.cli.helpers import one_sentence, run_in

QUICK = ("--temperature", "0", "--max-tokens", "6")


def _settings(home: Path, parlour_cmd: list[str], *args: str) -> dict:
    done = run_in(home, parlour_cmd, "models", "settings", "starter", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_settings_are_shown_kept_and_forgotten(parlour_cmd: list[str], tmp_path: Path, starter_gguf: Path) -> None:
    shown = _settings(tmp_path, parlour_cmd)
    assert shown["own"] == {} and shown["path"] == str(starter_gguf)
    assert shown["settings"] == {name: getattr(LoadSettings(), name) for name in shown["settings"]}
    assert shown["settings"]["kv_cache_type"] == "f16" and shown["settings"]["draft_model"] is None
    assert "prompt_cache_dir" not in shown["settings"]  # the app's, not the model's
    kept = _settings(
        tmp_path, parlour_cmd, "--set", "kv_cache_type=q8_0", "--set", "gpu-layers=all", "--set", "prompt_lookup=off"
    )
    assert kept["own"] == {"kv_cache_type": "q8_0", "gpu_layers": -1, "prompt_lookup": False}
    assert kept["settings"]["gpu_layers"] == -1 and kept["settings"]["flash_attention"] is None
    # More settings join the kept ones; `auto` puts one back to automatic.
    kept = _settings(tmp_path, parlour_cmd, "--set", "threads=2", "--set", "gpu_layers=auto")
    assert kept["own"] == {"kv_cache_type": "q8_0", "prompt_lookup": False, "threads": 2}
    text = run_in(tmp_path, parlour_cmd, "models", "settings", "starter")
    assert (
        text.returncode == 0 and "kv_cache_type     q8_0 *" in text.stdout and "gpu_layers        auto\n" in text.stdout
    )
    assert _settings(tmp_path, parlour_cmd, "--reset")["own"] == {}
    assert _settings(tmp_path, parlour_cmd, "--reset", "--set", "batch_size=256")["own"] == {"batch_size": 256}


def test_what_cannot_be_kept_is_one_sentence(parlour_cmd: list[str], tmp_path: Path) -> None:
    def refused(*args: str) -> str:
        return one_sentence(run_in(tmp_path, parlour_cmd, "models", "settings", *args))

    said = refused("starter", "--set", "kv_cache_type=q4_0", "--set", "flash_attention=off")
    assert said.startswith("A q4_0 KV cache needs flash attention on llama.cpp")
    assert "no per-model load setting called “prompt_cache_dir”" in refused("starter", "--set", "prompt_cache_dir=/x")
    assert refused("starter", "--set", "threads=lots") == "threads takes a whole number or auto, not “lots”."
    assert refused("starter", "--set", "memory_lock=maybe") == "memory_lock takes on or off, not “maybe”."
    assert "batch size must be a whole number from 32 to 8,192" in refused("starter", "--set", "batch_size=8")
    assert "at most 8,192 tokens" in refused("starter", "--set", "context_length=100000")
    assert refused("starter", "--set", "threads").startswith("--set takes KEY=VALUE")
    assert "No local model is called 'nowhere'" in refused("nowhere")
    assert "No model file or folder" in refused("starter", "--set", f"draft_model={tmp_path / 'gone.gguf'}")
    assert _settings(tmp_path, parlour_cmd)["own"] == {}  # nothing refused was kept


def test_chat_starts_from_the_models_own_settings_and_the_options_typed_win(
    parlour_cmd: list[str], tmp_path: Path
) -> None:
    _settings(tmp_path, parlour_cmd, "--set", "flash_attention=off")
    # The kept flash attention (off) is the base: a quantized cache typed now cannot run with it ...
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--kv-cache", "q8_0", *QUICK, "Hi"))
    assert said.startswith("A q8_0 KV cache needs flash attention on llama.cpp")
    # ... and what is typed wins over what is kept.
    done = run_in(tmp_path, parlour_cmd, "chat", "--kv-cache", "q8_0", "--flash-attn", "on", *QUICK, "Hi")
    assert done.returncode == 0, done.stderr
    _settings(tmp_path, parlour_cmd, "--reset", "--set", "kv_cache_type=q4_0")
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--flash-attn", "off", *QUICK, "Hi"))
    assert said.startswith("A q4_0 KV cache needs flash attention on llama.cpp")


def test_the_speculative_decoding_options(parlour_cmd: list[str], tmp_path: Path, starter_gguf: Path) -> None:
    done = run_in(
        tmp_path, parlour_cmd, "chat", "--no-lookup", "--draft-tokens", "4", *QUICK, "What is the capital of France?"
    )
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--draft-tokens", "0", "Hi"))
    assert "draft tokens must be a whole number from 1 to 64" in said
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--draft-model", "nowhere", "Hi"))
    assert said == "No local model is called 'nowhere'; `parlour models` lists them."
    said = one_sentence(run_in(tmp_path, parlour_cmd, "chat", "--draft-model", tmp_path / "gone.gguf", "Hi"))
    assert "No model file or folder" in said
    # A kept draft model whose file was deleted is left out: the chat still loads.
    draft = tmp_path / "draft.gguf"
    draft.symlink_to(starter_gguf)
    assert _settings(tmp_path, parlour_cmd, "--set", f"draft_model={draft}")["own"] == {"draft_model": str(draft)}
    draft.unlink()
    assert _settings(tmp_path, parlour_cmd)["settings"]["draft_model"] is None
    done = run_in(tmp_path, parlour_cmd, "chat", *QUICK, "Hi")
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
