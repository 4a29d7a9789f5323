"""Spotting a damaged database file cheaply, and moving it aside without losing it.

A full `PRAGMA integrity_check` reads the whole file (seconds for a large
store), too slow for every start. At open we check what costs nothing and
catches the usual damage: the header (random bytes, a wrong header) and the
file size against the page count the header records (a truncated file). SQLite
reports anything subtler as SQLITE_CORRUPT later: the store then leaves a
mark beside the file (`mark_damaged`), and the next open runs SQLite's full
check on that file only, moving it aside if the check confirms the damage.
`check_integrity` runs the full check on request.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from app.store.timestamps import utc_now

_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100


def find_damage(path: Path) -> str | None:
    """Why the database file at `path` is damaged, or None when it looks sound (or is absent)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None  # SQLite treats an empty file as an empty database
    with path.open("rb") as file:
        header = file.read(_HEADER_SIZE)
    if len(header) < _HEADER_SIZE:
        return "the file is shorter than a database header"
    if header[:16] != _MAGIC:
        return "the file does not start with a SQLite header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return f"the header gives an impossible page size ({page_size})"
    if _has_pending_wal(path):
        # After a crash mid-checkpoint the main file may legitimately be shorter than its
        # header says: the missing pages are still in the write-ahead log.
        return None
    page_count = int.from_bytes(header[28:32], "big")
    change_counter = int.from_bytes(header[24:28], "big")
    valid_for = int.from_bytes(header[92:96], "big")
    if page_count and change_counter == valid_for and size < page_count * page_size:
        return f"the file is truncated ({size} bytes of {page_count * page_size})"
    return None


def _has_pending_wal(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    try:
        return wal.stat().st_size > 0
    except FileNotFoundError:
        return False


def _mark(path: Path) -> Path:
    return path.with_name(path.name + ".damage-seen")


def mark_damaged(path: Path) -> None:
    """Remember that SQLite reported damage in this file, so the next open checks it fully."""
    # If even the mark cannot be written, the damage is simply reported again next time.
    with contextlib.suppress(OSError):
        _mark(path).touch()


def is_marked_damaged(path: Path) -> bool:
    return _mark(path).exists()


def clear_damage_mark(path: Path) -> None:
    _mark(path).unlink(missing_ok=True)


def full_check_finds_damage(path: Path) -> str | None:
    """SQLite's quick_check over the whole file, read-only: the first problem, or None."""
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute("PRAGMA quick_check").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        return str(error)
    problems = [row[0] for row in rows if row[0] != "ok"]
    return problems[0] if problems else None


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its -wal/-shm companions) next to itself; returns the new path.

    Nothing is deleted: the person, or a recovery tool, may still get text out of it. The
    companions keep SQLite's naming so the moved copy still opens with its log.
    """
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{counter}")
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    os.replace(path, target)
    clear_damage_mark(path)
    return target


def check_integrity(connection: sqlite3.Connection) -> list[str]:
    """SQLite's full integrity check plus the search indexes'; an empty list means sound."""
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check") if row[0] != "ok"]
    for table in ("message_search", "title_search"):
        exists = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if not exists:
            continue
        try:
            connection.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as error:
            problems.append(f"{table}: {error}")
    return problems
