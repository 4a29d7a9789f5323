"""The chat view with real widgets offscreen: streaming, Markdown, actions, branches, errors, scrolling."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette, QTextCursor, QWheelEvent
from PySide6.QtWidgets import QPushButton

from app.ui.chat_theme import DARK_CODE_STYLE, LIGHT_CODE_STYLE
from app.ui.chat_view import ChatView
from app.ui.markdown import COPY_SCHEME
from app.ui.message_model import DONE, ERROR, INTERRUPTED, STREAMING, MessageModel, MessageRow
from engines.base import GenerationStats
from tests.ui.markdown_samples import REPLY

STATS = GenerationStats(prompt_tokens=900, generated_tokens=120, cached_tokens=880, ttft_ms=210.0, generation_tps=31.4)


@pytest.fixture
def chat(qtbot):
    model = MessageModel()
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.set_model(model)
    view.show()
    qtbot.waitExposed(view)
    return view, model


def conversation() -> list[MessageRow]:
    return [
        MessageRow(1, "user", "Show me some Markdown."),
        MessageRow(2, "assistant", REPLY, stats=STATS, finish_reason="stop", sibling_position=2, sibling_count=3),
        MessageRow(3, "user", "Thanks!"),
        MessageRow(
            4,
            "assistant",
            "You're welcome.",
            reasoning="The user said thanks. Reply briefly.",
            stats=STATS,
            finish_reason="stop",
        ),
    ]


def test_streamed_text_appears_in_the_view_coalesced(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation())
    model.append_row(MessageRow(5, "user", "And a long one?"))
    model.append_row(MessageRow(6, "assistant", "", status=STREAMING))
    updates = view.update_count
    for word in ["Here", "is", "**the", "answer**", "you", "wanted,", "streaming", "in."]:
        model.append_text(word + " ")
    widget = view.widget_for(6)
    assert widget is not None
    qtbot.waitUntil(lambda: "the answer" in widget.content_view.toPlainText(), timeout=20_000)
    assert view.update_count - updates <= 2, "deltas are applied together on the view's timer"
    assert widget.stats_label.text() == "Writing…"
    model.finish_last(DONE, "stop", STATS)
    qtbot.waitUntil(lambda: "tokens/s" in widget.stats_label.text(), timeout=20_000)
    text = widget.stats_label.text()
    assert "120 tokens" in text and "880 cached" in text and "0.21 s to first token" in text
    assert "31.4 tokens/s" in text and "finished" in text


def test_markdown_blocks_render_in_a_message(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation()[:2])
    document = view.widget_for(2).content_view.document()
    plain = document.toPlainText()
    assert "**" not in plain and "alpha" in plain and "def greet" in plain
    cursor = document.find("alpha")
    assert cursor.currentTable() is not None
    assert document.find("first item").currentList() is not None


def test_reasoning_is_folded_and_toggles(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation())
    widget = view.widget_for(4)
    assert widget.reasoning_button.isVisible()
    assert widget.reasoning_button.text() == "Reasoning · 6 words"
    assert widget.reasoning_view is None or not widget.reasoning_view.isVisible()
    height = widget.height()
    qtbot.mouseClick(widget.reasoning_button, Qt.MouseButton.LeftButton)
    assert widget.reasoning_view.isVisible()
    assert widget.reasoning_view.toPlainText() == "The user said thanks. Reply briefly."
    qtbot.waitUntil(lambda: widget.height() > height, timeout=20_000)
    qtbot.mouseClick(widget.reasoning_button, Qt.MouseButton.LeftButton)
    assert not widget.reasoning_view.isVisible()


def test_reasoning_streams_as_thinking_first(qtbot, chat) -> None:
    view, model = chat
    model.set_thread([MessageRow(1, "user", "Hi"), MessageRow(2, "assistant", "", status=STREAMING)])
    model.append_text("Hmm, a greeting.", reasoning=True)
    view.flush()
    widget = view.widget_for(2)
    assert widget.reasoning_button.text() == "Thinking…"
    model.append_text("Hello!")
    view.flush()
    assert widget.reasoning_button.text() == "Reasoning · 3 words"


@pytest.mark.parametrize(
    ("message_id", "button", "signal"),
    [
        (2, "regenerate", "regenerate"),
        (2, "delete", "delete"),
        (2, "copy", "copy"),
        (3, "edit", "edit"),
        (3, "delete", "delete"),
    ],
)
def test_actions_emit_their_signal_with_the_message_id(qtbot, chat, message_id, button, signal) -> None:
    view, model = chat
    model.set_thread(conversation())
    widget = view.widget_for(message_id)
    with qtbot.waitSignal(getattr(view, signal)) as blocker:
        qtbot.mouseClick(widget.buttons[button], Qt.MouseButton.LeftButton)
    assert blocker.args == [message_id]


def test_copy_puts_the_message_on_the_clipboard(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation())
    qtbot.mouseClick(view.widget_for(3).buttons["copy"], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "Thanks!"


def test_continue_is_offered_for_interrupted_and_length_stopped_replies(qtbot, chat) -> None:
    view, model = chat
    rows = conversation()
    rows[3].status = INTERRUPTED
    rows[1].finish_reason = "length"
    model.set_thread(rows)
    assert view.widget_for(2).buttons["continue"].isVisible()
    assert "length limit" in view.widget_for(2).stats_label.text()
    widget = view.widget_for(4)
    assert widget.buttons["continue"].isVisible()
    assert "interrupted" in widget.notice_label.text()
    with qtbot.waitSignal(view.continue_) as blocker:
        qtbot.mouseClick(widget.buttons["continue"], Qt.MouseButton.LeftButton)
    assert blocker.args == [4]
    model.update_row(4, status=DONE)
    view.flush()
    assert not widget.buttons["continue"].isVisible()


def test_inline_edit_submits_the_new_text_or_cancels(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation())
    widget = view.widget_for(3)
    with qtbot.waitSignal(view.edit) as blocker:
        qtbot.mouseClick(widget.buttons["edit"], Qt.MouseButton.LeftButton)
    assert blocker.args == [3]
    assert widget.editing and widget.editor.toPlainText() == "Thanks!"
    buttons = {b.text(): b for b in widget.findChildren(QPushButton)}
    qtbot.mouseClick(buttons["Cancel"], Qt.MouseButton.LeftButton)
    assert not widget.editing and widget.content_view.isVisible()

    qtbot.mouseClick(widget.buttons["edit"], Qt.MouseButton.LeftButton)
    widget.editor.setPlainText("Thanks a lot!")
    buttons = {b.text(): b for b in widget.findChildren(QPushButton)}
    with qtbot.waitSignal(view.edit_submitted) as blocker:
        qtbot.mouseClick(buttons["Save && send"], Qt.MouseButton.LeftButton)
    assert blocker.args == [3, "Thanks a lot!"]
    assert not widget.editing


def test_branch_switcher_shows_position_and_emits(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation())
    widget = view.widget_for(2)
    assert widget.branch_label.isVisible() and widget.branch_label.text() == "2/3"
    assert not view.widget_for(4).branch_label.isVisible()
    with qtbot.waitSignal(view.branch_next) as blocker:
        qtbot.mouseClick(widget.branch_next, Qt.MouseButton.LeftButton)
    assert blocker.args == [2]
    with qtbot.waitSignal(view.branch_prev) as blocker:
        qtbot.mouseClick(widget.branch_prev, Qt.MouseButton.LeftButton)
    assert blocker.args == [2]
    model.update_row(2, sibling_position=3)
    view.flush()
    assert widget.branch_label.text() == "3/3" and not widget.branch_next.isEnabled()


def test_code_copy_link_puts_the_code_on_the_clipboard(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation()[:2])
    widget = view.widget_for(2)
    text = widget.content_view
    cursor = QTextCursor(text.document())
    links = []
    block = text.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().anchorHref() == f"{COPY_SCHEME}:1":
                links.append(fragment.position() + 1)
            it += 1
        block = block.next()
    assert links, "the python block has a Copy link"
    cursor.setPosition(links[0])
    point = text.cursorRect(cursor).center()
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(view.code_copied):
        qtbot.mouseClick(text.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert QGuiApplication.clipboard().text() == 'def greet(name: str) -> str:\n    return f"Hello, {name}!"'


def test_links_are_reported_not_opened(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation()[:2])
    text = view.widget_for(2).content_view
    cursor = text.document().find("link")
    cursor.setPosition(cursor.selectionStart() + 1)
    with qtbot.waitSignal(view.link_activated) as blocker:
        qtbot.mouseClick(text.viewport(), Qt.MouseButton.LeftButton, pos=text.cursorRect(cursor).center())
    assert blocker.args == ["https://example.com"]
    assert text.source().isEmpty()  # the browser did not navigate


def test_an_error_row_shows_its_sentence(qtbot, chat) -> None:
    view, model = chat
    model.set_thread([MessageRow(1, "user", "Hi"), MessageRow(2, "assistant", "Hel", status=STREAMING)])
    model.finish_last(ERROR, "error", None, "The engine stopped unexpectedly; the text so far is kept.")
    view.flush()
    widget = view.widget_for(2)
    assert widget.notice_label.isVisible()
    assert widget.notice_label.text() == "⚠ The engine stopped unexpectedly; the text so far is kept."
    assert widget.buttons["regenerate"].text() == "Retry"
    assert widget.content_view.toPlainText() == "Hel"


def test_a_thousand_messages_open_with_a_handful_of_widgets(qtbot, chat) -> None:
    view, model = chat
    rows = [
        MessageRow(i, "user" if i % 2 == 0 else "assistant", f"Message {i}\n\nwith *some* text") for i in range(1000)
    ]
    model.set_thread(rows)
    assert len(view._widgets) < 30
    assert view.widget_for(999) is not None and view.widget_for(0) is None
    bar = view.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0  # opened at the latest message
    bar.setValue(0)
    assert view.widget_for(0) is not None and view.widget_for(0).y() == 0
    assert len(view._widgets) < 30


def test_follows_the_reply_unless_the_user_scrolled_up(qtbot, chat) -> None:
    view, model = chat
    rows = [MessageRow(i, "user" if i % 2 == 0 else "assistant", f"Message {i}") for i in range(60)]
    model.set_thread([*rows, MessageRow(60, "assistant", "", status=STREAMING)])
    bar = view.verticalScrollBar()
    for _ in range(30):
        model.append_text("A line of the reply.\n\n")
    view.flush()
    assert view.is_following() and bar.value() == bar.maximum()

    bar.setValue(bar.maximum() - 400)  # the user scrolls up
    assert not view.is_following()
    top_id = view._anchor[0]
    held = bar.value()
    for _ in range(30):
        model.append_text("More of the reply.\n\n")
    view.flush()
    assert bar.value() == held and view._anchor[0] == top_id  # it stayed where the user was
    bar.setValue(bar.maximum())  # back at the bottom: follow again
    assert view.is_following()
    model.append_text("The end.")
    view.flush()
    assert bar.value() == bar.maximum()


def test_wheel_over_a_message_scrolls_the_view(qtbot, chat) -> None:
    view, model = chat
    model.set_thread([MessageRow(i, "user", f"Message {i}") for i in range(50)])
    bar = view.verticalScrollBar()
    before = bar.value()
    target = view.widget_for(49).content_view.viewport()
    event = QWheelEvent(
        QPointF(5, 5),
        QPointF(target.mapToGlobal(QPoint(5, 5))),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QGuiApplication.sendEvent(target, event)
    assert bar.value() < before


def test_a_branch_switch_keeps_the_place_and_reuses_widgets(qtbot, chat) -> None:
    view, model = chat
    rows = [MessageRow(i, "user" if i % 2 == 0 else "assistant", f"Message {i}\n\ntext") for i in range(60)]
    model.set_thread(rows)
    view.verticalScrollBar().setValue(300)
    top_id = view._anchor[0]
    reused = view.widget_for(top_id)
    switched = [*rows[:41], MessageRow(100, "assistant", "Another branch", sibling_position=2, sibling_count=2)]
    model.set_thread(switched)
    assert not view.is_following() and view._anchor[0] == top_id
    assert view.widget_for(top_id) is reused
    assert 0 <= view.widget_for(top_id).y() + view._anchor[1] < 5
    model.set_thread([MessageRow(500, "user", "A different conversation")])
    assert view.is_following() and view.widget_for(top_id) is None


def test_a_dark_palette_gives_dark_code_colours_and_readable_text(qtbot, chat) -> None:
    view, model = chat
    model.set_thread(conversation()[:2])
    light_widget = view.widget_for(2)
    assert not view.theme.dark and view.theme.code_style == LIGHT_CODE_STYLE
    palette = QPalette(view.palette())
    dark = {"Base": "#1e1e1e", "Text": "#e0e0e0", "Window": "#2b2b2b", "WindowText": "#e0e0e0"}
    for role, colour in dark.items():
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    view.setPalette(palette)
    assert view.theme.dark and view.theme.code_style == DARK_CODE_STYLE
    widget = view.widget_for(2)
    assert widget is not light_widget
    code = widget.content_view.document().find("def greet").block()
    background = code.blockFormat().background().color()
    assert background.lightness() < 80  # a dark code box under light code text
    assert widget.content_view.palette().color(QPalette.ColorRole.Text).lightness() > 180
