"""Comparisons in the store: a conversation of its own kind, whose columns are models answering the same
prompts side by side.

A comparison's messages form one tree like any conversation's (so search, erasure and deletion work on
them unchanged): the first prompt is the root, each column's reply hangs under it, and each follow-up is
asked once per column, under that column's last reply. A column is a path in the tree, from the root to
its `leaf_id`. The person's verdict on each round (a winning column, or a tie) is kept per round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.store.conversations import create_conversation, get_conversation
from app.store.db import Store
from app.store.errors import NotFoundError
from app.store.messages import insert_message
from app.store.records import MESSAGE_COLUMNS, STATS_COLUMNS, Conversation, Message, message_from_row
from app.store.timestamps import now_text

TIE = -1  # a round's verdict when no column is better
_PATH_TO_ROOT = (
    "WITH RECURSIVE path(id) AS (SELECT ? UNION ALL "
    "SELECT m.parent_id FROM messages m JOIN path ON m.id = path.id WHERE m.parent_id IS NOT NULL)"
)


@dataclass(frozen=True)
class ComparedModel:
    """A model taking part: its name as the picker lists it, what the engine host loads, and its engine."""

    name: str
    path: str
    engine: str = "auto"


@dataclass(frozen=True)
class Column:
    position: int
    model: ComparedModel
    leaf_id: int | None  # the column's last message; None before the first prompt


@dataclass(frozen=True)
class Round:
    """One prompt put to every column, and each column's reply (None where it has none yet)."""

    number: int
    prompt: str
    replies: tuple[Message | None, ...]
    winner: int | None  # a column's position, TIE, or None when the person has not said


def create_comparison(
    store: Store,
    models: list[ComparedModel],
    *,
    system_prompt: str = "",
    parameters: dict[str, Any] | None = None,
) -> Conversation:
    """A new, empty comparison of 2 to 4 models."""
    if not 2 <= len(models) <= 4:
        raise ValueError("a comparison takes 2 to 4 models")
    conversation = create_conversation(store, system_prompt=system_prompt, parameters=parameters)
    with store.transaction(durable=True) as db:
        db.execute("UPDATE conversations SET kind = 'comparison' WHERE id = ?", (conversation.id,))
        db.executemany(
            "INSERT INTO comparison_columns (conversation_id, position, model_name, model_path, engine) "
            "VALUES (?, ?, ?, ?, ?)",
            [(conversation.id, i, m.name, m.path, m.engine) for i, m in enumerate(models)],
        )
    return get_conversation(store, conversation.id)


def columns(store: Store, conversation_id: int) -> list[Column]:
    with store.snapshot() as db:
        facts = comparison_facts(db, conversation_id)
    if facts is None:
        raise NotFoundError(f"There is no comparison with the ID {conversation_id}.")
    return list(facts.columns)


def add_prompt(store: Store, conversation_id: int, text: str) -> list[int]:
    """The person's prompt, once per column (the first one shared), on disk before any model is asked.
    Returns, per column, the message the column's reply goes under."""
    with store.transaction(durable=True) as db:
        leaves = [
            row[0]
            for row in db.execute(
                "SELECT leaf_id FROM comparison_columns WHERE conversation_id = ? ORDER BY position",
                (conversation_id,),
            )
        ]
        if not leaves:
            raise NotFoundError(f"There is no comparison with the ID {conversation_id}.")
        if all(leaf is None for leaf in leaves):
            root = insert_message(db, conversation_id, "user", text, parent_id=None)
            parents = [root] * len(leaves)
        else:
            parents = [insert_message(db, conversation_id, "user", text, parent_id=leaf) for leaf in leaves]
        for position, parent in enumerate(parents):
            _move_leaf(db, conversation_id, position, parent)
    return parents


def set_leaf(store: Store, conversation_id: int, position: int, message_id: int) -> None:
    """The column's reply was stored: it is now the column's last message."""
    with store.transaction() as db:
        _move_leaf(db, conversation_id, position, message_id)


def _move_leaf(db: Any, conversation_id: int, position: int, message_id: int) -> None:
    db.execute(
        "UPDATE comparison_columns SET leaf_id = ? WHERE conversation_id = ? AND position = ?",
        (message_id, conversation_id, position),
    )


def column_messages(store: Store, leaf_id: int | None) -> list[Message]:
    """A column's messages, oldest first: the path from the first prompt to `leaf_id`."""
    if leaf_id is None:
        return []
    rows = store.read(
        f"{_PATH_TO_ROOT} SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN path ORDER BY id", (leaf_id,)
    )
    return [message_from_row(row) for row in rows]


def set_winner(store: Store, conversation_id: int, round_number: int, winner: int | None) -> None:
    """The person's verdict on a round: a column's position, TIE, or None to take it back."""
    with store.transaction() as db:
        if winner is None:
            db.execute(
                "DELETE FROM comparison_verdicts WHERE conversation_id = ? AND turn = ?",
                (conversation_id, round_number),
            )
        else:
            db.execute(
                "INSERT OR REPLACE INTO comparison_verdicts (conversation_id, turn, winner) VALUES (?, ?, ?)",
                (conversation_id, round_number, winner),
            )
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now_text(), conversation_id))


def rounds(store: Store, conversation_id: int) -> list[Round]:
    """Each round's prompt, the columns' replies and the verdict, oldest first."""
    with store.snapshot() as db:
        facts = comparison_facts(db, conversation_id)
        rows = db.execute(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?", (conversation_id,))
        messages = [message_from_row(row) for row in rows.fetchall()]
    if facts is None:
        raise NotFoundError(f"There is no comparison with the ID {conversation_id}.")
    return rounds_from(messages, facts)


@dataclass(frozen=True)
class ComparisonFacts:
    """What a comparison keeps beside its messages: its columns and the person's verdicts per round."""

    columns: tuple[Column, ...]
    verdicts: dict[int, int]


def comparison_facts(db: Any, conversation_id: int) -> ComparisonFacts | None:
    """Read inside the caller's transaction (an export's snapshot); None for a conversation that is not a
    comparison."""
    rows = db.execute(
        "SELECT position, model_name, model_path, engine, leaf_id FROM comparison_columns "
        "WHERE conversation_id = ? ORDER BY position",
        (conversation_id,),
    ).fetchall()
    if not rows:
        return None
    verdicts = db.execute("SELECT turn, winner FROM comparison_verdicts WHERE conversation_id = ?", (conversation_id,))
    return ComparisonFacts(
        tuple(Column(r[0], ComparedModel(r[1], r[2], r[3]), r[4]) for r in rows), dict(verdicts.fetchall())
    )


def rounds_from(messages: list[Message], facts: ComparisonFacts) -> list[Round]:
    by_id = {message.id: message for message in messages}
    per_column = [_rounds_of(_path(by_id, column.leaf_id)) for column in facts.columns]
    count = max((len(r) for r in per_column), default=0)
    result = []
    for number in range(count):
        prompt = next((r[number][0] for r in per_column if len(r) > number), "")
        replies = tuple(r[number][1] if len(r) > number else None for r in per_column)
        result.append(Round(number, prompt, replies, facts.verdicts.get(number)))
    return result


def _path(by_id: dict[int, Message], leaf_id: int | None) -> list[Message]:
    path = []
    while leaf_id is not None and leaf_id in by_id:
        path.append(by_id[leaf_id])
        leaf_id = by_id[leaf_id].parent_id
    return path[::-1]


def _rounds_of(path: list[Message]) -> list[tuple[str, Message | None]]:
    """A column's path as (prompt, reply or None) pairs."""
    pairs: list[tuple[str, Message | None]] = []
    for message in path:
        if message.role == "user":
            pairs.append((message.content, None))
        elif message.role == "assistant" and pairs and pairs[-1][1] is None:
            pairs[-1] = (pairs[-1][0], message)
    return pairs


def continue_as_chat(store: Store, conversation_id: int, position: int) -> Conversation:
    """A new chat holding one column's messages (with their stats), with the comparison's system prompt and
    parameters, for the person to go on with that model alone."""
    comparison = get_conversation(store, conversation_id)
    column = next((c for c in columns(store, conversation_id) if c.position == position), None)
    if column is None:
        raise NotFoundError(f"The comparison has no column {position + 1}.")
    path = column_messages(store, column.leaf_id)
    chat = create_conversation(
        store,
        model=column.model.name,
        engine=column.model.engine,
        system_prompt=comparison.system_prompt,
        parameters=comparison.parameters,
    )
    figures = ", ".join(STATS_COLUMNS)
    with store.transaction(durable=True) as db:
        parent = None
        for message in path:
            new_id = insert_message(
                db,
                chat.id,
                message.role,
                message.content,
                parent_id=parent,
                reasoning=message.reasoning,
                model=message.model,
            )
            db.execute(
                f"UPDATE messages SET ({figures}, finish_reason, error) = "
                f"(SELECT {figures}, finish_reason, error FROM messages WHERE id = ?) WHERE id = ?",
                (message.id, new_id),
            )
            parent = new_id
    return get_conversation(store, chat.id)
