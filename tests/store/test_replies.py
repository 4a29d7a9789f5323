"""Streaming replies: checkpoints, endings, interrupted replies, continue and regenerate."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store.branches import load_thread
from app.store.conversations import create_conversation
from app.store.db import Store, open_store
from app.store.messages import add_user_message, get_message
from app.store.replies import continue_reply, mark_interrupted_replies, regenerate, start_reply
from app.store.search import search
from engines.base import GenerationStats

from .conftest import ManualClock


def _stored(path: Path, message_id: int) -> tuple[str, str]:
    """What another process would read: content and status, through a second connection."""
    with open_store(path) as other:
        row = other.read("SELECT content, status FROM messages WHERE id = ?", (message_id,))[0]
        return row[0], row[1]


def _question(store: Store) -> tuple[int, int]:
    conversation = create_conversation(store)
    return conversation.id, add_user_message(store, conversation.id, "Write a poem about tea").id


def test_the_user_message_is_committed_before_any_reply(store: Store) -> None:
    conversation_id, user_id = _question(store)
    with open_store(store.path) as other:
        assert other.read("SELECT content FROM messages WHERE id = ?", (user_id,))[0][0] == "Write a poem about tea"


def test_checkpoints_follow_the_interval(store: Store, clock: ManualClock) -> None:
    conversation_id, user_id = _question(store)
    writer = start_reply(store, conversation_id, user_id, interval_s=0.5, clock=clock)
    assert writer.message_id is not None
    assert _stored(store.path, writer.message_id) == ("", "streaming")
    writer.append("Steam ")
    clock.advance(0.3)
    writer.append("rises ")
    assert _stored(store.path, writer.message_id)[0] == ""  # not due yet
    assert not writer.saved
    clock.advance(0.25)
    writer.append("slowly")
    assert _stored(store.path, writer.message_id)[0] == "Steam rises slowly"
    assert writer.saved
    # A stalled stream is still saved when the app's timer calls flush_if_due.
    writer.append(", ")
    clock.advance(0.6)
    assert writer.flush_if_due()
    assert _stored(store.path, writer.message_id)[0] == "Steam rises slowly, "


def test_finishing_stores_everything_and_makes_it_searchable(store: Store, clock: ManualClock) -> None:
    conversation_id, user_id = _question(store)
    writer = start_reply(store, conversation_id, user_id, model="smollm2", interval_s=60, clock=clock)
    writer.append("Amber ", reasoning="The user wants a short poem. ")
    writer.append("infusion")
    assert search(store, "amber") == []  # a reply is indexed once it stops streaming
    stats = GenerationStats(
        prompt_tokens=20,
        prompt_tps=400.0,
        generated_tokens=2,
        generation_tps=55.5,
        ttft_ms=310.0,
        peak_memory_bytes=123_456_789,
        cached_tokens=8,
        dropped_turns=3,
    )
    assert writer.finish("stop", stats)
    message = get_message(store, writer.message_id)
    assert (message.content, message.reasoning) == ("Amber infusion", "The user wants a short poem. ")
    assert (message.status, message.finish_reason, message.model) == ("done", "stop", "smollm2")
    assert message.stats == stats
    assert [hit.message_id for hit in search(store, "amber")] == [writer.message_id]
    with pytest.raises(RuntimeError):
        writer.append("more")


@pytest.mark.parametrize(("reason", "error"), [("cancelled", None), ("length", None), ("error", "Out of memory.")])
def test_cancelled_cut_and_failed_replies_keep_their_text(store: Store, reason: str, error: str | None) -> None:
    conversation_id, user_id = _question(store)
    writer = start_reply(store, conversation_id, user_id)
    writer.append("Half a po")
    assert writer.finish(reason, error=error)
    message = get_message(store, writer.message_id)
    assert (message.content, message.status, message.finish_reason, message.error) == (
        "Half a po",
        "done",
        reason,
        error,
    )
    with pytest.raises(ValueError):
        start_reply(store, conversation_id, user_id).finish("exploded")


def test_a_crashed_reply_is_marked_interrupted_then_continued(store: Store) -> None:
    conversation_id, user_id = _question(store)
    writer = start_reply(store, conversation_id, user_id)
    writer.append("Green leaves unfurl")
    writer.flush()
    # The app dies here; the next start marks what was streaming.
    assert mark_interrupted_replies(store) == 1
    assert mark_interrupted_replies(store) == 0
    interrupted = get_message(store, writer.message_id)
    assert interrupted.status == "interrupted"
    assert [hit.message_id for hit in search(store, "unfurl")] == [writer.message_id]
    resumed = continue_reply(store, writer.message_id)
    assert resumed.text == "Green leaves unfurl"
    resumed.append(" in the pot.")
    assert resumed.finish()
    message = get_message(store, writer.message_id)
    assert (message.content, message.status) == ("Green leaves unfurl in the pot.", "done")
    assert [m.content for m in load_thread(store, conversation_id).messages][-1] == message.content


def test_an_interrupted_reply_can_be_regenerated_beside_itself(store: Store) -> None:
    conversation_id, user_id = _question(store)
    writer = start_reply(store, conversation_id, user_id, model="m1")
    writer.append("Cut o")
    writer.flush()
    mark_interrupted_replies(store)
    fresh = regenerate(store, writer.message_id)
    fresh.append("A whole poem.")
    fresh.finish()
    thread = load_thread(store, conversation_id)
    assert thread.messages[-1].content == "A whole poem." and thread.messages[-1].model == "m1"
    assert thread.alternatives[fresh.message_id] == (writer.message_id, fresh.message_id)
    assert get_message(store, writer.message_id).status == "interrupted"


def test_only_unanswered_replies_can_be_continued(store: Store) -> None:
    conversation_id, user_id = _question(store)
    writer = start_reply(store, conversation_id, user_id)
    writer.append("Done.")
    writer.finish()
    add_user_message(store, conversation_id, "Another?")
    with pytest.raises(ValueError):
        continue_reply(store, writer.message_id)
    with pytest.raises(ValueError):
        continue_reply(store, user_id)
    with pytest.raises(ValueError):
        regenerate(store, user_id)


def _assert_everything_older_than_a_second_is_stored(
    store: Store, message_id: int, appended: list[tuple[float, str]], now: float
) -> None:
    stored = store.read("SELECT content FROM messages WHERE id = ?", (message_id,))[0][0]
    due = "".join(text for stamp, text in appended if stamp <= now - 1.0)
    assert stored.startswith(due), (now, len(stored), len(due))


def test_a_steady_stream_is_never_more_than_a_second_behind(store: Store, clock: ManualClock) -> None:
    conversation_id, user_id = _question(store)
    writer = start_reply(store, conversation_id, user_id, clock=clock)  # the default interval
    appended: list[tuple[float, str]] = []
    for index in range(500):  # ten seconds at 50 tokens a second
        clock.advance(0.02)
        appended.append((clock.now, f"t{index} "))
        writer.append(f"t{index} ")
        _assert_everything_older_than_a_second_is_stored(store, writer.message_id, appended, clock.now)


def test_a_stalling_stream_is_saved_by_the_timer(store: Store, clock: ManualClock) -> None:
    conversation_id, user_id = _question(store)
    writer = start_reply(store, conversation_id, user_id, clock=clock)
    appended: list[tuple[float, str]] = []
    for burst in range(6):
        for index in range(5):
            clock.advance(0.01)
            appended.append((clock.now, f"b{burst}.{index} "))
            writer.append(f"b{burst}.{index} ")
        for _ in range(12):  # three seconds of silence; the app's timer ticks four times a second
            clock.advance(0.25)
            writer.flush_if_due()
            _assert_everything_older_than_a_second_is_stored(store, writer.message_id, appended, clock.now)


def test_a_finished_reply_is_folded_into_the_database_file_in_the_background(store: Store) -> None:
    conversation_id, user_id = _question(store)
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer = start_reply(store, conversation_id, user_id, interval_s=0)
    marker = "Oolong-marker-" * 50
    writer.append(marker)
    # Streaming checkpoints go to the write-ahead log only; the database file itself is untouched.
    assert marker.encode() not in store.path.read_bytes()
    assert writer.finish()
    store.wait_for_log_checkpoint(timeout=10)  # the one finish() started
    assert marker.encode() in store.path.read_bytes()
