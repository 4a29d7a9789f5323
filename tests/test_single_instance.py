"""One window per data folder: a second `parlour` brings the first forward and exits."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def test_second_instance_brings_the_first_forward(parlour_cmd: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PARLOUR_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    first = subprocess.Popen(parlour_cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        database = tmp_path / "home" / "parlour.db"
        deadline = time.monotonic() + 60
        while not database.exists() and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.2)
        time.sleep(1.5)  # the window is up and listening once the store is open
        second = subprocess.run(parlour_cmd, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already open; its window was brought forward" in second.stderr
        assert first.poll() is None  # the first window is still there
    finally:
        first.terminate()
        first.wait(timeout=30)
