"""The Linux packages, built once per test session by the script `make package` runs, into a temporary folder."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "packaging" / "linux" / "build.py"
BUILD_TIMEOUT_S = 1800  # only so a hung build fails instead of hanging the run
CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: nothing listens, so any connection fails at once


def bundle_skip_reason() -> str | None:
    """Why the Linux bundle cannot be built here, or None."""
    if not sys.platform.startswith("linux"):
        return "The Linux bundle is built and tested on Linux (macOS has packaging/macos/build.sh)."
    if importlib.util.find_spec("PyInstaller") is None:
        return "PyInstaller is not installed; `make test` installs it with the package extra."
    return None


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """What packaging/linux/build.py made: the bundle, the .tar.gz and (where dpkg-deb exists) the .deb."""
    reason = bundle_skip_reason()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("package")
    command = [sys.executable, str(BUILD), "--dist", str(out / "dist"), "--work", str(out / "work"), "--json"]
    if shutil.which("dpkg-deb") is None:
        command.append("--no-deb")
    built = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=REPO)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    result: dict[str, object] = json.loads(built.stdout.strip().splitlines()[-1])
    return result


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """A user with an empty home, offline: nothing from this venv, the repository or the network.

    Only the system PATH is kept (not .venv/bin); XDG folders point inside `home`; every proxy
    variable names a closed port and the Hub client is told it is offline, so a stray request fails
    fast instead of reaching out. TMPDIR is kept so a test and its children agree on Qt's local sockets.
    """
    home.mkdir(parents=True, exist_ok=True)
    runtime = home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_RUNTIME_DIR": str(runtime),
        "QT_QPA_PLATFORM": "offscreen",
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env[name] = CLOSED_PORT
    if os.environ.get("TMPDIR"):
        env["TMPDIR"] = os.environ["TMPDIR"]
    env.update(extra)
    return env
