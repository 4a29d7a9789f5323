"""Messages form a tree: regenerate and edit add siblings; the shown thread is the path to a leaf."""

from __future__ import annotations

import time

import pytest

from app.store.branches import alternatives, delete_branch, load_thread, switch_to
from app.store.conversations import create_conversation, get_conversation
from app.store.db import Store
from app.store.errors import NotFoundError
from app.store.messages import add_message, add_user_message, edit_user_message
from app.store.replies import regenerate

from .helpers import chat, reply


def _contents(store: Store, conversation_id: int) -> list[str]:
    return [message.content for message in load_thread(store, conversation_id).messages]


def test_regenerate_adds_a_sibling_reply_and_shows_it(store: Store) -> None:
    conversation_id = chat(store, ("Name a colour", "Red"))
    first_reply = load_thread(store, conversation_id).messages[-1]
    writer = regenerate(store, first_reply.id)
    writer.append("Blue")
    writer.finish()
    thread = load_thread(store, conversation_id)
    assert [m.content for m in thread.messages] == ["Name a colour", "Blue"]
    assert thread.messages[-1].parent_id == first_reply.parent_id
    assert thread.alternatives == {writer.message_id: (first_reply.id, writer.message_id)}
    assert alternatives(store, first_reply.id) == (first_reply.id, writer.message_id)


def test_editing_a_user_message_adds_a_sibling_and_keeps_the_old_branch(store: Store) -> None:
    conversation_id = chat(store, ("Hi", "Hello!"), ("Tell me a joke", "Knock knock."))
    question = load_thread(store, conversation_id).messages[2]
    edited = edit_user_message(store, question.id, "Tell me a riddle")
    reply(store, conversation_id, edited.id, "What has keys but no locks?")
    assert _contents(store, conversation_id) == [
        "Hi",
        "Hello!",
        "Tell me a riddle",
        "What has keys but no locks?",
    ]
    switch_to(store, question.id)
    assert _contents(store, conversation_id) == ["Hi", "Hello!", "Tell me a joke", "Knock knock."]
    assert alternatives(store, question.id) == (question.id, edited.id)
    with pytest.raises(ValueError):
        edit_user_message(store, load_thread(store, conversation_id).messages[-1].id, "replies are regenerated")


def test_editing_the_first_message_makes_a_new_root(store: Store) -> None:
    conversation_id = chat(store, ("First try", "ok"))
    first = load_thread(store, conversation_id).messages[0]
    edited = edit_user_message(store, first.id, "Second try")
    assert edited.parent_id is None
    thread = load_thread(store, conversation_id)
    assert [m.content for m in thread.messages] == ["Second try"]
    assert thread.alternatives == {edited.id: (first.id, edited.id)}


def test_switching_lands_on_the_most_recent_leaf_of_that_branch(store: Store) -> None:
    conversation_id = chat(store, ("Q", "A1"))
    question, answer = load_thread(store, conversation_id).messages
    # Branch A1 grows two ways; the later follow-up is where switching back to A1 lands.
    early = add_message(store, conversation_id, "user", "follow-up one", answer.id)
    late = add_message(store, conversation_id, "user", "follow-up two", answer.id)
    other = regenerate(store, answer.id)
    other.append("A2")
    other.finish()
    assert _contents(store, conversation_id) == ["Q", "A2"]
    assert switch_to(store, answer.id) == late.id
    assert _contents(store, conversation_id) == ["Q", "A1", "follow-up two"]
    switch_to(store, early.id)
    assert _contents(store, conversation_id) == ["Q", "A1", "follow-up one"]
    assert get_conversation(store, conversation_id).current_leaf_id == early.id


def test_new_messages_follow_the_shown_branch(store: Store) -> None:
    conversation_id = chat(store, ("Q", "A1"))
    answer = load_thread(store, conversation_id).messages[1]
    other = regenerate(store, answer.id)
    other.append("A2")
    other.finish()
    switch_to(store, answer.id)
    follow_up = add_user_message(store, conversation_id, "more about A1")
    assert follow_up.parent_id == answer.id


def test_deleting_a_branch_moves_to_the_newest_remaining_leaf(store: Store) -> None:
    conversation_id = chat(store, ("Q", "A1"))
    answer = load_thread(store, conversation_id).messages[1]
    other = regenerate(store, answer.id)
    other.append("A2")
    other.finish()
    add_user_message(store, conversation_id, "under A2")
    delete_branch(store, other.message_id)
    assert _contents(store, conversation_id) == ["Q", "A1"]
    assert store.read("SELECT count(*) FROM messages")[0][0] == 2
    with pytest.raises(NotFoundError):
        delete_branch(store, other.message_id)


def test_a_stale_leaf_falls_back_to_the_newest_message(store: Store) -> None:
    conversation_id = chat(store, ("Q", "A"))
    with store.transaction() as connection:
        connection.execute("UPDATE conversations SET current_leaf_id = 999999 WHERE id = ?", (conversation_id,))
    assert _contents(store, conversation_id) == ["Q", "A"]


def test_an_empty_conversation_has_an_empty_thread(store: Store) -> None:
    conversation = create_conversation(store)
    thread = load_thread(store, conversation.id)
    assert thread.messages == [] and thread.alternatives == {}


def test_a_thousand_message_thread_loads_quickly_and_switching_is_cheap(store: Store) -> None:
    conversation = create_conversation(store)
    with store.transaction() as connection:
        parent = None
        for number in range(1000):
            parent = connection.execute(
                "INSERT INTO messages (conversation_id, parent_id, role, created_at, content) "
                "VALUES (?, ?, ?, '2024-01-01T00:00:00.000000Z', ?)",
                (
                    conversation.id,
                    parent,
                    "user" if number % 2 == 0 else "assistant",
                    f"message {number} " * 40,
                ),
            ).lastrowid
            if number == 10:
                branch_point = parent
        connection.execute("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (parent, conversation.id))
    start = time.perf_counter()
    thread = load_thread(store, conversation.id)
    load_seconds = time.perf_counter() - start
    assert len(thread.messages) == 1000
    assert [m.id for m in thread.messages] == sorted(m.id for m in thread.messages)
    side = add_message(store, conversation.id, "assistant", "a side branch", branch_point)
    start = time.perf_counter()
    switch_to(store, thread.messages[-1].id)
    switch_seconds = time.perf_counter() - start
    assert load_thread(store, conversation.id).messages[-1].content.startswith("message 999")
    assert side.id not in {m.id for m in load_thread(store, conversation.id).messages}
    # Timing belongs to the benchmark (benchmarks/store.py); here only a bound no machine misses
    # unless the query plan degrades to something pathological.
    assert load_seconds < 30 and switch_seconds < 30
