"""From the store's records to the rows the chat view shows. No Qt: plain mapping.

The stats pass through as they are: the store keeps the engine's GenerationStats whole.
"""

from __future__ import annotations

from typing import Any

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
        tool_calls=message.tool_calls,
        attachments=message.attachments,
        citations=message.citations,
    )


def rows_from_thread(thread: Thread) -> list[MessageRow]:
    return [row_from_message(m, thread.alternatives.get(m.id, ())) for m in thread.messages]


def engine_message(row: MessageRow) -> dict[str, Any]:
    """A row as the engine is sent it: with the calls a reply made, or the call a tool result answers."""
    message: dict[str, Any] = {"role": row.role, "content": row.content}
    if row.role == "assistant" and row.tool_calls:
        message["tool_calls"] = [dict(call) for call in row.tool_calls]
    elif row.role == "tool" and row.tool_calls:
        message["tool_call_id"] = row.tool_calls[0].get("id")
        message["name"] = (row.tool_calls[0].get("function") or {}).get("name")
    return message


def store_call(status: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a store operation; a failure a person can act on becomes a sentence on `status` (a signal of
    text and is-error), and the answer None."""
    from app.store.errors import StoreError

    try:
        return function(*args, **kwargs)
    except StoreError as err:
        status.emit(str(err), True)
    except ValueError as err:
        status.emit(str(err).capitalize().rstrip(".") + ".", True)
    return None
