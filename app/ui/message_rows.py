"""From the store's records to the rows the chat view shows. No Qt: plain mapping.

The stats pass through as they are: the store keeps the engine's GenerationStats whole.
"""

from __future__ import annotations

from app.store.records import Message, Thread
from app.ui.message_model import DONE, ERROR, INTERRUPTED, STREAMING, MessageRow


def row_status(message: Message) -> str:
    if message.status == "interrupted":
        return INTERRUPTED
    if message.status == "streaming":
        return STREAMING
    if message.finish_reason == "error" or message.error:
        return ERROR
    return DONE


def row_from_message(message: Message, siblings: tuple[int, ...] = ()) -> MessageRow:
    position = siblings.index(message.id) + 1 if message.id in siblings else 1
    return MessageRow(
        id=message.id,
        role=message.role,
        content=message.content,
        reasoning=message.reasoning,
        status=row_status(message),
        error=message.error,
        stats=message.stats,
        finish_reason=message.finish_reason,
        sibling_position=position,
        sibling_count=max(len(siblings), 1),
    )


def rows_from_thread(thread: Thread) -> list[MessageRow]:
    return [row_from_message(m, thread.alternatives.get(m.id, ())) for m in thread.messages]
