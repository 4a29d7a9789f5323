"""Every number a person can set is bounded by what the model and the machine allow, with a sentence."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engines.base import GenerationParams, InvalidRequestError, LoadSettings
from engines.context import check_context_length
from engines.host_client import EngineClient

HOST_HEADROOM = 500 * 1024 * 1024


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"seed": -5}, "the seed must be a whole number from 0 to 4,294,967,295"),
        ({"seed": 10**20}, "the seed must be"),
        ({"top_k": 10**20}, "top_k must be 0 (off) or a whole number up to 1,000,000"),
        ({"top_k": -1}, "top_k must be"),
        ({"max_tokens": 10**20}, "max tokens must be a whole number from 1 to"),
        ({"temperature": float("nan")}, "finite numbers"),
        ({"top_p": float("inf")}, "finite numbers"),
        ({"presence_penalty": 50.0}, "presence penalty must be between -2 and 2"),
        ({"stop": ("",)}, "each stop string must be text of 1 to 1000 characters"),
        ({"stop": ("x",) * 17}, "at most 16 stop strings"),
        ({"stop": ("x" * 1001,)}, "each stop string must be"),
        ({"seed": True}, "the seed must be"),
    ],
)
def test_impossible_sampling_settings_are_one_sentence(values: dict, words: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        GenerationParams(**values)
    message = str(caught.value)
    assert words in message and message.startswith("Invalid generation settings: ") and "\n" not in message


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"threads": 0}, "threads must be"),
        ({"gpu_layers": 10**9}, "GPU layers"),
        ({"prompt_cache_bytes": -1}, "prompt cache"),
        ({"context_length": 1.5}, "whole number"),
    ],
)
def test_impossible_load_settings_are_one_sentence(values: dict, words: str) -> None:
    with pytest.raises(InvalidRequestError, match=words):
        LoadSettings(**values)


def test_a_context_length_is_checked_against_the_model_and_free_memory() -> None:
    check_context_length(None, 8192, 100, 1000, 10**9)
    check_context_length(8192, 8192, 100, 1000, 10**9)
    with pytest.raises(InvalidRequestError, match="between 16 and 16,777,216 tokens"):
        check_context_length(10**9, None, 0, 0, None)
    with pytest.raises(InvalidRequestError, match="handles at most 8,192 tokens of context; choose 8,192 or less"):
        check_context_length(8193, 8192, 0, 0, None)
    # 1 GB of weights and 1 MB a token: 2,000 tokens would need 3 GB of the 2 GB free.
    with pytest.raises(InvalidRequestError, match=r"needs about 3\.0 GB .* \(2\.0 GB\); choose 800 tokens or less"):
        check_context_length(2000, 100_000, 10**9, 10**6, 2 * 10**9)


def test_a_huge_context_is_refused_before_the_host_allocates_it(starter_gguf: Path) -> None:
    with EngineClient() as client:
        for context in (10**9, 10**6):
            with pytest.raises(InvalidRequestError) as caught:
                client.load(str(starter_gguf), settings=LoadSettings(context_length=context))
            assert "context" in str(caught.value)
        pong = client.ping()
        assert pong.loaded is False
        assert pong.peak_bytes < starter_gguf.stat().st_size + HOST_HEADROOM


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--seed", "-5"], "seed"),
        (["--seed", str(10**20)], "seed"),
        (["--top-k", str(10**20)], "top"),
        (["--context-length", str(10**9)], "context"),
        (["--context-length", "1000000"], "8,192 tokens"),
        (["--max-tokens", "0"], "max"),
    ],
)
def test_the_cli_refuses_impossible_numbers_with_a_sentence(
    args: list[str], words: str, parlour_cmd: list[str]
) -> None:
    result = subprocess.run(
        [*parlour_cmd, "chat", *args, "hi"], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and (words in lines[0] or words in lines[0].lower()), result.stderr
    assert "Traceback" not in result.stderr
