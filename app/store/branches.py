"""The shown thread of a conversation and switching between branches.

The shown thread is the path from the root to the conversation's current leaf.
Switching branches only moves that leaf, so it costs one small update. A
child always has a larger ID than its parent, so the largest ID under a
message is a leaf, and the most recently written one: that is where switching
to a branch lands.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict

from app.store.conversations import get_conversation
from app.store.db import Store
from app.store.errors import NotFoundError
from app.store.messages import current_leaf
from app.store.records import MESSAGE_COLUMNS, Thread, message_from_row

_PATH_TO_ROOT = """
    WITH RECURSIVE path(id) AS (
        SELECT ?
        UNION ALL
        SELECT m.parent_id FROM messages m JOIN path p ON m.id = p.id WHERE m.parent_id IS NOT NULL
    )
"""

_SUBTREE = """
    WITH RECURSIVE subtree(id) AS (
        SELECT ?
        UNION ALL
        SELECT m.id FROM messages m JOIN subtree s ON m.parent_id = s.id
    )
"""


def load_thread(store: Store, conversation_id: int) -> Thread:
    """The conversation and its shown thread, oldest message first, read as one snapshot."""
    with store.snapshot() as connection:
        conversation = get_conversation(store, conversation_id)
        leaf = current_leaf(connection, conversation_id)
        if leaf is None:
            return Thread(conversation, [], {})
        rows = connection.execute(
            f"{_PATH_TO_ROOT} SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN path ORDER BY id",
            (leaf,),
        ).fetchall()
        children: dict[int | None, list[int]] = defaultdict(list)
        for message_id, parent_id in connection.execute(
            "SELECT id, parent_id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        ):
            children[parent_id].append(message_id)
    messages = [message_from_row(row) for row in rows]
    alternatives = {
        message.id: tuple(children[message.parent_id]) for message in messages if len(children[message.parent_id]) > 1
    }
    return Thread(conversation, messages, alternatives)


def alternatives(store: Store, message_id: int) -> tuple[int, ...]:
    """The message and its siblings (same parent, same conversation), oldest first."""
    rows = store.read(
        "SELECT s.id FROM messages m JOIN messages s ON s.conversation_id = m.conversation_id "
        "AND s.parent_id IS m.parent_id WHERE m.id = ? ORDER BY s.id",
        (message_id,),
    )
    if not rows:
        raise NotFoundError(f"There is no message with the ID {message_id}.")
    return tuple(row[0] for row in rows)


def switch_to(store: Store, message_id: int) -> int:
    """Show the branch through `message_id`, down to its most recent leaf; returns that leaf."""
    with store.transaction() as connection:
        conversation_id = _conversation_of(connection, message_id)
        leaf = newest_leaf_under(connection, message_id)
        connection.execute("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (leaf, conversation_id))
    return leaf


def delete_branch(store: Store, message_id: int) -> None:
    """Delete a message and everything under it; the thread moves to the newest remaining leaf."""
    with store.transaction(durable=True) as connection:
        conversation_id = _conversation_of(connection, message_id)
        parent = connection.execute("SELECT parent_id FROM messages WHERE id = ?", (message_id,)).fetchone()[0]
        connection.execute(f"{_SUBTREE} DELETE FROM messages WHERE id IN subtree", (message_id,))
        leaf = newest_leaf_under(connection, parent) if parent is not None else None
        if leaf is None:
            leaf = connection.execute(
                "SELECT max(id) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()[0]
        connection.execute("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (leaf, conversation_id))


def newest_leaf_under(connection: sqlite3.Connection, message_id: int) -> int:
    return connection.execute(f"{_SUBTREE} SELECT max(id) FROM subtree", (message_id,)).fetchone()[0]


def _conversation_of(connection: sqlite3.Connection, message_id: int) -> int:
    row = connection.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"There is no message with the ID {message_id}.")
    return row[0]
