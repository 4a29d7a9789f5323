"""The library's few settings, in a small JSON file in the data folder.

A stop-gap until settings move into the store: everything goes through `get` and
`put` here, so switching the storage later touches this file only. Secrets never
come here (the Hub token lives in the keyring, see hub_token.py).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.paths import data_dir, models_dir

log = logging.getLogger("parlour.settings")
_lock = threading.Lock()
SETTINGS_FILE = "library-settings.json"


class Setting(StrEnum):
    MODELS_FOLDER = "models_folder"  # str path; default: the data folder's models/
    HIDDEN_MODELS = "hidden_models"  # list of paths hidden from the library (other apps' models)
    FIT_CONTEXT = "fit_context"  # int: the context length the fit badges assume


DEFAULTS: dict[Setting, Any] = {Setting.MODELS_FOLDER: None, Setting.HIDDEN_MODELS: [], Setting.FIT_CONTEXT: 8192}


def _path() -> Path:
    return data_dir() / SETTINGS_FILE


def _read() -> dict[str, Any]:
    try:
        with open(_path(), encoding="utf-8") as stream:
            data = json.load(stream)
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("the library settings file is unreadable; using defaults", exc_info=True)
        return {}


def get(key: Setting) -> Any:
    with _lock:
        return _read().get(key.value, DEFAULTS[key])


def put(key: Setting, value: Any) -> None:
    """Write atomically: a crash mid-write leaves the old file, never half a file."""
    with _lock:
        data = _read()
        data[key.value] = value
        path = _path()
        temporary = path.with_suffix(".tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # private to the user
            with open(fd, "w", encoding="utf-8") as stream:
                json.dump(data, stream, indent=1)
            os.replace(temporary, path)
        except OSError as err:
            from app.library.errors import LibraryError

            log.warning("cannot write the library settings", exc_info=True)
            raise LibraryError(
                f"Parlour could not save its library settings in {path.parent} "
                f"({err.strerror or err.__class__.__name__})."
            ) from None


def models_folder() -> Path:
    """Where downloads and imports go, laid out as publisher/repository/files.

    Raises LibraryError (one sentence) when the chosen folder cannot be made, e.g. on an unplugged disk.
    """
    from app.library.errors import LibraryError

    chosen = get(Setting.MODELS_FOLDER)
    if not chosen or not isinstance(chosen, str):
        return models_dir()
    path = Path(chosen).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LibraryError(
            f"The models folder {path} cannot be used ({err.strerror or err.__class__.__name__}); "
            "connect its disk, or choose another folder in the library window."
        ) from None
    if not path.is_dir():
        raise LibraryError(f"The models folder {path} is not a folder; choose another in the library window.")
    return path


def set_models_folder(path: str | Path | None) -> None:
    put(Setting.MODELS_FOLDER, str(Path(path).expanduser().resolve()) if path else None)


def hidden_models() -> set[str]:
    """The paths hidden from the library (a hand-edited file with anything else in it counts as none)."""
    value = get(Setting.HIDDEN_MODELS)
    return {item for item in value if isinstance(item, str)} if isinstance(value, list) else set()


def hide_model(path: str | Path) -> None:
    hidden = hidden_models()
    hidden.add(str(path))
    put(Setting.HIDDEN_MODELS, sorted(hidden))


def unhide_model(path: str | Path) -> None:
    hidden = hidden_models()
    hidden.discard(str(path))
    put(Setting.HIDDEN_MODELS, sorted(hidden))
