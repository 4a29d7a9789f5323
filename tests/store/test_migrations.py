"""The schema chain: a store from every earlier version upgrades to the same schema, data intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.store.db import open_store
from app.store.messages import get_message
from app.store.presets import save_preset
from app.store.recovery import check_integrity
from app.store.replies import mark_interrupted_replies, start_reply
from app.store.schema import LATEST_VERSION, MIGRATIONS, Migration, migrate, schema_version
from app.store.search import search
from engines.base import GenerationStats

from .helpers import sqlite_master

STAMP = "2024-03-01T10:00:00.000000Z"


def _old_store(path: Path, version: int) -> None:
    """A database as Parlour at `version` left it, holding some of that version's data."""
    connection = sqlite3.connect(path, isolation_level=None)
    if version:
        migrate(connection, MIGRATIONS[:version])
        connection.execute(
            "INSERT INTO conversations (id, title, title_is_custom, created_at, updated_at, current_leaf_id) "
            "VALUES (1, 'Old kettle', 1, ?, ?, 3)",
            (STAMP, STAMP),
        )
        connection.executemany(
            "INSERT INTO messages (id, conversation_id, parent_id, role, status, created_at, content) "
            "VALUES (?, 1, ?, ?, ?, ?, ?)",
            [
                (1, None, "user", "done", STAMP, "How do I descale a kettle?"),
                (2, 1, "assistant", "done", STAMP, "Boil vinegar and water in it."),
                (3, 1, "assistant", "streaming", STAMP, "Use citric acid, then"),
            ],
        )
    connection.close()


@pytest.mark.parametrize("version", range(LATEST_VERSION))
def test_every_earlier_version_upgrades_to_the_current_schema(tmp_path: Path, version: int) -> None:
    old = tmp_path / "old.db"
    _old_store(old, version)
    fresh = open_store(tmp_path / "fresh.db")
    upgraded = open_store(old)
    try:
        assert schema_version(upgraded.connection) == LATEST_VERSION
        assert sqlite_master(upgraded) == sqlite_master(fresh)
        assert check_integrity(upgraded.connection) == []
        if version:
            rows = upgraded.read("SELECT id, content, status FROM messages ORDER BY id")
            assert [tuple(row) for row in rows] == [
                (1, "How do I descale a kettle?", "done"),
                (2, "Boil vinegar and water in it.", "done"),
                (3, "Use citric acid, then", "streaming"),
            ]
            # Messages written before search existed are found after the upgrade; the one still
            # streaming is not, until it is marked interrupted.
            assert {hit.message_id for hit in search(upgraded, "vinegar")} == {2}
            assert search(upgraded, "citric") == []
            assert mark_interrupted_replies(upgraded) == 1
            assert {hit.message_id for hit in search(upgraded, "citric")} == {3}
            assert [hit.conversation_id for hit in search(upgraded, "kettle") if hit.message_id is None] == [1]
        # The newest tables work on an upgraded store.
        assert save_preset(upgraded, "Precise", {"temperature": 0.1}).parameters == {"temperature": 0.1}
    finally:
        upgraded.close()
        fresh.close()


def test_stats_from_before_migration_4_read_in_the_engines_names_and_units(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_store(path, 3)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(
        "UPDATE messages SET prompt_tokens = 20, generated_tokens = 2, cached_tokens = 8, "
        "time_to_first_token_s = 0.31, tokens_per_second = 55.5, finish_reason = 'stop' WHERE id = 2"
    )
    connection.close()
    with open_store(path) as upgraded:
        assert get_message(upgraded, 1).stats is None
        assert get_message(upgraded, 2).stats == GenerationStats(
            prompt_tokens=20, generated_tokens=2, cached_tokens=8, ttft_ms=310.0, generation_tps=55.5
        )
        # A reply written after the upgrade keeps every figure, dropped turns included.
        writer = start_reply(upgraded, 1, 2)
        writer.append("More.")
        stats = GenerationStats(prompt_tokens=40, prompt_tps=300.0, peak_memory_bytes=1 << 28, dropped_turns=3)
        assert writer.finish("stop", stats)
        assert writer.message_id is not None
        assert get_message(upgraded, writer.message_id).stats == stats


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "parlour.db"
    open_store(path).close()
    broken = Migration(LATEST_VERSION + 1, "half of a migration", ("CREATE TABLE new_things (x)", "NOT SQL AT ALL"))
    connection = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        migrate(connection, (*MIGRATIONS, broken))
    assert schema_version(connection) == LATEST_VERSION
    assert connection.execute("SELECT count(*) FROM sqlite_master WHERE name = 'new_things'").fetchone()[0] == 0
    connection.close()


def test_migrating_an_up_to_date_store_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "parlour.db"
    store = open_store(path)
    before = sqlite_master(store)
    assert migrate(store.connection) == LATEST_VERSION
    assert sqlite_master(store) == before
    store.close()


def test_versions_are_numbered_one_by_one() -> None:
    assert [migration.version for migration in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
