"""From the store's records to the rows the chat view shows. No Qt: plain mapping.

The controller fills the model with `model.set_thread(rows_from_thread(thread))`; the store's
stats (seconds, tokens per second) become the engine's names and units the view formats.
"""

from __future__ import annotations

from typing import Any

from app.store.records import Message, Thread
from app.ui.message_model import DONE, ERROR, INTERRUPTED, STREAMING, MessageRow


def row_from_message(message: Message, siblings: tuple[Any, ...] = ()) -> MessageRow:
    stats: dict[str, Any] = {}
    s = message.stats
    for name, value in (
        ("prompt_tokens", s.prompt_tokens),
        ("generated_tokens", s.generated_tokens),
        ("cached_tokens", s.cached_tokens),
        ("ttft_ms", None if s.time_to_first_token_s is None else s.time_to_first_token_s * 1000.0),
        ("generation_tps", s.tokens_per_second),
        ("finish_reason", message.finish_reason),
    ):
        if value is not None:
            stats[name] = value
    if message.status == "interrupted":
        status = INTERRUPTED
    elif message.status == "streaming":
        status = STREAMING
    elif message.finish_reason == "error" or message.error:
        status = ERROR
    else:
        status = DONE
    position = siblings.index(message.id) + 1 if message.id in siblings else 1
    return MessageRow(
        id=message.id,
        role=message.role,
        content=message.content,
        reasoning=message.reasoning,
        status=status,
        error=message.error,
        stats=stats,
        sibling_position=position,
        sibling_count=max(len(siblings), 1),
    )


def rows_from_thread(thread: Thread) -> list[MessageRow]:
    return [row_from_message(m, thread.alternatives.get(m.id, ())) for m in thread.messages]
