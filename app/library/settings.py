"""The library's settings (the models folder, hidden models, the Hub browser's context), kept in the store.

Each function takes an open store, or opens the store itself for that one call when given
none, so it works from any thread (a store's connection belongs to the thread that opened it).
Store failures come out as LibraryError with the store's sentence.

An older Parlour kept these in library-settings.json in the data folder: their first use moves
them into the store and renames the file to library-settings.json.migrated, so nothing is lost.
Secrets never come here (the Hub token lives in the keyring, see hub_token.py).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.library.errors import LibraryError
from app.library.fit import CONTEXT_LADDER
from app.paths import models_dir
from app.store import settings
from app.store.db import Store, open_store
from app.store.errors import StoreError
from app.store.settings import Setting

log = logging.getLogger("parlour.settings")
LEGACY_FILE = "library-settings.json"
MIGRATED_SUFFIX = ".migrated"


@contextmanager
def library_store(store: Store | None = None) -> Iterator[Store]:
    """`store`, or the default store opened for the block; its failures as LibraryError."""
    try:
        if store is not None:
            adopt_legacy_file(store)
            yield store
            return
        with open_store() as opened:
            adopt_legacy_file(opened)
            yield opened
    except StoreError as error:
        raise LibraryError(str(error)) from None


def models_folder(store: Store | None = None) -> Path:
    """Where downloads and imports go, laid out as publisher/repository/files.

    Raises LibraryError (one sentence) when the chosen folder cannot be made, e.g. on an unplugged disk.
    """
    with library_store(store) as opened:
        chosen = settings.get(opened, Setting.MODELS_FOLDER)
    if not chosen:
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


def set_models_folder(path: str | Path | None, store: Store | None = None) -> None:
    """New downloads and imports go to `path` (None: back to the data folder's models/)."""
    with library_store(store) as opened:
        settings.put(opened, Setting.MODELS_FOLDER, str(Path(path).expanduser().resolve()) if path else None)


def hidden_models(store: Store | None = None) -> set[str]:
    """The paths hidden from the library."""
    with library_store(store) as opened:
        return set(settings.get(opened, Setting.HIDDEN_MODELS))


def hide_model(path: str | Path, store: Store | None = None) -> None:
    _change_hidden(lambda hidden: hidden | {str(path)}, store)


def unhide_model(path: str | Path, store: Store | None = None) -> None:
    _change_hidden(lambda hidden: hidden - {str(path)}, store)


def _change_hidden(change: Callable[[set[str]], set[str]], store: Store | None) -> None:
    # Read and write in one transaction, so two programs hiding models at once both count.
    with library_store(store) as opened, opened.transaction():
        hidden = set(settings.get(opened, Setting.HIDDEN_MODELS))
        settings.put(opened, Setting.HIDDEN_MODELS, sorted(change(hidden)))


def fit_context(store: Store | None = None) -> int:
    """The context length the Hub browser's fit badges assume: always one of CONTEXT_LADDER."""
    with library_store(store) as opened:
        chosen = settings.get(opened, Setting.FIT_CONTEXT)
    return chosen if chosen in CONTEXT_LADDER else settings.default(Setting.FIT_CONTEXT)


def set_fit_context(tokens: int, store: Store | None = None) -> None:
    if tokens not in CONTEXT_LADDER:
        raise ValueError(f"{tokens} is not one of the context lengths the fit badges offer.")
    with library_store(store) as opened:
        settings.put(opened, Setting.FIT_CONTEXT, tokens)


# --- the settings file of an older Parlour ---------------------------------------------------------------


def adopt_legacy_file(store: Store) -> None:
    """Move library-settings.json beside the store into it, once; the file is kept, renamed.

    A value already in the store wins (another program may have moved the file first), and a
    value the old code would have ignored (a hand-edited file) is left out, as it was then.
    """
    path = store.path.parent / LEGACY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        log.warning("the old library settings file %s is unreadable; leaving it out", path, exc_info=True)
        data = {}
    for key, value in _legacy_values(data if isinstance(data, dict) else {}).items():
        with store.transaction():
            if not settings.is_set(store, key):
                settings.put(store, key, value)
    try:
        os.replace(path, path.with_name(path.name + MIGRATED_SUFFIX))
    except FileNotFoundError:
        pass  # another program moved it first
    except OSError:
        log.warning("could not rename %s; its settings are in the store already", path, exc_info=True)


def _legacy_values(data: dict[str, Any]) -> dict[Setting, Any]:
    """The old file's values as the old code read them: anything else in it counted as unset."""
    values: dict[Setting, Any] = {}
    folder, hidden, context = data.get("models_folder"), data.get("hidden_models"), data.get("fit_context")
    if isinstance(folder, str) and folder:
        values[Setting.MODELS_FOLDER] = folder
    if isinstance(hidden, list):
        values[Setting.HIDDEN_MODELS] = sorted({item for item in hidden if isinstance(item, str)})
    if type(context) is int and context in CONTEXT_LADDER:
        values[Setting.FIT_CONTEXT] = context
    return values
