"""Opening the store: one SQLite file in Parlour's data folder.

Opening checks the file cheaply, moves a damaged one aside (never deleting
it) and starts afresh, refuses a database from a newer Parlour without
changing it, and runs forward migrations.

Durability policy. The journal is a write-ahead log (WAL), so a commit is
atomic and a crash or power cut never leaves the file half-written.
`synchronous=NORMAL` makes every commit survive the app being killed (the
data is with the operating system), which covers the half-second streaming
checkpoints without a disk flush each time. Commits that must also survive a
power cut (the person's own message, the end of a reply, imports, deletions)
use `transaction(durable=True)`, which flushes the log to the drive at
commit. On macOS `fullfsync` makes those flushes F_FULLFSYNC, because plain
fsync there leaves the data in the drive's cache.

Two programs may use the store at once (the app and `parlour export`, say):
WAL lets readers run beside a writer, every write takes the lock up front
(BEGIN IMMEDIATE) so two writers queue instead of deadlocking, and
`busy_timeout` makes the queue wait instead of failing.

Copying the log into the database file (a WAL checkpoint) costs a drive flush
and tens of milliseconds. SQLite would do it inside whichever commit crosses
its threshold, a streaming checkpoint on the GUI thread included; so the
threshold is set high, as a safety net, and a finished reply starts a passive
checkpoint on a background thread (`start_log_checkpoint`), which neither
waits for nor blocks anyone.

Deleted text is erased, not just unlinked: every connection sets
`secure_delete` (SQLite then overwrites freed content with zeros; Debian builds
do it by default, python.org's macOS builds do not), the search indexes use
FTS5's own `secure-delete` option where SQLite has it (3.42 and later), and a
deletion made for good asks the background thread to finish the job
(`start_log_checkpoint(forget=True)`): merge the search indexes when FTS5 cannot
erase by itself, and copy the log into the database file and truncate it, so
no old copy of a page stays in `-wal`.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.paths import data_dir
from app.store.erasure import (
    enable_search_secure_delete,
    guard_deleted_text,
    merge_search_indexes,
    undo_newer_search_format,
)
from app.store.errors import StoreDamagedError, StoreError, StoreTooNewError, translate
from app.store.recovery import (
    clear_damage_mark,
    find_damage,
    full_check_finds_damage,
    is_marked_damaged,
    mark_damaged,
    move_aside,
)
from app.store.schema import LATEST_VERSION, migrate, schema_version

log = logging.getLogger(__name__)

STORE_FILE_NAME = "parlour.db"
BUSY_TIMEOUT_MS = 5000
# Pages (4 KiB each) the log may hold before a commit copies it into the database file itself.
LOG_CHECKPOINT_PAGES = 4000
# How long truncating the log may wait for readers: while it waits, writers (the window) wait too.
# When readers stay longer, the next checkpoint tries again.
LOG_TRUNCATE_WAIT_MS = 500
_TOO_NEW = (
    "This conversation store was written by a newer version of Parlour; "
    "update Parlour to open it (nothing was changed)."
)


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid of the row the INSERT just run on `cursor` made (sqlite3 types it as optional)."""
    row_id = cursor.lastrowid
    if row_id is None:
        raise RuntimeError("no row was inserted")
    return row_id


def store_path() -> Path:
    """Where the store lives: the platform data folder, or PARLOUR_HOME when set."""
    return data_dir() / STORE_FILE_NAME


class Store:
    """An open store: one SQLite connection, used from the thread that opened it."""

    def __init__(self, connection: sqlite3.Connection, path: Path, notice: str | None = None) -> None:
        self.connection = connection
        self.path = path
        # A sentence to show the person once, e.g. that a damaged store was moved aside.
        self.notice = notice
        self._depth = 0
        self._durable = False
        self._checkpoint_lock = threading.Lock()
        self._checkpointer: threading.Thread | None = None
        self._checkpoint_again = False
        # Deletions for good asked for, and how many of them the background thread has finished.
        self._forget_requested = 0
        self._forget_done = 0

    @contextmanager
    def transaction(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction; a nested call joins the outer one.

        SQLite failures a person can act on (disk full, store busy, store damaged) come out as
        StoreError with a plain sentence; SQLite has already rolled the transaction back.
        """
        if self._depth:
            if durable and not self._durable:
                raise RuntimeError("a durable transaction cannot be nested in a non-durable one")
            self._depth += 1
            try:
                yield self.connection
            finally:
                self._depth -= 1
            return
        if durable:
            self.connection.execute("PRAGMA synchronous = FULL")
        self._durable = durable
        self._depth = 1
        try:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                yield self.connection
                self.connection.execute("COMMIT")
            except BaseException:
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            problem = _for_people(error, self.path)
            if problem is None:
                raise
            raise problem from error
        finally:
            self._depth = 0
            self._durable = False
            if durable:
                self.connection.execute("PRAGMA synchronous = NORMAL")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads that must agree with each other: one read transaction (writers are not blocked).

        Inside a write transaction it simply joins it.
        """
        if self.connection.in_transaction:
            yield self.connection
            return
        self.connection.execute("BEGIN")
        try:
            yield self.connection
        finally:
            self.connection.execute("COMMIT")

    def read(self, sql: str, parameters: tuple | dict = ()) -> list[sqlite3.Row]:
        """Run one query outside any write transaction and return all rows."""
        try:
            return self.connection.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            problem = _for_people(error, self.path)
            if problem is None:
                raise
            raise problem from error

    def start_log_checkpoint(self, *, forget: bool = False) -> threading.Thread:
        """Copy the write-ahead log into the database file on a background thread; returns it.

        With `forget` (after a deletion made for good), the thread also erases what is left of the
        deleted text: it merges the search indexes when FTS5 cannot erase by itself, and truncates
        the log once it is copied. A thread already at work is returned instead of starting
        another; it goes round once more for the request that came in while it ran.
        """
        with self._checkpoint_lock:
            if forget:
                self._forget_requested += 1
            self._checkpoint_again = True
            if self._checkpointer is None:
                self._checkpointer = threading.Thread(
                    target=self._run_checkpoints, name="store-log-checkpoint", daemon=True
                )
                self._checkpointer.start()
            return self._checkpointer

    def wait_for_log_checkpoint(self, timeout: float | None = None) -> None:
        """Wait until a background checkpoint, if one is running, has finished."""
        with self._checkpoint_lock:
            running = self._checkpointer
        if running is not None:
            running.join(timeout)

    @property
    def forgetting_pending(self) -> bool:
        """Whether a deletion for good still has traces to erase (the log could not be truncated yet)."""
        with self._checkpoint_lock:
            return self._forget_done < self._forget_requested

    def _run_checkpoints(self) -> None:
        while True:
            with self._checkpoint_lock:
                if not self._checkpoint_again:
                    self._checkpointer = None
                    return
                self._checkpoint_again = False
                requested = self._forget_requested
                forget = self._forget_done < requested
            if _checkpoint_log(self.path, forget=forget) and forget:
                with self._checkpoint_lock:
                    self._forget_done = max(self._forget_done, requested)

    def close(self) -> None:
        # Nothing of ours may touch the file once it is closed.
        self.wait_for_log_checkpoint()
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _checkpoint_log(path: Path, forget: bool = False) -> bool:
    """One checkpoint on its own connection (sqlite3 connections belong to one thread); True when
    everything asked for was done.

    PASSIVE copies what it can without waiting for readers or writers; what it cannot copy waits
    for the next time. To forget deleted text, the log is then truncated, which needs every reader
    to have moved past it: that waits a little, and when it cannot, the next checkpoint tries again.
    """
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            guard_deleted_text(connection)
            if forget:
                merge_search_indexes(connection)
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if not forget:
                return True
            connection.execute(f"PRAGMA busy_timeout = {LOG_TRUNCATE_WAIT_MS}")
            busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                log.info("the log of %s is still in use; deleted text leaves it at the next checkpoint", path)
                return False
            return True
        finally:
            connection.close()
    except sqlite3.Error:
        log.warning("background checkpoint of %s failed", path, exc_info=True)
        return False


def _for_people(error: sqlite3.Error, path: Path) -> StoreError | None:
    """The person-facing error for a SQLite failure, logged; None for a bug (let it propagate)."""
    translated = translate(error)
    if isinstance(translated, StoreDamagedError):
        log.error("conversation store %s is damaged", path, exc_info=error)
        mark_damaged(path)
    elif translated is not None:
        # A full disk or a busy store is a condition, not a bug: one line, no traceback.
        log.warning("conversation store write failed: %s", error)
    return translated


def open_store(path: Path | None = None) -> Store:
    """Open (creating if needed) and migrate the store at `path`, by default `store_path()`.

    Raises StoreTooNewError for a database from a newer Parlour, leaving it untouched. A damaged
    file is moved aside and a fresh store opened; `Store.notice` then says where the old one went.
    """
    path = store_path() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True)
    notice = None
    reason = find_damage(path) or _probe(path)
    if reason is not None:
        # Look twice before moving anything: another process finishing a checkpoint at the very
        # moment we read the header could make a sound file look short for an instant.
        time.sleep(0.05)
        reason = find_damage(path) or _probe(path)
    if reason is None and is_marked_damaged(path):
        # SQLite reported damage last time: only now is reading the whole file worth its cost.
        reason = full_check_finds_damage(path)
        if reason is None:
            clear_damage_mark(path)
    if reason is not None:
        try:
            moved = move_aside(path)
        except OSError as error:
            log.exception("could not move the damaged conversation store %s aside", path)
            raise StoreDamagedError(
                f"Parlour's conversation store at {path} is damaged and could not be moved aside "
                f"({error.strerror}); move it away yourself and restart Parlour."
            ) from error
        log.error("conversation store %s is damaged (%s); moved to %s", path, reason, moved)
        notice = (
            f"Parlour's conversation store was damaged, so it was moved to {moved} and a new, empty store was started."
        )
    try:
        connection = _connect(path)
    except sqlite3.Error as error:
        log.exception("could not open conversation store %s", path)
        problem = translate(error)
        if isinstance(problem, StoreDamagedError):
            # The cheap checks passed but SQLite still refused the file; do not loop, tell the person.
            problem = StoreDamagedError(
                f"Parlour could not open its conversation store at {path}; move that file away and restart."
            )
        raise problem or StoreError(f"Parlour could not open its conversation store at {path}: {error}.") from error
    return Store(connection, path, notice)


def _probe(path: Path) -> str | None:
    """Read the database without changing it: why it is damaged, or None when it is sound.

    A read-only connection never checkpoints or rewrites the header, so a store from a newer
    Parlour is refused with its bytes exactly as they were.
    """
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise StoreError(f"Parlour could not read its conversation store at {path}: {error}.") from error
    try:
        guard_deleted_text(connection)
        version = schema_version(connection)
        if version > LATEST_VERSION:
            raise StoreTooNewError(_TOO_NEW)
        # Touch every table's B-tree at both ends: cheap, and it finds most truncation that
        # a pending write-ahead log hid from the size check.
        tables = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        for name, sql in tables:
            sql = (sql or "").upper()
            if name.startswith("sqlite_") or sql.startswith("CREATE VIRTUAL"):
                continue
            connection.execute(f'SELECT * FROM "{name}" LIMIT 1').fetchall()
            if "WITHOUT ROWID" not in sql:
                connection.execute(f'SELECT * FROM "{name}" ORDER BY rowid DESC LIMIT 1').fetchall()
        return None
    except sqlite3.DatabaseError as error:
        problem = translate(error)
        if isinstance(problem, StoreDamagedError):
            return str(error)
        raise problem or StoreError(f"Parlour could not read its conversation store at {path}: {error}.") from error
    finally:
        connection.close()


def _journal_mode_wal(connection: sqlite3.Connection) -> str:
    """Switch to WAL and return the mode in effect. SQLite does not call the busy handler for this switch:
    when two first opens of a new store race (two threads of one window, say), one gets "database is
    locked" at once. That one waits and tries again, as the busy timeout would have it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing commits behind our back.
    connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        guard_deleted_text(connection)
        # Checked before any pragma that writes: another process may have upgraded the store
        # since our probe, and a newer store must stay exactly as it is.
        if schema_version(connection) > LATEST_VERSION:
            raise StoreTooNewError(_TOO_NEW)
        mode = _journal_mode_wal(connection)
        if mode.lower() != "wal":
            # Some network file systems cannot share WAL memory; rollback journaling is still safe.
            log.warning("conversation store %s runs in %s mode, not WAL", path, mode)
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(f"PRAGMA wal_autocheckpoint = {LOG_CHECKPOINT_PAGES}")
        # Keep the log file from staying huge after a big import.
        connection.execute("PRAGMA journal_size_limit = 67108864")
        if sys.platform == "darwin":
            connection.execute("PRAGMA fullfsync = ON")
            connection.execute("PRAGMA checkpoint_fullfsync = ON")
        if schema_version(connection) < LATEST_VERSION:
            migrate(connection)
        undo_newer_search_format(connection)
        enable_search_secure_delete(connection)
        return connection
    except BaseException:
        connection.close()
        raise
