"""Fixtures for remote engine tests: llama-cpp-python's own OpenAI-compatible server on the starter model
(with an API key), and a keyring in a file that the engine host (a child process) reads too."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import keyring
import pytest

KEY = "remote-test-key"
LAUNCHER = Path(__file__).with_name("llama_server_on_fd.py")
START_S = 120  # a generous bound on loading the model; the request simply waits until then


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
    """The server on a socket this process listens on before it starts: the first request waits in the
    kernel's queue while the model loads, so nothing polls for the port."""
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    log = tmp_path_factory.mktemp("llama-server") / "log.txt"
    command = [sys.executable, str(LAUNCHER), str(listening.fileno()), str(starter_gguf), KEY]
    # Its log goes to a file: llama.cpp writes a lot while loading, and a full pipe would stop it.
    process = subprocess.Popen(command, pass_fds=[listening.fileno()], stdout=subprocess.DEVNULL, stderr=log.open("w"))
    listening.close()
    url = f"http://127.0.0.1:{port}/v1"
    try:
        answer = httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=START_S)
    except httpx.TransportError as err:
        raise AssertionError(f"llama-cpp-python's server did not answer ({err}): {log.read_text()[-2000:]}") from err
    assert answer.status_code == 200, log.read_text()[-2000:]
    yield url
    process.terminate()
    process.wait(30)


def served_model(url: str) -> str:
    return httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"}).json()["data"][0]["id"]
