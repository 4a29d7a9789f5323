"""Model inspection: the starter is described correctly, and every bad input is refused in one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.base import ModelFileError
from engines.inspect import inspect_model

BAD_CASES = [
    "missing",
    "truncated_1mb",
    "truncated_half",
    "random_bytes",
    "empty",
    "hostile_length",
    "mlx_with_code",
    "mlx_pickle_only",
    "mlx_unknown_type",
]


def test_starter_gguf_is_described_from_its_header(starter_gguf: Path) -> None:
    info = inspect_model(starter_gguf)
    assert info.engine == "llamacpp" and info.format == "gguf"
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert 130e6 < (info.parameter_count or 0) < 140e6
    assert info.file_size == starter_gguf.stat().st_size
    assert info.chat_template and "<|im_start|>" in info.chat_template


def test_derived_mlx_folder_is_described(mlx_dir: Path) -> None:
    info = inspect_model(mlx_dir)
    assert info.engine == "mlx" and info.format == "mlx"
    assert info.architecture == "llama"
    assert 130e6 < (info.parameter_count or 0) < 140e6
    assert info.chat_template and "<|im_start|>" in info.chat_template


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_refused_with_one_plain_sentence(case: str, bad_models: dict) -> None:
    path, phrase = bad_models[case]
    with pytest.raises(ModelFileError) as caught:
        inspect_model(path)
    message = str(caught.value)
    assert phrase in message
    assert "\n" not in message and "Traceback" not in message


def test_a_folder_with_code_never_runs_it(bad_models: dict, tmp_path: Path) -> None:
    path, _ = bad_models["mlx_with_code"]
    marker = Path("/tmp/pwned")
    marker.unlink(missing_ok=True)
    with pytest.raises(ModelFileError):
        inspect_model(path)
    assert not marker.exists()
