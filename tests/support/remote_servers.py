"""Fixtures for remote engine tests: llama-cpp-python's own OpenAI-compatible server on the starter model
(with an API key), and a keyring in a file that the engine host (a child process) reads too."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import keyring
import pytest

from tests.support.parlour_server import free_port

KEY = "remote-test-key"


@pytest.fixture
def test_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A keyring in a file, shared with the engine host (a child process)."""
    from tests.support.file_keyring import FileKeyring

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.file_keyring.FileKeyring")
    monkeypatch.setenv("PARLOUR_TEST_KEYRING", str(tmp_path / "keyring.json"))
    original = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield
    keyring.set_keyring(original)


@pytest.fixture(scope="module")
def llama_server(starter_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "log.txt"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(starter_gguf), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--api_key", KEY, "--n_ctx", "2048"]
    # Its log goes to a file: llama.cpp writes a lot while loading, and a full pipe would stop it.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "llama-cpp-python's server did not start"
        time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(30)


def served_model(url: str) -> str:
    return httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"}).json()["data"][0]["id"]
