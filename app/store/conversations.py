"""Conversations: creating, listing, renaming, changing their settings, deleting.

Messages and branches live in `messages.py` and `branches.py`; streaming replies
in `replies.py`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

from app.store.db import Store, inserted_id
from app.store.errors import NotFoundError
from app.store.records import CONVERSATION_COLUMNS, Conversation, conversation_from_row
from app.store.timestamps import now_text

TITLE_LENGTH = 60

# The fields `update_conversation` may change; the title has `rename_conversation`.
_EDITABLE = ("model", "engine", "system_prompt", "parameters", "template", "folder", "pinned")


def title_from_text(text: str, limit: int = TITLE_LENGTH) -> str:
    """A conversation title from its first message: one line, cut at a word, at most `limit` chars."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def create_conversation(
    store: Store,
    *,
    title: str = "",
    model: str | None = None,
    engine: str | None = None,
    system_prompt: str = "",
    parameters: dict[str, Any] | None = None,
    template: str | None = None,
    folder: str | None = None,
    pinned: bool = False,
) -> Conversation:
    """A new, empty conversation. A title given here counts as chosen by the person."""
    now = now_text()
    with store.transaction(durable=True) as connection:
        cursor = connection.execute(
            "INSERT INTO conversations (title, title_is_custom, created_at, updated_at, model, engine, "
            "system_prompt, parameters, template, folder, pinned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                title,
                int(bool(title)),
                now,
                now,
                model,
                engine,
                system_prompt,
                _parameters_json(parameters or {}),
                template,
                folder,
                int(pinned),
            ),
        )
        conversation_id = inserted_id(cursor)
    return get_conversation(store, conversation_id)


def get_conversation(store: Store, conversation_id: int) -> Conversation:
    rows = store.read(f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,))
    if not rows:
        raise NotFoundError(f"There is no conversation with the ID {conversation_id}.")
    return conversation_from_row(rows[0])


def list_recent(store: Store, limit: int = 50, offset: int = 0) -> list[Conversation]:
    """Pinned conversations first, then the most recently updated."""
    rows = store.read(
        f"SELECT {CONVERSATION_COLUMNS} FROM conversations "
        "ORDER BY pinned DESC, updated_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [conversation_from_row(row) for row in rows]


def conversation_ids(store: Store) -> list[int]:
    """Every conversation's ID, oldest first (what `export --all` walks)."""
    return [row[0] for row in store.read("SELECT id FROM conversations ORDER BY id")]


def count_messages(store: Store, conversation_id: int) -> int:
    return store.read("SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation_id,))[0][0]


def rename_conversation(store: Store, conversation_id: int, title: str) -> Conversation:
    """Set the title the person chose; automatic titles never replace it afterwards."""
    with store.transaction(durable=True) as connection:
        cursor = connection.execute(
            "UPDATE conversations SET title = ?, title_is_custom = 1, updated_at = ? WHERE id = ?",
            (title.strip(), now_text(), conversation_id),
        )
        _require(cursor.rowcount, conversation_id)
    return get_conversation(store, conversation_id)


def update_conversation(store: Store, conversation_id: int, **changes: Any) -> Conversation:
    """Change settings: model, engine, system_prompt, parameters, template, folder, pinned."""
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"cannot update conversation fields {sorted(unknown)}")
    if not changes:
        return get_conversation(store, conversation_id)
    values = []
    for name, value in changes.items():
        if name == "parameters":
            value = _parameters_json(value or {})
        elif name == "system_prompt":
            value = value or ""
        elif name == "pinned":
            value = int(bool(value))
        values.append(value)
    assignments = ", ".join(f"{name} = ?" for name in changes)
    with store.transaction(durable=True) as connection:
        cursor = connection.execute(
            f"UPDATE conversations SET {assignments}, updated_at = ? WHERE id = ?",
            (*values, now_text(), conversation_id),
        )
        _require(cursor.rowcount, conversation_id)
    return get_conversation(store, conversation_id)


def delete_conversation(store: Store, conversation_id: int) -> None:
    """Delete a conversation and all its messages (every branch)."""
    with store.transaction(durable=True) as connection:
        cursor = connection.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        _require(cursor.rowcount, conversation_id)


def delete_conversation_for_good(store: Store, conversation_id: int) -> threading.Thread:
    """Delete a conversation and leave no copy of its text in any of the store's files.

    The rows' pages are zeroed as they are freed (`secure_delete`, set on every connection) and the
    search indexes drop its terms (erasure.py); a background thread then merges the indexes where
    FTS5 cannot erase by itself, and copies and truncates the write-ahead log, which still holds
    the pages as they were. Returns that thread: join it to wait until the text is gone.
    """
    delete_conversation(store, conversation_id)
    return store.start_log_checkpoint(forget=True)


def conversation_collections(store: Store, conversation_id: int) -> list[str]:
    """The document collections this chat searches for each question, by name, sorted."""
    rows = store.read(
        "SELECT collection FROM conversation_collections WHERE conversation_id = ? ORDER BY collection",
        (conversation_id,),
    )
    return [row[0] for row in rows]


def set_conversation_collections(store: Store, conversation_id: int, names: Iterable[str]) -> list[str]:
    """Choose the collections this chat searches (replacing the earlier choice); returns them, sorted."""
    chosen = sorted({name.strip() for name in names if name.strip()})
    with store.transaction(durable=True) as connection:
        exists = connection.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        _require(0 if exists is None else 1, conversation_id)
        connection.execute("DELETE FROM conversation_collections WHERE conversation_id = ?", (conversation_id,))
        connection.executemany(
            "INSERT INTO conversation_collections (conversation_id, collection) VALUES (?, ?)",
            [(conversation_id, name) for name in chosen],
        )
    return chosen


def _require(rowcount: int, conversation_id: int) -> None:
    if rowcount == 0:
        raise NotFoundError(f"There is no conversation with the ID {conversation_id}.")


def _parameters_json(parameters: dict[str, Any]) -> str:
    if not isinstance(parameters, dict):
        raise TypeError("parameters must be a dict")
    # allow_nan=False: NaN is not JSON, and SQLite's json_valid would reject the row anyway.
    return json.dumps(parameters, ensure_ascii=False, allow_nan=False, sort_keys=True)
