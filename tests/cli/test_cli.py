"""The `parlour` command as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FRANCE

HEAVY_MODULES = ("mlx", "mlx_lm", "llama_cpp", "transformers", "huggingface_hub", "PySide6", "numpy")


def run(cmd: list[str], *args: str, env: dict[str, str] | None = None, timeout: float = 300):
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout, env=env or os.environ.copy())


def assert_one_sentence_error(result: subprocess.CompletedProcess, phrase: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert phrase in lines[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_version(parlour_cmd: list[str]) -> None:
    result = run(parlour_cmd, "--version")
    assert result.returncode == 0 and result.stdout.strip() == "parlour 0.1.0"


def test_importing_the_cli_and_building_its_parser_loads_nothing_heavy() -> None:
    code = (
        "import sys, app.cli; app.cli.build_parser().format_help(); "
        f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_chat_streams_paris_with_llamacpp(parlour_cmd: list[str]) -> None:
    result = run(parlour_cmd, "chat", "--temperature", "0", FRANCE)
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


def test_chat_json_prints_deltas_then_stats(parlour_cmd: list[str]) -> None:
    result = run(
        parlour_cmd,
        "chat",
        "--json",
        "--temperature",
        "0",
        "--max-tokens",
        "6",
        "--seed",
        "7",
        "--system",
        "You are terse.",
        "Tell me a story about a fox.",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    deltas, final = lines[:-1], lines[-1]
    assert deltas and all(set(d) == {"delta"} for d in deltas)
    assert final["finish_reason"] == "length"
    assert final["generated_tokens"] == 6
    for key in ("prompt_tokens", "prompt_tps", "generation_tps", "ttft_ms", "peak_memory_bytes"):
        assert final[key] and final[key] > 0, key
    assert final["engine"] == "llamacpp"


@pytest.mark.mlx
def test_chat_with_mlx_folder(parlour_cmd: list[str], mlx_dir: Path) -> None:
    result = run(parlour_cmd, "chat", "--model", str(mlx_dir), "--engine", "mlx", "--temperature", "0", FRANCE)
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "truncated_1mb",
        "truncated_half",
        "random_bytes",
        "empty",
        "hostile_length",
        "mlx_with_code",
        "mlx_pickle_only",
        "mlx_unknown_type",
    ],
)
def test_bad_model_gives_one_sentence_and_exit_2(case: str, bad_models: dict, parlour_cmd: list[str]) -> None:
    path, phrase = bad_models[case]
    assert_one_sentence_error(run(parlour_cmd, "chat", "--model", str(path), "hi"), phrase)


def test_unknown_model_name_and_wrong_engine(parlour_cmd: list[str]) -> None:
    assert_one_sentence_error(run(parlour_cmd, "chat", "--model", "no-such-model", "hi"), "No local model")
    assert_one_sentence_error(run(parlour_cmd, "chat", "--engine", "mlx", "hi"), "MLX engine runs MLX model folders")


def test_bad_sampling_value_is_one_sentence(parlour_cmd: list[str]) -> None:
    assert_one_sentence_error(run(parlour_cmd, "chat", "--temperature", "-1", "hi"), "temperature must be")


def test_models_lists_the_starter(parlour_cmd: list[str], starter_gguf: Path) -> None:
    result = run(parlour_cmd, "models")
    assert result.returncode == 0
    assert "SmolLM2 135M Instruct (starter)" in result.stdout
    assert "llamacpp, GGUF Q4_1, 98.4 MB" in result.stdout
    listed = json.loads(run(parlour_cmd, "models", "--json").stdout)
    assert listed[0]["path"] == str(starter_gguf) and listed[0]["quantization"] == "Q4_1"


def test_doctor_reports_memory_and_engines(parlour_cmd: list[str]) -> None:
    report = json.loads(run(parlour_cmd, "doctor", "--json").stdout)
    assert report["total_memory_bytes"] > 1e9 and report["cores"] >= 1
    assert report["versions"]["llama-cpp-python"] and report["versions"]["mlx-lm"]
    assert report["llamacpp_gpu_offload"] in (True, False)
    text = run(parlour_cmd, "doctor").stdout
    assert "Memory:" in text and "llama.cpp:" in text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a display is always there on macOS and Windows")
def test_window_without_a_display_says_so(parlour_cmd: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = run(parlour_cmd, env=env, timeout=30)
    assert_one_sentence_error(result, "No display was found")
    assert "xvfb-run" in result.stderr
