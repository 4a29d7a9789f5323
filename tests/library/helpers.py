"""Helpers shared by the library tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_parlour(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`parlour ...` from this checkout, in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT, env=env if env is not None else os.environ.copy())  # fmt: skip


def models_root() -> Path:
    from app.library.settings import models_folder

    return models_folder()
