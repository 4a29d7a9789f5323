"""Store records become view rows: the engine's stats as they are, statuses, branch positions."""

from __future__ import annotations

from datetime import UTC, datetime

from app.store.records import Conversation, Message, Thread
from app.ui.message_model import DONE, ERROR, INTERRUPTED
from app.ui.message_rows import rows_from_thread
from engines.base import GenerationStats

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def message(id_: int, role: str, **kw) -> Message:
    kw.setdefault("content", f"m{id_}")
    kw.setdefault("reasoning", "")
    kw.setdefault("status", "done")
    return Message(id=id_, conversation_id=1, parent_id=None, role=role, created_at=NOW, **kw)


def test_rows_from_thread() -> None:
    conversation = Conversation(1, "t", False, NOW, NOW, None, None, "", {}, None, None, False, 4)
    stats = GenerationStats(prompt_tokens=50, generated_tokens=12, cached_tokens=40, ttft_ms=250.0, generation_tps=30.0)
    thread = Thread(
        conversation,
        [
            message(1, "user"),
            message(3, "assistant", stats=stats, finish_reason="stop"),
            message(5, "user"),
            message(6, "assistant", status="interrupted"),
        ],
        {3: (2, 3, 7), 6: (6, 8)},
    )
    first, reply, _, cut = rows_from_thread(thread)
    assert (first.sibling_position, first.sibling_count) == (1, 1)
    assert (reply.sibling_position, reply.sibling_count, reply.status) == (2, 3, DONE)
    assert reply.stats is stats and reply.finish_reason == "stop"
    assert (cut.status, cut.sibling_position, cut.sibling_count) == (INTERRUPTED, 1, 2)
    failed = rows_from_thread(Thread(conversation, [message(9, "assistant", finish_reason="error", error="Boom.")], {}))
    assert (failed[0].status, failed[0].error) == (ERROR, "Boom.")


def test_a_long_tool_result_is_shown_folded_and_a_short_one_whole() -> None:
    from app.ui.message_stats import folded_result, row_footer

    assert folded_result("5") == "5"
    long = "\n".join(f"line {i}" for i in range(50))
    folded = folded_result(long)
    assert folded.startswith("line 0\nline 1\nline 2\nline 3\n… ") and "more characters" in folded
    assert "line 4" not in folded
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2}'}}
    assert row_footer("tool", None, None, (call,)) == 'Result of add({"a": 2})'
    assert row_footer("assistant", None, None, (call,)).endswith('called add({"a": 2})')
