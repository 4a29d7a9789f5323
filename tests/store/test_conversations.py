"""Conversations: titles, settings, listing order, deletion."""

from __future__ import annotations

import pytest

from app.store.conversations import (
    count_messages,
    create_conversation,
    delete_conversation,
    get_conversation,
    list_recent,
    rename_conversation,
    title_from_text,
    update_conversation,
)
from app.store.db import Store
from app.store.errors import NotFoundError
from app.store.messages import add_user_message, edit_user_message

from .helpers import chat


def test_title_is_the_first_user_message_shortened() -> None:
    assert title_from_text("  Hello\n there  ") == "Hello there"
    long = "How do I make my sourdough starter more active in a cold kitchen during the winter months?"
    title = title_from_text(long)
    assert len(title) <= 60
    assert title.endswith("…")
    assert long.startswith(title[:-1])
    assert not title[:-1].endswith(" ")
    # A single endless word is still cut.
    assert len(title_from_text("x" * 500)) == 60


def test_automatic_title_follows_the_first_message_until_renamed(store: Store) -> None:
    conversation = create_conversation(store)
    assert conversation.title == "" and not conversation.title_is_custom
    first = add_user_message(store, conversation.id, "Plan a picnic for six")
    add_user_message(store, conversation.id, "Something else later")
    assert get_conversation(store, conversation.id).title == "Plan a picnic for six"
    edit_user_message(store, first.id, "Plan a picnic for eight")
    assert get_conversation(store, conversation.id).title == "Plan a picnic for eight"
    renamed = rename_conversation(store, conversation.id, "  Picnic  ")
    assert renamed.title == "Picnic" and renamed.title_is_custom
    edit_user_message(store, first.id, "Plan a picnic for ten")
    assert get_conversation(store, conversation.id).title == "Picnic"


def test_a_title_given_at_creation_is_kept(store: Store) -> None:
    conversation = create_conversation(store, title="Mine")
    add_user_message(store, conversation.id, "first words")
    assert get_conversation(store, conversation.id).title == "Mine"


def test_settings_are_stored_and_changed(store: Store) -> None:
    conversation = create_conversation(
        store,
        model="smollm2-135m",
        engine="llama.cpp",
        system_prompt="Be brief.",
        parameters={"temperature": 0.2, "top_p": 0.9},
        template="{{ messages }}",
        folder="Work",
    )
    assert conversation.parameters == {"temperature": 0.2, "top_p": 0.9}
    assert (conversation.model, conversation.engine, conversation.folder) == (
        "smollm2-135m",
        "llama.cpp",
        "Work",
    )
    changed = update_conversation(store, conversation.id, pinned=True, parameters={"temperature": 1.0}, folder=None)
    assert changed.pinned and changed.parameters == {"temperature": 1.0} and changed.folder is None
    assert changed.system_prompt == "Be brief."
    assert changed.updated_at >= conversation.updated_at
    with pytest.raises(TypeError):
        update_conversation(store, conversation.id, title="use rename")
    with pytest.raises(ValueError):
        update_conversation(store, conversation.id, parameters={"temperature": float("nan")})


def test_list_recent_puts_pinned_first_then_the_latest(store: Store) -> None:
    old = create_conversation(store, title="old")
    middle = create_conversation(store, title="middle")
    new = create_conversation(store, title="new")
    update_conversation(store, old.id, pinned=True)
    add_user_message(store, middle.id, "bump")  # new activity moves it up
    assert [c.title for c in list_recent(store)] == ["old", "middle", "new"]
    assert [c.title for c in list_recent(store, limit=1, offset=1)] == ["middle"]
    assert new.id in {c.id for c in list_recent(store)}


def test_delete_removes_every_branch(store: Store) -> None:
    kept = chat(store, ("keep me", "kept"))
    doomed = chat(store, ("a", "b"), ("c", "d"))
    delete_conversation(store, doomed)
    assert store.read("SELECT count(*) FROM messages WHERE conversation_id = ?", (doomed,))[0][0] == 0
    assert count_messages(store, kept) == 2
    with pytest.raises(NotFoundError):
        get_conversation(store, doomed)
    with pytest.raises(NotFoundError):
        delete_conversation(store, doomed)


def test_a_very_long_thread_can_be_deleted(store: Store) -> None:
    # SQLite runs ON DELETE CASCADE as nested triggers (depth limit 1000): a 1,500-message
    # chain with cascading parents fails with "too many levels of trigger recursion".
    conversation = create_conversation(store)
    parent = add_user_message(store, conversation.id, "first").id
    with store.transaction() as connection:
        for number in range(1500):
            parent = connection.execute(
                "INSERT INTO messages (conversation_id, parent_id, role, created_at, content) "
                "VALUES (?, ?, 'user', '2024-01-01T00:00:00.000000Z', ?)",
                (conversation.id, parent, f"message {number}"),
            ).lastrowid
    delete_conversation(store, conversation.id)
    assert store.read("SELECT count(*) FROM messages")[0][0] == 0
    assert store.read("SELECT count(*) FROM message_search WHERE message_search MATCH 'message'")[0][0] == 0


def test_unknown_conversations_are_reported_plainly(store: Store) -> None:
    with pytest.raises(NotFoundError, match="There is no conversation with the ID 42."):
        get_conversation(store, 42)
    with pytest.raises(NotFoundError):
        add_user_message(store, 42, "hello?")
