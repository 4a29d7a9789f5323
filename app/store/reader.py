"""A read-only connection to the store for one worker thread.

sqlite3 connections belong to the thread that opened them, and the window's Store lives on the
GUI thread. Work that only reads and may be slow on a long history (searching it) opens its own
connection here, on its worker thread, and closes it when done. Opened read-only, it can never
write, checkpoint or migrate; the store must already be open (and migrated) elsewhere.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.store.db import BUSY_TIMEOUT_MS, Store
from app.store.errors import StoreError


def open_reader(path: Path) -> Store:
    """The store at `path`, read-only, for the calling thread only; close it when done."""
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise StoreError(f"Parlour could not read its conversation store at {path}: {error}.") from error
    connection.row_factory = sqlite3.Row
    return Store(connection, path)
