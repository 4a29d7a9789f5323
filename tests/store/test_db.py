"""Opening the store: where it lives, how the connection is set up, transactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store.conversations import create_conversation, list_recent
from app.store.db import Store, open_store, store_path


def test_the_store_lives_in_parlour_home(home: Path) -> None:
    assert store_path() == home / "parlour.db"
    store = open_store()
    store.close()
    assert (home / "parlour.db").exists()


def test_connection_uses_wal_foreign_keys_and_a_busy_timeout(store: Store) -> None:
    assert store.read("PRAGMA journal_mode")[0][0] == "wal"
    assert store.read("PRAGMA foreign_keys")[0][0] == 1
    assert store.read("PRAGMA busy_timeout")[0][0] >= 1000
    assert store.read("PRAGMA synchronous")[0][0] == 1  # NORMAL between durable commits
    assert store.notice is None


def test_a_durable_transaction_flushes_fully_and_then_steps_back(store: Store) -> None:
    with store.transaction(durable=True) as connection:
        # PRAGMA synchronous cannot change inside a transaction; it was set just before BEGIN.
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.read("PRAGMA synchronous")[0][0] == 1


def test_a_failed_transaction_is_rolled_back(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as connection:
        connection.execute("INSERT INTO conversations (title, created_at, updated_at) VALUES ('half', 'x', 'x')")
        raise RuntimeError("interrupted")
    assert store.read("SELECT count(*) FROM conversations")[0][0] == 0
    assert not store.connection.in_transaction


def test_nested_transactions_join_the_outer_one(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction(durable=True):
        create_conversation(store, title="inner")  # its own durable transaction joins ours
        raise RuntimeError("outer fails")
    assert list_recent(store) == []


def test_a_durable_transaction_cannot_hide_inside_a_non_durable_one(store: Store) -> None:
    with pytest.raises(RuntimeError, match="durable"), store.transaction():
        create_conversation(store, title="needs a flush")
    assert list_recent(store) == []


def test_reopening_keeps_everything(home: Path) -> None:
    with open_store() as store:
        create_conversation(store, title="Kept")
    with open_store() as store:
        assert [conversation.title for conversation in list_recent(store)] == ["Kept"]
