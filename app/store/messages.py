"""Adding and editing messages. Messages form a tree: each has a parent.

A new message becomes its conversation's current leaf, so the shown thread
(the path from the root to that leaf, see `branches.py`) follows it. Editing a
user message adds a sibling, so the original and everything after it stay.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.store.citations import Citation
from app.store.conversations import title_from_text
from app.store.db import Store, inserted_id
from app.store.errors import NotFoundError
from app.store.records import MESSAGE_COLUMNS, ROLES, Message, message_from_row
from app.store.timestamps import now_text


def get_message(store: Store, message_id: int) -> Message:
    rows = store.read(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,))
    if not rows:
        raise NotFoundError(f"There is no message with the ID {message_id}.")
    return message_from_row(rows[0])


def add_user_message(
    store: Store, conversation_id: int, content: str, *, attachments: Sequence[str | Path] = ()
) -> Message:
    """The person's message, after the shown thread's last one, with the files attached to it (kept as
    absolute paths); on disk before this returns.

    Call this before asking the engine for a reply, so a crash during generation never
    loses what the person typed.
    """
    with store.transaction(durable=True) as connection:
        leaf = current_leaf(connection, conversation_id)
        message_id = insert_message(connection, conversation_id, "user", content, parent_id=leaf)
        if attachments:
            set_attachments(connection, message_id, attachments)
    return get_message(store, message_id)


def set_attachments(connection: sqlite3.Connection, message_id: int, paths: Sequence[str | Path]) -> None:
    """Keep the paths of a message's attached files with it, inside the caller's transaction."""
    absolute = [str(Path(path).absolute()) for path in paths]
    connection.execute(
        "UPDATE messages SET attachments = ? WHERE id = ?",
        (json.dumps(absolute, ensure_ascii=False) if absolute else None, message_id),
    )


def set_citations(connection: sqlite3.Connection, message_id: int, citations: Sequence[Citation]) -> None:
    """Keep what a reply's prompt was given (its numbered passages' sources) with it, in the caller's transaction."""
    entries = [citation.to_dict() for citation in citations]
    connection.execute(
        "UPDATE messages SET citations = ? WHERE id = ?",
        (json.dumps(entries, ensure_ascii=False) if entries else None, message_id),
    )


def add_message(
    store: Store,
    conversation_id: int,
    role: str,
    content: str,
    parent_id: int | None,
    *,
    reasoning: str = "",
    model: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> Message:
    """Any finished message under an explicit parent (None for a new root); a tool result with the call it
    answers, as `tool_calls=[call]`."""
    with store.transaction(durable=True) as connection:
        message_id = insert_message(
            connection, conversation_id, role, content, parent_id=parent_id, reasoning=reasoning, model=model
        )
        if tool_calls:
            set_tool_calls(connection, message_id, tool_calls)
    return get_message(store, message_id)


def set_tool_calls(connection: sqlite3.Connection, message_id: int, calls: list[dict[str, Any]]) -> None:
    """Keep the calls a reply made (OpenAI-shaped) with it, inside the caller's transaction."""
    connection.execute(
        "UPDATE messages SET tool_calls = ? WHERE id = ?", (json.dumps(calls, ensure_ascii=False), message_id)
    )


def keep_tool_calls(store: Store, message_id: int, calls: list[dict[str, Any]]) -> None:
    with store.transaction(durable=True) as connection:
        set_tool_calls(connection, message_id, calls)


def edit_user_message(store: Store, message_id: int, content: str) -> Message:
    """A new version of a user message: a sibling with the same parent, now the shown branch, with the same
    attached files."""
    original = get_message(store, message_id)
    if original.role != "user":
        raise ValueError("only user messages are edited; regenerate a reply instead")
    with store.transaction(durable=True) as connection:
        new_id = insert_message(connection, original.conversation_id, "user", content, parent_id=original.parent_id)
        if original.attachments:
            set_attachments(connection, new_id, original.attachments)
    return get_message(store, new_id)


def insert_message(
    connection: sqlite3.Connection,
    conversation_id: int,
    role: str,
    content: str,
    *,
    parent_id: int | None,
    reasoning: str = "",
    model: str | None = None,
    status: str = "done",
) -> int:
    """Insert inside the caller's transaction; make it the current leaf and keep the title up to date."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    title_row = connection.execute(
        "SELECT title, title_is_custom FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    if title_row is None:
        raise NotFoundError(f"There is no conversation with the ID {conversation_id}.")
    if parent_id is not None:
        parent = connection.execute("SELECT conversation_id FROM messages WHERE id = ?", (parent_id,)).fetchone()
        if parent is None or parent[0] != conversation_id:
            raise NotFoundError(f"There is no message with the ID {parent_id} in this conversation.")
    now = now_text()
    cursor = connection.execute(
        "INSERT INTO messages (conversation_id, parent_id, role, status, created_at, model, reasoning, "
        "content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (conversation_id, parent_id, role, status, now, model, reasoning, content),
    )
    message_id = inserted_id(cursor)
    # The automatic title follows the first user message (and its edits) until the person renames.
    retitle = role == "user" and not title_row[1] and (parent_id is None or not title_row[0])
    if retitle:
        connection.execute(
            "UPDATE conversations SET title = ?, current_leaf_id = ?, updated_at = ? WHERE id = ?",
            (title_from_text(content), message_id, now, conversation_id),
        )
    else:
        connection.execute(
            "UPDATE conversations SET current_leaf_id = ?, updated_at = ? WHERE id = ?",
            (message_id, now, conversation_id),
        )
    return message_id


def current_leaf(connection: sqlite3.Connection, conversation_id: int) -> int | None:
    """The chosen leaf, falling back to the newest message if it is unset or was deleted."""
    row = connection.execute(
        "SELECT m.id FROM conversations c JOIN messages m ON m.id = c.current_leaf_id "
        "AND m.conversation_id = c.id WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    if row is not None:
        return row[0]
    row = connection.execute("SELECT max(id) FROM messages WHERE conversation_id = ?", (conversation_id,)).fetchone()
    return row[0]
