"""Fixtures for the library: a private home for every test, and the Hub stand-in on 127.0.0.1.

Each test gets its own PARLOUR_HOME and HOME, so settings, the models folder and the
folders other programs use (~/.lmstudio, ~/.ollama, ~/.cache/huggingface) are empty
temporary ones unless the test builds them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_hub import FakeHub
from tests.support.fake_hub_repos import standard_hub

# The derived MLX folder is cached under the real home; keep finding it when HOME moves.
os.environ.setdefault("PARLOUR_TEST_CACHE", str(Path.home() / ".cache" / "parlour-test"))


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / "parlour").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PARLOUR_HOME", str(home / "parlour"))
    for name in ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "OLLAMA_MODELS", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def hub(starter_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The stand-in with the starter GGUF, a tiny MLX repository and a gated one; Parlour pointed at it."""
    import huggingface_hub.constants

    server = standard_hub(starter_gguf).start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    # The root conftest made the whole session offline before huggingface_hub was imported, and the
    # library reads that once; a test that talks to the stand-in turns it back on.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    yield server
    server.stop()
