"""Failures of the store that a person can act on.

`str(error)` is always one plain sentence meant for the person; the traceback,
when there is one, goes to the log, never to a dialog.
"""

from __future__ import annotations

import sqlite3

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26

DISK_FULL_MESSAGE = "The disk is full: free some space and Parlour will save what is waiting."


class StoreError(Exception):
    """Base class: the message is a sentence for the person, not for a developer."""


class StoreTooNewError(StoreError):
    """The database was written by a newer Parlour; we refuse to touch it."""


class DiskFullError(StoreError):
    """A write failed for lack of space; SQLite rolled it back, nothing is corrupt."""


class StoreBusyError(StoreError):
    """Another program held the database for longer than the busy timeout."""


class StoreDamagedError(StoreError):
    """SQLite found the database file damaged while it was already open."""


class NotFoundError(StoreError):
    """A conversation, message, preset or template that does not exist."""


class ImportFormatError(StoreError):
    """A file to import is not a Parlour export, or is malformed."""


class StoreInUseError(StoreError):
    """Another Parlour window already owns the store."""


def primary_code(error: sqlite3.Error) -> int | None:
    """SQLite's primary result code for an error, or None when it has none."""
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, sqlite3.Error) and primary_code(error) == _SQLITE_FULL


def translate(error: sqlite3.Error) -> StoreError | None:
    """The person-facing error for a SQLite failure they can do something about, else None."""
    code = primary_code(error)
    if code == _SQLITE_FULL:
        return DiskFullError(DISK_FULL_MESSAGE)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreBusyError("Another program is using Parlour's conversation store; try again in a moment.")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreDamagedError(
            "Parlour's conversation store is damaged; restart Parlour to move it aside and start afresh."
        )
    return None
