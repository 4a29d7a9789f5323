"""Opening the document index's SQLite file: private, WAL, its schema, and a damaged file moved aside.

The index is a copy of what the person's files say, so a damaged file is never a reason to stop:
it is moved aside (never deleted, as the conversation store does) and a fresh index is started;
the collections then have to be added again, which the notice says. A file from a newer Parlour is
refused unchanged, like the store: an older Parlour must not rebuild what a newer one wrote. An older
file is brought up to date in place (_MIGRATIONS), keeping everything indexed in it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path

from app.store.recovery import (
    clear_damage_mark,
    find_damage,
    full_check_finds_damage,
    is_marked_damaged,
    move_aside,
)

log = logging.getLogger(__name__)

INDEX_FILE_NAME = "documents.sqlite3"
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 5000
# Porter stemming lets "indexing" find "indexed"; remove_diacritics 2 lets "cafe" find "café".
# benchmarks/documents.py measures recall with it (see README).
TOKENIZER = "porter unicode61 remove_diacritics 2"

_SCHEMA = """
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    indexed_at TEXT
);
CREATE TABLE collection_folders (
    collection INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    UNIQUE (collection, path)
);
-- Why a folder (or a file that never became a document) could not be read at the last update.
CREATE TABLE walk_problems (
    collection INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    problem TEXT NOT NULL
);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    collection INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    indexed_at TEXT NOT NULL,
    problem TEXT,
    added_alone INTEGER NOT NULL DEFAULT 0,  -- `parlour docs add FILE`: kept until the file is gone
    UNIQUE (collection, path)
);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    page INTEGER,
    heading TEXT,
    text TEXT NOT NULL
);
CREATE INDEX passages_by_document ON passages (document, ordinal);
CREATE VIRTUAL TABLE passage_search USING fts5 (
    text, heading, content = 'passages', content_rowid = 'id', tokenize = '{tokenizer}'
);
-- External content: the search index follows the passages table through these triggers
-- (a cascade from a deleted document or collection fires them too).
CREATE TRIGGER passages_added AFTER INSERT ON passages BEGIN
    INSERT INTO passage_search (rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;
CREATE TRIGGER passages_deleted AFTER DELETE ON passages BEGIN
    INSERT INTO passage_search (passage_search, rowid, text, heading)
    VALUES ('delete', old.id, old.text, old.heading);
END;
"""

# Each version's changes from the one before, applied in order to an older file (and to a new one after _SCHEMA).
_MIGRATIONS: dict[int, str] = {
    2: """
-- A collection's embedding model (a GGUF path), and each passage's vector from it: float32, little-endian.
ALTER TABLE collections ADD COLUMN embedding_model TEXT;
CREATE TABLE passage_vectors (
    passage INTEGER PRIMARY KEY REFERENCES passages(id) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
""",
}


class DocumentIndexError(Exception):
    """The index itself failed (disk full, damaged, newer, busy): str(error) is one sentence for the person."""


def open_index(path: Path) -> tuple[sqlite3.Connection, str | None]:
    """The open, current index at `path` and a notice for the person (a damaged file moved aside), or None."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    notice = None
    reason = find_damage(path) or _probe(path)
    if reason is None and is_marked_damaged(path):
        # SQLite reported damage last time: only now is reading the whole file worth its cost.
        reason = full_check_finds_damage(path)
        if reason is None:
            clear_damage_mark(path)
    if reason is not None:
        notice = _set_aside(path, reason)
    try:
        return _connect(path), notice
    except sqlite3.DatabaseError as error:
        if _primary_code(error) not in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
            raise DocumentIndexError(f"Parlour could not open its document index at {path} ({error}).") from error
        # The cheap checks passed but SQLite still refused the file: set it aside once more and start afresh.
        notice = _set_aside(path, str(error))
        return _connect(path), notice


def _set_aside(path: Path, reason: str) -> str:
    try:
        moved = move_aside(path)
    except OSError as error:
        log.exception("could not move the damaged document index %s aside", path)
        raise DocumentIndexError(
            f"Parlour's document index at {path} is damaged and could not be moved aside "
            f"({error.strerror}); move it away yourself and try again."
        ) from error
    log.error("document index %s is damaged (%s); moved to %s", path, reason, moved)
    return (
        f"Parlour's document index was damaged, so it was moved to {moved} and a new, empty one was started; "
        "add your documents again."
    )


def _primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _probe(path: Path) -> str | None:
    """Why the file is damaged, or None when it reads (or is absent); read-only, so nothing is changed."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        return str(error)
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DocumentIndexError(
                "This document index was written by a newer version of Parlour; update Parlour to use it "
                "(nothing was changed)."
            )
        # Touch every ordinary table at both ends: cheap, and it finds most truncation.
        tables = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        ).fetchall()
        for name, sql in tables:
            connection.execute(f'SELECT * FROM "{name}" LIMIT 1').fetchall()
            if "WITHOUT ROWID" not in (sql or "").upper():
                connection.execute(f'SELECT * FROM "{name}" ORDER BY rowid DESC LIMIT 1').fetchall()
        return None
    except sqlite3.DatabaseError as error:
        return str(error)
    finally:
        connection.close()


def _create_private(path: Path) -> None:
    """The file exists and is the owner's alone before SQLite writes a byte (its -wal and -shm take its mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


def _write_ahead_log(connection: sqlite3.Connection) -> str:
    """Put the file in WAL mode, once. Asked first and set only when needed: switching needs the file to
    itself, and SQLite's busy handler does not wait for that, so a new index opened by two threads at once
    (the window and an update) tries again for up to the busy timeout."""
    mode = str(connection.execute("PRAGMA journal_mode").fetchone()[0])
    if mode.lower() == "wal":
        return mode
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:  # what it answers is the mode it ended in (a file system without WAL keeps another)
            return str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _connect(path: Path) -> sqlite3.Connection:
    _create_private(path)
    # isolation_level=None: transactions are begun and committed explicitly (DocumentIndex.writing).
    connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _write_ahead_log(connection)
        if str(mode).lower() != "wal":
            log.warning("document index %s runs in %s mode, not WAL", path, mode)
        # A lost commit after a power cut costs one document, which the next update indexes again.
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        # Freed pages are zeroed: text of a removed document does not linger in the file (FTS5 segments may
        # keep terms until they merge; `parlour docs rm` then optimizes the index).
        connection.execute("PRAGMA secure_delete = ON")
        connection.execute("PRAGMA journal_size_limit = 67108864")
        _create_schema(connection)
        return connection
    except BaseException:
        connection.close()
        raise


def _create_schema(connection: sqlite3.Connection) -> None:
    if connection.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Read again inside the write lock: two processes opening a new index create (or migrate) it once.
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            _bring_up_to_date(connection, version)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _bring_up_to_date(connection: sqlite3.Connection, version: int) -> None:
    """The schema made (version 0) or migrated from `version` to SCHEMA_VERSION, inside the caller's transaction."""
    if version == 0:
        # TOKENIZER read now, not at import: benchmarks/documents.py compares tokenizers this way.
        for statement in _statements(_SCHEMA.format(tokenizer=TOKENIZER)):
            connection.execute(statement)
        version = 1
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in _statements(_MIGRATIONS[target]):
            connection.execute(statement)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _statements(script: str) -> list[str]:
    """The script's statements one by one (executescript would commit the open transaction first)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return statements
