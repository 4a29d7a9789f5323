"""The MLX folder derived from the starter GGUF: its files, and a tokenizer that agrees with llama.cpp.

No generation here (too slow on CPU for the fast suite); the engine tests cover that.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pytest

from tests.support import mlx_from_gguf

EXPECTED_FILES = {
    ".derived-from",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
}
PROMPTS = [
    "What is the capital of France? Answer in one sentence.",
    "Repeat exactly: 12345 café ünïcödé 日本語",
    "  tabs\tand\n\nnewlines, don't 3.14159 🙂 <|im_start|>",
]


@pytest.fixture(scope="module")
def mlx_dir() -> Path:
    try:
        return mlx_from_gguf.cached_starter_mlx_dir()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def _render(mlx_dir: Path, content: str) -> str:
    config = json.loads((mlx_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    template = jinja2.Environment().from_string(config["chat_template"])
    return template.render(messages=[{"role": "user", "content": content}], add_generation_prompt=True)


def test_folder_has_expected_files_and_config(mlx_dir: Path) -> None:
    assert {p.name for p in mlx_dir.iterdir()} >= EXPECTED_FILES
    config = json.loads((mlx_dir / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "llama"
    assert config["num_hidden_layers"] == 30
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (9, 3)
    assert config["tie_word_embeddings"] is True
    assert config["vocab_size"] == 49152
    assert config["max_position_embeddings"] == 8192
    tok_config = json.loads((mlx_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert tok_config["eos_token"] == "<|im_end|>"
    assert "<|im_start|>" in tok_config["chat_template"]


def test_derivation_is_reused(mlx_dir: Path) -> None:
    weights = mlx_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = mlx_from_gguf.derive_mlx_dir(mlx_from_gguf.starter_gguf_path(), mlx_dir)
    assert again == mlx_dir
    assert weights.stat().st_mtime_ns == before


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mlx_from_gguf, "STARTER_DIST", "parlour-no-such-package")
    with pytest.raises(FileNotFoundError, match="not installed"):
        mlx_from_gguf.starter_gguf_path()


def test_tokenizer_matches_llama_cpp(mlx_dir: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    from tokenizers import Tokenizer

    ours = Tokenizer.from_file(str(mlx_dir / "tokenizer.json"))
    theirs = llama_cpp.Llama(
        model_path=str(mlx_from_gguf.starter_gguf_path()), n_ctx=2048, verbose=False, vocab_only=True
    )
    for prompt in PROMPTS:
        text = _render(mlx_dir, prompt)
        ids = ours.encode(text, add_special_tokens=False).ids
        assert ids == theirs.tokenize(text.encode(), add_bos=False, special=True), prompt
        assert ours.decode(ids, skip_special_tokens=False) == text
