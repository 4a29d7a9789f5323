"""The models derived from the starter for draft/target tests: each loads, and relates to the starter as promised.

The F16 GGUF and the two MLX twins share the starter's vocabulary; the foreign GGUF
differs in exactly the renamed tokens. Generation is kept to a few tokens (MLX on a
CPU decodes a handful per second).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engines.gguf_header import read_gguf_header
from tests.support import derived_models
from tests.support.mlx_from_gguf import cached_starter_mlx_dir

PROMPT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
F32, F16 = 0, 1


def _token_texts(llm: Any) -> list[str]:
    return [llm._model.token_get_text(i) for i in range(llm.n_vocab())]


@pytest.fixture(scope="module")
def starter_texts(starter_gguf: Path) -> list[str]:
    llama_cpp = pytest.importorskip("llama_cpp")
    llm = llama_cpp.Llama(model_path=str(starter_gguf), n_ctx=512, verbose=False, vocab_only=True)
    return _token_texts(llm)


@pytest.fixture
def llama(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Load the GGUF that `request.param()` derives, weights and all (so it proves llama.cpp runs it)."""
    llama_cpp = pytest.importorskip("llama_cpp")
    llm = llama_cpp.Llama(model_path=str(request.param()), n_ctx=512, verbose=False)
    yield llm
    llm.close()


def test_f16_gguf_keeps_the_metadata_and_widens_every_quantized_tensor(starter_gguf: Path) -> None:
    starter = read_gguf_header(starter_gguf)
    f16 = read_gguf_header(derived_models.f16_starter_gguf())
    assert f16.metadata == {**starter.metadata, "general.file_type": 1}
    assert f16.array_lengths == starter.array_lengths  # the skipped arrays: tokens, types, merges
    assert [(t.name, t.shape) for t in f16.tensors] == [(t.name, t.shape) for t in starter.tensors]
    for before, after in zip(starter.tensors, f16.tensors, strict=True):
        assert after.ggml_type == (F32 if before.ggml_type == F32 else F16), after.name
        assert after.offset % 32 == 0, after.name
    assert f16.dominant_type() == "F16"


@pytest.mark.parametrize("llama", [derived_models.f16_starter_gguf], indirect=True)
def test_f16_gguf_has_the_starters_vocabulary_and_answers(llama: Any, starter_texts: list[str]) -> None:
    assert _token_texts(llama) == starter_texts
    text = llama(PROMPT, max_tokens=12, temperature=0.0)["choices"][0]["text"]
    assert "Paris" in text


@pytest.mark.parametrize("llama", [derived_models.foreign_vocab_gguf], indirect=True)
def test_foreign_gguf_loads_and_differs_in_the_renamed_tokens(llama: Any, starter_texts: list[str]) -> None:
    texts = _token_texts(llama)
    assert len(texts) == len(starter_texts)
    differing = [i for i, (a, b) in enumerate(zip(texts, starter_texts, strict=True)) if a != b]
    assert differing == list(derived_models.FOREIGN_TOKEN_IDS)
    assert texts[differing[0]] == "parlour_foreign_0"
    assert llama(PROMPT, max_tokens=4, temperature=0.0)["choices"][0]["text"].strip()


def _reuse_check(derive: Callable[[], Path], inside: str = "") -> None:
    first = derive()
    written = (first / inside if inside else first).stat().st_mtime_ns
    again = derive()
    assert again == first
    assert (again / inside if inside else again).stat().st_mtime_ns == written


def test_gguf_derivations_are_reused() -> None:
    _reuse_check(derived_models.f16_starter_gguf)
    _reuse_check(derived_models.foreign_vocab_gguf)


@pytest.mark.mlx
def test_mlx_derivations_are_reused() -> None:
    pytest.importorskip("mlx_lm")
    _reuse_check(derived_models.quantized_starter_mlx_dir, "model.safetensors")
    _reuse_check(derived_models.float16_starter_mlx_dir, "model.safetensors")


def test_partial_result_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, starter_gguf: Path) -> None:
    monkeypatch.setenv("PARLOUR_TEST_CACHE", str(tmp_path))
    leftover = tmp_path / "smollm2-135m-foreign-vocab-gguf"
    leftover.mkdir()
    (leftover / derived_models.FOREIGN_GGUF_NAME).write_bytes(b"GGUF")  # cut short, and no marker
    path = derived_models.foreign_vocab_gguf()
    assert path.parent == leftover and (leftover / derived_models.MARKER).is_file()
    assert read_gguf_header(path).expected_size == path.stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == [leftover.name]  # no temporary folder left


def _mlx_load(folder: Path) -> tuple[Any, Any]:
    mlx_lm = pytest.importorskip("mlx_lm")
    return mlx_lm.load(str(folder))


def _mlx_answer(model: Any, tokenizer: Any) -> str:
    from mlx_lm import generate

    return generate(model, tokenizer, PROMPT, max_tokens=8)


def _parameter_dtypes(model: Any) -> set[str]:
    from mlx.utils import tree_flatten

    return {str(value.dtype) for _, value in tree_flatten(model.parameters())}


@pytest.fixture(scope="module")
def starter_mlx_vocab(starter_gguf: Path) -> dict[str, int]:
    return _mlx_load(cached_starter_mlx_dir())[1].get_vocab()


def _assert_same_tokenizer_files(folder: Path) -> None:
    source = cached_starter_mlx_dir()
    for name in derived_models.TOKENIZER_FILES:
        assert (folder / name).read_bytes() == (source / name).read_bytes(), name


@pytest.mark.mlx
def test_quantized_mlx_twin_shares_the_vocabulary_and_answers(starter_mlx_vocab: dict[str, int]) -> None:
    folder = derived_models.quantized_starter_mlx_dir(bits=4)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["quantization"]["bits"] == 4
    _assert_same_tokenizer_files(folder)
    model, tokenizer = _mlx_load(folder)
    assert tokenizer.get_vocab() == starter_mlx_vocab
    assert "mlx.core.uint32" in _parameter_dtypes(model)  # packed 4-bit weights
    assert "Paris" in _mlx_answer(model, tokenizer)


@pytest.mark.mlx
def test_float16_mlx_target_shares_the_vocabulary_and_answers(starter_mlx_vocab: dict[str, int]) -> None:
    folder = derived_models.float16_starter_mlx_dir()
    _assert_same_tokenizer_files(folder)
    model, tokenizer = _mlx_load(folder)
    assert tokenizer.get_vocab() == starter_mlx_vocab
    assert _parameter_dtypes(model) == {"mlx.core.float16"}
    assert "Paris" in _mlx_answer(model, tokenizer)
