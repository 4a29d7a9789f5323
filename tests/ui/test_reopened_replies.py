"""Stored conversations with long replies, reopened: every message shows its whole text at the row's height.

A reopened reply is new to the view: its widget is made and measured before it has ever had a
width. Each message's text must still be as tall as its document laid out at the text's width
(no line cut off, no text scrolled inside the message), the message no taller than its parts (no
blank band), and each widget where the row offsets say it is; at several widths, and after a resize.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.store import branches
from app.store.conversations import create_conversation
from app.store.db import Store, open_store
from app.store.messages import add_user_message
from app.store.replies import mark_interrupted_replies, start_reply
from app.ui.chat_view import ROW_SPACING, ChatView
from app.ui.message_model import MessageModel
from app.ui.message_rows import rows_from_thread
from app.ui.message_widget import MessageWidget
from engines.base import GenerationStats
from tests.ui.markdown_samples import REPLY, long_code_reply, long_list_reply

PROSE = (
    "The first paragraph of an answer that was cut off when the app was killed: it runs on for a while, "
    "so that it wraps over many lines at any width the window may have. "
) * 8
STATS = GenerationStats(prompt_tokens=44, generated_tokens=542, ttft_ms=180.0, generation_tps=84.0)


def _finished(store: Store, conversation_id: int, question: str, answer: str) -> None:
    user = add_user_message(store, conversation_id, question)
    writer = start_reply(store, conversation_id, user.id, model="starter")
    writer.append(answer)
    assert writer.finish("stop", STATS)


def _interrupted(store: Store, conversation_id: int, question: str, answer: str) -> None:
    """A reply the app was writing when it was killed: checkpointed, never finished."""
    user = add_user_message(store, conversation_id, question)
    writer = start_reply(store, conversation_id, user.id, model="starter")
    writer.append(answer)
    writer.flush()


@pytest.fixture
def stored(tmp_path: Path):
    store = open_store(tmp_path / "parlour.db")
    markdown = create_conversation(store, title="Markdown").id
    _finished(store, markdown, "Show me Markdown.", REPLY)
    _finished(store, markdown, "And code?", long_code_reply(30))
    _finished(store, markdown, "A list?", long_list_reply(25))
    _finished(store, markdown, "All of it again, twice.", f"{REPLY}\n\n{PROSE}\n\n{REPLY}")
    cut = create_conversation(store, title="Cut off").id
    _finished(store, cut, "Hello?", "Hello! How can I help?")
    _interrupted(store, cut, "Tell me a long story.", f"{PROSE}\n\n{PROSE}\n\n## Then\n\n{PROSE}")
    assert mark_interrupted_replies(store) == 1
    yield store, (markdown, cut)
    store.close()


def _settle(qtbot) -> None:
    """Deliver what the view posted (resizes, layout requests), a few rounds deep."""
    for _ in range(3):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


def _check_message(view: ChatView, widget: MessageWidget, position: int) -> None:
    text = widget.content_view
    document = text.document()
    assert document.textWidth() == text.viewport().width(), "the text is laid out at another width"
    needed = math.ceil(document.size().height())
    where = f"message {widget.message_id} at width {view.width()}"
    assert text.height() >= needed, f"{where}: its last lines are cut off ({text.height()} < {needed})"
    assert text.height() - needed <= 2, f"{where}: a blank band inside the text"
    assert text.verticalScrollBar().value() == 0, f"{where}: the text begins mid-way"
    parts = [w for w in (widget.role_label, text, widget.notice_label, widget.stats_label) if w.isVisible()]
    spacing = widget.layout().spacing()
    for above, below in zip(parts, parts[1:], strict=False):
        gap = below.geometry().top() - above.geometry().bottom() - 1
        assert gap <= spacing + 2, f"{where}: a blank band of {gap} px between its parts"
    bottom = widget.height() - parts[-1].geometry().bottom() - 1
    assert bottom <= widget.layout().contentsMargins().bottom() + 2, f"{where}: a blank band at its foot"
    scroll = view.verticalScrollBar().value()
    assert widget.y() == view._heights.top(position) - scroll, f"{where}: not where the row offsets say"  # noqa: SLF001
    assert widget.height() == view._heights[position] - ROW_SPACING  # noqa: SLF001


def _check_every_message(qtbot, view: ChatView, model: MessageModel) -> int:
    """Scroll from the top to the bottom and check each message on screen; returns how many were checked."""
    bar = view.verticalScrollBar()
    bar.setValue(0)
    checked: set[int] = set()
    while True:
        _settle(qtbot)
        for position in range(model.rowCount()):
            widget = view.widget_for(model.row_at(position).id)
            if widget is not None and widget.isVisible() and widget.geometry().intersects(view.viewport().rect()):
                _check_message(view, widget, position)
                checked.add(position)
        if bar.value() >= bar.maximum():
            return len(checked)
        bar.setValue(bar.value() + view.viewport().height() // 2)


@pytest.mark.parametrize("width", [500, 800, 1400])
def test_reopened_replies_show_their_whole_text(qtbot, stored, width: int) -> None:
    store, conversations = stored
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(width, 700)
    model = MessageModel()
    view.set_model(model)
    view.show()
    qtbot.waitExposed(view)
    for conversation_id in conversations:
        thread = branches.load_thread(store, conversation_id)
        model.set_thread(rows_from_thread(thread))
        assert _check_every_message(qtbot, view, model) == model.rowCount()
        view.resize(width + 173, 640)
        assert _check_every_message(qtbot, view, model) == model.rowCount()
        view.resize(width, 700)
    interrupted = view.widget_for(model.row_at(model.rowCount() - 1).id)
    assert interrupted is not None and "interrupted" in interrupted.notice_label.text()
