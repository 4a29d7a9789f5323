"""Building small conversations for tests through the store's public functions."""

from __future__ import annotations

from app.store.conversations import create_conversation
from app.store.db import Store
from app.store.messages import add_user_message
from app.store.replies import start_reply
from engines.base import GenerationStats


def chat(store: Store, *turns: tuple[str, str], **conversation: object) -> int:
    """A conversation with (user, reply) turns, each reply finished with some statistics."""
    conversation_id = create_conversation(store, **conversation).id
    for prompt, answer in turns:
        user = add_user_message(store, conversation_id, prompt)
        reply(store, conversation_id, user.id, answer)
    return conversation_id


def reply(store: Store, conversation_id: int, parent_id: int, text: str) -> int:
    writer = start_reply(store, conversation_id, parent_id, model="test-model")
    writer.append(text)
    assert writer.finish(
        "stop",
        GenerationStats(prompt_tokens=12, generated_tokens=len(text.split()), ttft_ms=250.0, generation_tps=40.0),
    )
    return writer.message_id


def sqlite_master(store: Store) -> list[tuple]:
    return [
        tuple(row)
        for row in store.read(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
