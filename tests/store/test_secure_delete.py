"""A conversation deleted for good leaves none of its text in any file of the data folder.

SQLite builds differ: Debian's zeroes deleted content by default, python.org's macOS builds do
not. Every test here makes each new connection start with `secure_delete` OFF, as such a build
would, before Parlour's own setup runs; the control shows that, without Parlour's measures, the
words do stay in the files, so the main test can fail.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.store import db, erasure
from app.store.conversations import (
    create_conversation,
    delete_conversation,
    delete_conversation_for_good,
    rename_conversation,
)
from app.store.db import open_store
from app.store.messages import add_user_message
from app.store.search import search

from .helpers import chat, reply

SECRET_WORDS = (b"zanzibarquokka", b"marmaladeocelot", b"periwinklenarwhal", b"tangerinepangolin")
KEPT_WORDS = (b"saffronaxolotl",)


@pytest.fixture
def build_without_secure_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sqlite3 connection starts with secure_delete OFF, like a build without SQLITE_SECURE_DELETE."""
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        connection = real_connect(*args, **kwargs)
        connection.execute("PRAGMA secure_delete = OFF")
        return connection

    monkeypatch.setattr(sqlite3, "connect", connect)


def _secret_conversation(store: db.Store) -> int:
    conversation_id = create_conversation(store, system_prompt="Answer like a periwinklenarwhal would.").id
    user = add_user_message(store, conversation_id, "Tell me about the zanzibarquokka, please.")
    reply(store, conversation_id, user.id, "The zanzibarquokka eats marmaladeocelot berries.")
    rename_conversation(store, conversation_id, "tangerinepangolin notes")
    return conversation_id


def _words_in_files(folder: Path, words: tuple[bytes, ...]) -> dict[str, list[str]]:
    """For each word found, the files under `folder` whose raw bytes hold it."""
    found: dict[str, list[str]] = {}
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert any(path.name == "parlour.db" for path in files)
    for path in files:
        data = path.read_bytes()
        for word in words:
            if word in data:
                found.setdefault(word.decode(), []).append(path.name)
    return found


def test_without_parlours_measures_the_words_stay_in_the_files(
    home: Path, build_without_secure_delete: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: a plain delete, secure_delete left OFF, no FTS5 erasing, no log fold.
    monkeypatch.setattr(db, "guard_deleted_text", lambda connection: None)
    monkeypatch.setattr(db, "enable_search_secure_delete", lambda connection: None)
    store = open_store()
    try:
        assert store.connection.execute("PRAGMA secure_delete").fetchone()[0] == 0
        secret = _secret_conversation(store)
        chat(store, ("Something about the saffronaxolotl", "It stays."))
        delete_conversation(store, secret)
        assert search(store, "zanzibarquokka") == []
        while_open = _words_in_files(home, SECRET_WORDS)
    finally:
        store.close()
    assert set(while_open) == {word.decode() for word in SECRET_WORDS}
    # Even once the log is folded into the database on close, freed pages still hold the text.
    assert _words_in_files(home, SECRET_WORDS)


@pytest.mark.parametrize("fts_erases", [True, False], ids=["fts5-secure-delete", "index-merge"])
def test_a_conversation_deleted_for_good_leaves_no_text_in_any_file(
    home: Path, build_without_secure_delete: None, monkeypatch: pytest.MonkeyPatch, fts_erases: bool
) -> None:
    if fts_erases and not erasure.FTS_SECURE_DELETE:
        pytest.skip(f"FTS5's secure-delete needs SQLite 3.42; this is {sqlite3.sqlite_version}")
    monkeypatch.setattr(erasure, "FTS_SECURE_DELETE", fts_erases)
    store = open_store()
    try:
        assert store.connection.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert erasure.search_erases_deleted_text(store.connection) == fts_erases
        secret = _secret_conversation(store)
        kept = chat(store, ("Something about the saffronaxolotl", "It stays."))
        assert _words_in_files(home, SECRET_WORDS)  # written: the scan sees them
        delete_conversation_for_good(store, secret).join(timeout=60)
        assert not store.forgetting_pending
        assert _words_in_files(home, SECRET_WORDS) == {}
        assert _words_in_files(home, KEPT_WORDS)  # the scan still sees what was kept
        assert search(store, "zanzibarquokka") == [] and search(store, "tangerinepangolin") == []
        assert [hit.conversation_id for hit in search(store, "saffronaxolotl")] == [kept]
        problems = [row[0] for row in store.connection.execute("PRAGMA integrity_check")]
        assert problems == ["ok"]
        for table in erasure.SEARCH_TABLES:
            store.connection.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
    finally:
        store.close()
    assert _words_in_files(home, SECRET_WORDS) == {}


def test_a_deletion_while_a_checkpoint_runs_is_still_folded(home: Path, build_without_secure_delete: None) -> None:
    # A checkpoint started by a finished reply is running when the deletion asks for its own.
    with open_store() as store:
        secret = _secret_conversation(store)
        store.start_log_checkpoint()
        delete_conversation_for_good(store, secret)
        store.wait_for_log_checkpoint(timeout=60)
        assert not store.forgetting_pending
        assert _words_in_files(home, SECRET_WORDS) == {}


def test_indexes_from_a_newer_sqlite_are_rebuilt_for_an_older_one(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # FTS5's secure-delete moves an index to format 5, which SQLite before 3.42 refuses; such a
    # store (used with a newer SQLite before) must still open, save and search on an older one.
    with open_store() as store:
        kept = chat(store, ("Where does the saffronaxolotl live?", "In a pond."))
        with store.transaction() as connection:
            for table in erasure.SEARCH_TABLES:
                connection.execute(f"INSERT OR REPLACE INTO {table}_config (k, v) VALUES ('version', 5)")
    monkeypatch.setattr(erasure, "FTS_SECURE_DELETE", False)
    with open_store() as store:
        versions = [erasure._config(store.connection, table, "version") for table in erasure.SEARCH_TABLES]
        assert versions == [4, 4]
        added = chat(store, ("And the saffronaxolotl's cousin?", "Also a pond."))
        assert sorted(hit.conversation_id for hit in search(store, "saffronaxolotl")) == [kept, added]
        for table in erasure.SEARCH_TABLES:
            store.connection.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
