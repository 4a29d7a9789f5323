"""The rows the store hands out: plain frozen dataclasses, no database handles inside."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from app.store.citations import Citation
from app.store.timestamps import from_text
from engines.base import GenerationStats

ROLES = ("system", "user", "assistant", "tool")
# Where a message is in its life in the store: a reply being streamed, one cut off by a crash
# (it can be continued or regenerated), or a finished message.
STATUSES = ("done", "streaming", "interrupted")
# Why the engine stopped, as the engine protocol reports it.
FINISH_REASONS = ("stop", "length", "cancelled", "error")


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    content: str
    reasoning: str
    status: str
    created_at: datetime
    model: str | None = None
    stats: GenerationStats | None = None  # the engine's figures for a reply; None where it gave none
    finish_reason: str | None = None
    error: str | None = None
    # OpenAI-shaped calls: those an assistant message made, or the one a tool message answers.
    tool_calls: tuple[dict[str, Any], ...] = ()
    attachments: tuple[str, ...] = ()  # on a user message: the absolute paths of the files attached to it
    citations: tuple[Citation, ...] = ()  # on a reply: the passages its prompt was given, numbered as there


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    title: str
    title_is_custom: bool
    created_at: datetime
    updated_at: datetime
    model: str | None
    engine: str | None
    system_prompt: str
    parameters: dict[str, Any]
    template: str | None
    folder: str | None
    pinned: bool
    current_leaf_id: int | None
    kind: str = "chat"  # "chat", or "comparison": several models answering the same prompts side by side


@dataclass(frozen=True, slots=True)
class Thread:
    """The shown thread of a conversation: the path from the root to the chosen leaf.

    `alternatives` maps a message id to all its siblings' ids (itself included, oldest
    first) for the messages that have other branches, so a view can show "2 / 3".
    """

    conversation: Conversation
    messages: list[Message]
    alternatives: dict[int, tuple[int, ...]]


# The engine's GenerationStats, one column per field under the same name (schema migration 4).
STATS_COLUMNS = tuple(f.name for f in fields(GenerationStats))

MESSAGE_COLUMNS = (
    "id, conversation_id, parent_id, role, content, reasoning, status, created_at, model, "
    + ", ".join(STATS_COLUMNS)
    + ", finish_reason, error, tool_calls, attachments, citations"
)

CONVERSATION_COLUMNS = (
    "id, title, title_is_custom, created_at, updated_at, model, engine, system_prompt, parameters, "
    "template, folder, pinned, current_leaf_id, kind"
)


def message_from_row(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        parent_id=row["parent_id"],
        role=row["role"],
        content=row["content"],
        reasoning=row["reasoning"],
        status=row["status"],
        created_at=from_text(row["created_at"]),
        model=row["model"],
        stats=stats_from_row(row),
        finish_reason=row["finish_reason"],
        error=row["error"],
        tool_calls=_tool_calls(row["tool_calls"]),
        attachments=attachments_from_json(row["attachments"]),
        citations=citations_from_json(row["citations"]),
    )


def _tool_calls(stored: str | None) -> tuple[dict[str, Any], ...]:
    if not stored:
        return ()
    calls = json.loads(stored)
    return tuple(call for call in calls if isinstance(call, dict)) if isinstance(calls, list) else ()


def attachments_from_json(stored: str | None) -> tuple[str, ...]:
    """The stored paths; anything that is not a path (a hand-edited store) is left out rather than failing."""
    paths = json.loads(stored) if stored else []
    return tuple(path for path in paths if isinstance(path, str) and path) if isinstance(paths, list) else ()


def citations_from_json(stored: str | None) -> tuple[Citation, ...]:
    """The stored citations; an entry that no longer makes a Citation is left out, the others are kept."""
    entries = json.loads(stored) if stored else []
    if not isinstance(entries, list):
        return ()
    citations = []
    for entry in entries:
        try:
            citations.append(Citation.from_dict(entry))
        except (AttributeError, TypeError, ValueError):
            continue
    return tuple(citations)


def stats_from_row(row: sqlite3.Row) -> GenerationStats | None:
    """The stored stats, or None when the message has none; a figure an older Parlour did not
    keep (prompt speed, peak memory, dropped turns) reads as GenerationStats' default."""
    stored = {name: row[name] for name in STATS_COLUMNS if row[name] is not None}
    return GenerationStats(**stored) if stored else None


def conversation_from_row(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        title_is_custom=bool(row["title_is_custom"]),
        created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]),
        model=row["model"],
        engine=row["engine"],
        system_prompt=row["system_prompt"],
        parameters=json.loads(row["parameters"]),
        template=row["template"],
        folder=row["folder"],
        pinned=bool(row["pinned"]),
        current_leaf_id=row["current_leaf_id"],
        kind=row["kind"],
    )
