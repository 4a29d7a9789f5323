"""Where Parlour keeps its files on this machine.

`PARLOUR_HOME` overrides everything (tests point it at a temporary folder).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    """The folder for the database, models and settings (created on first use)."""
    override = os.environ.get("PARLOUR_HOME")
    if override:
        path = Path(override).expanduser()
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / "Parlour"
    elif sys.platform == "win32":
        path = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Parlour"
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        path = (Path(xdg) if xdg else Path.home() / ".local" / "share") / "parlour"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Downloaded and imported models, laid out as publisher/repository/files."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """Log files: tracebacks go here, never to a dialog."""
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
