"""`parlour serve` as a user runs it: a process of its own on a free port, a private data folder whose
models folder also holds the MLX folder derived from the starter, and a known API key."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

TOKEN = "test-token-for-parlour"
GGUF_ID = "SmolLM2 135M Instruct (starter)"
MLX_ID = "test/smollm2-mlx"
START_S = 120


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    home: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/v1"

    def log(self) -> str:
        path = self.home / "logs" / "parlour.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def models(self) -> dict[str, dict]:
        answer = httpx.get(f"{self.url}/models", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        return {m["id"]: m for m in answer.json()["data"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def linked_copy(source: Path, target: Path) -> None:
    """The folder's files hard-linked (a copy where links cannot be made): the catalog does not follow symlinks."""
    target.mkdir(parents=True)
    for item in source.iterdir():
        try:
            os.link(item, target / item.name)
        except OSError:
            shutil.copy2(item, target / item.name)


@pytest.fixture
def start_server(tmp_path: Path, mlx_dir: Path, parlour_cmd: list[str]) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(*args: str) -> Server:
        home = tmp_path / f"home{len(started)}"
        linked_copy(mlx_dir, home / "models" / "test" / "smollm2-mlx")
        port = free_port()
        env = {**os.environ, "PARLOUR_HOME": str(home), "PARLOUR_SERVER_TOKEN": TOKEN}
        command = [*parlour_cmd, "serve", "--port", str(port), *args]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        server = Server(process, port, home)
        started.append(server)
        deadline = time.monotonic() + START_S
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if httpx.get(f"{server.url}/models", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            server.process.kill()


@pytest.fixture
def server(start_server: Callable[..., Server]) -> Server:
    return start_server()
