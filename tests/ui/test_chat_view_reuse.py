"""A streamed reply, finished and then reloaded from the store (set_thread with the same ids), keeps its true height."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from app.ui.chat_view import ROW_SPACING, ChatView
from app.ui.message_model import DONE, STREAMING, MessageModel, MessageRow
from engines.base import GenerationStats

REPLY = 'Here\'s a Python code block that prints "Hello":\n\n```python\nprint("Hello")\n```'
LONG_STATS = GenerationStats(
    generated_tokens=21, prompt_tokens=78, cached_tokens=49, ttft_ms=160.0, generation_tps=42.5, dropped_turns=12
)
SHORT_STATS = GenerationStats(generated_tokens=7, prompt_tokens=42, ttft_ms=200.0, generation_tps=76.6)
EARLIER = [
    MessageRow(1, "user", "What is the capital of France? Answer in one sentence."),
    MessageRow(2, "assistant", "The capital of France is Paris.", stats=SHORT_STATS, finish_reason="stop"),
    MessageRow(3, "user", "Give me a short list of three fruits, then a Python code block that prints hello."),
]


@pytest.fixture
def view(qtbot):
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(620, 640)
    view.show()
    qtbot.waitExposed(view)
    return view


def _settle(qtbot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(40)


def _check_geometry(view: ChatView, ids: list[int]) -> None:
    width = view._width  # noqa: SLF001 - the width the view lays messages out at
    widgets = [view.widget_for(i) for i in ids]
    assert all(widget is not None and widget.isVisible() for widget in widgets)
    for widget in widgets:
        needed = widget.height_for_width(width)
        assert widget.height() >= needed, f"message {widget.message_id}: {widget.height()} < {needed}"
        assert widget.height() >= widget.layout().totalHeightForWidth(width)
    for above, below in zip(widgets, widgets[1:], strict=False):
        assert below.geometry().top() >= above.geometry().bottom() + 1, "rows overlap"
        assert below.geometry().top() - above.geometry().bottom() - 1 <= ROW_SPACING
    last = widgets[-1]
    text = last.content_view
    cursor = text.document().find('print("Hello")')
    assert not cursor.isNull()
    rect = text.cursorRect(cursor)
    top_left = text.viewport().mapTo(last, rect.topLeft())
    bottom = text.viewport().mapTo(last, rect.bottomLeft()).y()
    assert top_left.y() >= 0 and bottom < last.height(), "the code block lies outside the message"
    assert text.geometry().bottom() < last.stats_label.geometry().top(), "the stats line covers the text"
    stats = last.stats_label
    assert stats.height() >= stats.heightForWidth(stats.width()), "the stats line is cut off"
    assert stats.geometry().bottom() < last.height()


def _stream(qtbot, view: ChatView, model: MessageModel, reply_id: int = 4) -> None:
    model.append_row(MessageRow(reply_id, "assistant", "", status=STREAMING))
    for start in range(0, len(REPLY), 3):
        model.append_text(REPLY[start : start + 3])
        if start % 12 == 0:
            qtbot.wait(5)
    view.flush()
    assert view.is_following()
    widget = view.widget_for(reply_id)
    assert widget.height() >= widget.height_for_width(view._width), "the growing reply is drawn too short"  # noqa: SLF001
    assert widget.content_view.height() >= widget.content_view.heightForWidth(widget.content_view.width())


@pytest.mark.parametrize("flush_before_reload", [True, False])
def test_a_reloaded_reply_keeps_its_height(qtbot, view, flush_before_reload) -> None:
    model = MessageModel()
    view.set_model(model)
    model.set_thread(
        [MessageRow(r.id, r.role, r.content, stats=r.stats, finish_reason=r.finish_reason) for r in EARLIER]
    )
    _stream(qtbot, view, model)
    model.finish_last(DONE, "stop", LONG_STATS, None)
    if flush_before_reload:
        view.flush()
    rows = [MessageRow(r.id, r.role, r.content, stats=r.stats, finish_reason=r.finish_reason) for r in EARLIER]
    rows.append(MessageRow(4, "assistant", REPLY, stats=LONG_STATS, finish_reason="stop"))
    model.set_thread(rows)
    _settle(qtbot)
    _check_geometry(view, [1, 2, 3, 4])


def test_a_fresh_view_of_the_same_thread_has_the_same_heights(qtbot, view) -> None:
    model = MessageModel()
    view.set_model(model)
    model.set_thread(
        [MessageRow(r.id, r.role, r.content, stats=r.stats, finish_reason=r.finish_reason) for r in EARLIER]
    )
    _stream(qtbot, view, model)
    model.finish_last(DONE, "stop", LONG_STATS, None)
    rows = [MessageRow(r.id, r.role, r.content, stats=r.stats, finish_reason=r.finish_reason) for r in EARLIER]
    rows.append(MessageRow(4, "assistant", REPLY, stats=LONG_STATS, finish_reason="stop"))
    model.set_thread(rows)
    _settle(qtbot)
    reused = [view.widget_for(i).height() for i in (1, 2, 3, 4)]

    fresh = ChatView()
    qtbot.addWidget(fresh)
    fresh.resize(620, 640)
    fresh.show()
    qtbot.waitExposed(fresh)
    other = MessageModel()
    fresh.set_model(other)
    other.set_thread([MessageRow(r.id, r.role, r.content, stats=r.stats, finish_reason=r.finish_reason) for r in rows])
    _settle(qtbot)
    _check_geometry(fresh, [1, 2, 3, 4])
    assert [fresh.widget_for(i).height() for i in (1, 2, 3, 4)] == reused
