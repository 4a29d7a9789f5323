"""The conversation store as the commands open it: one sentence for every way opening or using it fails.

The commands do not take the window's instance lock (app.store.instance): they work beside
a running Parlour, which WAL and the busy timeout make safe.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app.cli.log_setup import data_folder_problem
from app.cli.terminal_text import note

if TYPE_CHECKING:
    from app.store.db import Store

log = logging.getLogger(__name__)


@contextmanager
def opened_store() -> Iterator[Store]:
    """The store, closed afterwards; a moved-aside damaged file is noted on stderr, and SQLite's and
    the data folder's failures become a StoreError with a sentence (the traceback goes to the log)."""
    from app.store.db import open_store
    from app.store.errors import StoreError

    try:
        store = open_store()
    except sqlite3.Error as error:
        log.exception("could not open the conversation store")
        raise StoreError(f"Parlour could not open its conversation store: {error}.") from error
    except OSError as error:
        log.warning("could not open the conversation store: %s", error)
        raise StoreError(data_folder_problem(error)) from error
    try:
        if store.notice:
            note(store.notice)
        yield store
    except sqlite3.Error as error:
        log.exception("conversation store command failed")
        raise StoreError(f"Parlour's conversation store failed: {error}.") from error
    finally:
        store.close()
