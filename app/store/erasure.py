"""Erasing deleted text from the store's files, not just unlinking it.

SQLite leaves deleted rows in freed pages unless `secure_delete` is on, and an
FTS5 index keeps a deleted row's terms in its segments until they are merged.
Every connection therefore sets `secure_delete`, and the search indexes erase
deleted terms at once with FTS5's `secure-delete` option where SQLite has it
(3.42 and later); with an older SQLite, a deletion made for good merges the
indexes afterwards (`merge_search_indexes`, run by db.py's background thread,
which then also truncates the write-ahead log).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

SEARCH_TABLES = ("message_search", "title_search")
# FTS5 erases a deleted row's terms from its index by itself since SQLite 3.42.
FTS_SECURE_DELETE = sqlite3.sqlite_version_info >= (3, 42, 0)
# FTS5's index format; the secure-delete option moves a table to the next one, which older SQLite refuses.
_FTS_FORMAT = 4

# Refilling an index the way migration 2 filled it: replies still streaming are not indexed.
_REFILL = {
    "message_search": "INSERT INTO message_search (rowid, content) "
    "SELECT id, content FROM messages WHERE status != 'streaming'",
    "title_search": "INSERT INTO title_search (rowid, title) SELECT id, title FROM conversations",
}


def guard_deleted_text(connection: sqlite3.Connection) -> None:
    """Make SQLite overwrite whatever this connection deletes with zeros.

    Builds differ in the default (Debian's has it on, python.org's macOS builds off), so every
    connection the store opens says it explicitly.
    """
    connection.execute("PRAGMA secure_delete = ON")


def search_erases_deleted_text(connection: sqlite3.Connection) -> bool:
    """Whether both search indexes have FTS5's secure-delete option on."""
    if not FTS_SECURE_DELETE:
        return False
    return all(_config(connection, table, "secure-delete") == 1 for table in SEARCH_TABLES)


def enable_search_secure_delete(connection: sqlite3.Connection) -> None:
    """Turn FTS5's secure-delete option on in both search indexes; kept in them, so written once.

    If the store cannot be written now (read-only, busy), deletions merge the indexes instead.
    """
    if not FTS_SECURE_DELETE:
        return
    try:
        if search_erases_deleted_text(connection):
            return
        with _write(connection):
            for table in SEARCH_TABLES:
                connection.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('secure-delete', 1)")
    except sqlite3.Error:
        log.warning("could not turn on secure deletion in the search indexes", exc_info=True)


def merge_search_indexes(connection: sqlite3.Connection) -> None:
    """Merge each search index into one segment, dropping deleted terms, unless FTS5 erases them.

    It rewrites the whole index, so it runs on the background checkpoint thread; `secure_delete`
    zeroes the old segments' pages.
    """
    if search_erases_deleted_text(connection):
        return
    with _write(connection):
        for table in SEARCH_TABLES:
            connection.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")


def undo_newer_search_format(connection: sqlite3.Connection) -> None:
    """Refill search indexes that a newer SQLite moved to a format this one cannot use.

    A store used with SQLite 3.42 or later has secure-delete indexes; an older SQLite refuses them
    ("invalid fts5 file format"), and since triggers write to them, even saving a message would
    fail. The text is all in the tables, so the indexes are emptied and filled again.
    """
    if FTS_SECURE_DELETE:
        return
    try:
        stale = [table for table in SEARCH_TABLES if _format_version(connection, table) > _FTS_FORMAT]
        if not stale:
            return
        with _write(connection):
            for table in stale:
                connection.execute(f"UPDATE {table}_config SET v = ? WHERE k = 'version'", (_FTS_FORMAT,))
                connection.execute(f"DELETE FROM {table}_config WHERE k = 'secure-delete'")
                connection.execute(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")
                connection.execute(_REFILL[table])
        log.info("rebuilt the search indexes %s in the format this SQLite reads", ", ".join(stale))
    except sqlite3.Error:
        log.warning("could not rebuild the search indexes for this SQLite", exc_info=True)


def _config(connection: sqlite3.Connection, table: str, key: str) -> object:
    row = connection.execute(f"SELECT v FROM {table}_config WHERE k = ?", (key,)).fetchone()
    return None if row is None else row[0]


def _format_version(connection: sqlite3.Connection, table: str) -> int:
    version = _config(connection, table, "version")
    return version if isinstance(version, int) else 0


@contextmanager
def _write(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT on a connection in autocommit mode; rolled back on any failure."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
