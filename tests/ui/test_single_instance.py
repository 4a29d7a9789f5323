"""One window per data folder: a second `parlour` brings the first forward and exits."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from app.ui.single_instance import server_name


def test_second_instance_brings_the_first_forward(
    parlour_cmd: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "PARLOUR_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    first = subprocess.Popen(parlour_cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Wait until the first window listens, however long a slow machine takes to get there.
        monkeypatch.setenv("PARLOUR_HOME", str(tmp_path / "home"))
        name = server_name()
        deadline = time.monotonic() + 120
        while not _listening(name):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first window never started listening"
            time.sleep(0.2)
        second = subprocess.run(parlour_cmd, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already open; its window was brought forward" in second.stderr
        assert first.poll() is None  # the first window is still there
    finally:
        first.terminate()
        first.wait(timeout=30)


def _listening(name: str) -> bool:
    """Whether a local server of that name accepts connections (without sending it anything)."""
    from PySide6.QtNetwork import QLocalSocket

    socket = QLocalSocket()
    socket.connectToServer(name)
    connected = socket.waitForConnected(500)
    socket.abort()
    return connected
