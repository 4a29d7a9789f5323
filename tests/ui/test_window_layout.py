"""The window's layout as a person meets it: a centred text column of bounded width at any window size,
the parameters panel collapsed on first run and remembered, the chat's text size remembered, and the
context gauge showing the open conversation (counted by the model's tokenizer) and following the draft."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.store.db import open_store
from app.ui.chat_theme import TEXT_COLUMN_PX
from app.ui.chat_view import MAX_CONTENT_WIDTH
from app.ui.main_window import MainWindow
from tests.store.helpers import chat
from tests.ui.conftest import LOAD_TIMEOUT_MS
from tests.ui.markdown_samples import REPLY

LONG = ("A line of prose that runs on and on so that it would fill any width it was given. " * 12).strip()


def open_window(qtbot, store) -> MainWindow:  # noqa: ANN001
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.mark.parametrize("width", [1000, 2500])
def test_the_text_column_stays_within_its_maximum_width_and_centred(qtbot, window: MainWindow, width: int) -> None:
    conversation = chat(window.store, ("Tell me everything.", f"{LONG}\n\n{REPLY}"), ("More?", LONG), title="Wide")
    window.conversations.refresh()
    window.chat.open_conversation(conversation)
    window.resize(width, 900)
    qtbot.waitUntil(lambda: window.view.widget_for(window.chat.messages.row_at(1).id) is not None)
    for _ in range(3):  # the resize's layout requests, delivered
        QApplication.sendPostedEvents()
        QApplication.processEvents()
    viewport = window.view.viewport()
    shown = [w for w in viewport.findChildren(type(window.view.widget_for(window.chat.messages.row_at(1).id)))]
    assert shown
    for message in shown:
        if not message.isVisible():
            continue
        assert message.width() <= MAX_CONTENT_WIDTH
        assert message.content_view.width() <= TEXT_COLUMN_PX
        left, right = message.x(), viewport.width() - message.x() - message.width()
        assert abs(left - right) <= 1, (left, right)  # centred in the pane
    if width == 2500:
        assert viewport.width() > 2 * MAX_CONTENT_WIDTH  # the limit, not the pane, set the width above
        assert window.pane.column.width() <= MAX_CONTENT_WIDTH  # the composer keeps to the same column
        composer_centre = window.pane.column.mapTo(window, window.pane.column.rect().center()).x()
        chat_centre = viewport.mapTo(window, viewport.rect().center()).x()
        assert abs(composer_centre - chat_centre) <= 2


def test_the_parameters_panel_is_collapsed_on_first_run_and_then_remembered(qtbot, tmp_path: Path) -> None:
    store = open_store(tmp_path / "parlour.db")
    first = open_window(qtbot, store)
    assert not first.params.isVisible() and not first.actions.toggle_params.isChecked()
    assert first.sidebar.isVisible()
    first.actions.toggle_params.trigger()
    first.actions.toggle_sidebar.trigger()
    assert first.params.isVisible() and not first.sidebar.isVisible()
    first.close()
    second = open_window(qtbot, store)
    assert second.params.isVisible() and second.actions.toggle_params.isChecked()
    assert not second.sidebar.isVisible()
    second.actions.toggle_params.trigger()
    second.close()
    third = open_window(qtbot, store)
    assert not third.params.isVisible()
    third.close()
    store.close()


def test_the_chat_text_size_is_zoomed_and_remembered(qtbot, tmp_path: Path) -> None:
    store = open_store(tmp_path / "parlour.db")
    first = open_window(qtbot, store)
    base = first.view.text_size()
    first.actions.zoom_in.trigger()
    first.actions.zoom_in.trigger()
    assert first.view.text_size() == pytest.approx(base + 2)
    assert first.view.theme.font.pointSizeF() == pytest.approx(base + 2)
    first.close()
    second = open_window(qtbot, store)
    assert second.view.text_size() == pytest.approx(base + 2)
    second.actions.zoom_out.trigger()
    assert second.view.text_size() == pytest.approx(base + 1)
    second.actions.zoom_reset.trigger()
    assert second.view.text_size() == pytest.approx(base)
    second.close()
    store.close()


def test_the_gauge_shows_a_reopened_conversation_and_follows_the_draft(qtbot, window: MainWindow) -> None:
    conversation = chat(window.store, ("What is a river?", LONG), ("And a lake?", REPLY), title="Sizes")
    window.conversations.refresh()
    capacity = window.session.context_length
    with qtbot.waitSignal(window.counter.counted, timeout=LOAD_TIMEOUT_MS) as counted:
        window.chat.open_conversation(conversation)
    # The engine's own count of the same messages, with the model's template and tokenizer.
    expected = len(window.session.bridge.client.tokenize(window.chat.engine_messages()))
    assert counted.args[0] == expected > 300
    assert window.context_gauge.value() == expected
    assert window.context_gauge.text() == f"Context: {expected:,} of {capacity:,} tokens"
    with qtbot.waitSignal(window.counter.counted, timeout=LOAD_TIMEOUT_MS) as drafted:
        qtbot.keyClicks(window.composer.input, "one more question about the sea and its tides")
    assert drafted.args[0] > expected
    assert window.context_gauge.value() == drafted.args[0]
    with qtbot.waitSignal(window.counter.counted, timeout=LOAD_TIMEOUT_MS) as cleared:
        window.composer.input.clear()
    assert cleared.args[0] == expected


def test_the_gauge_is_counted_off_the_gui_thread(qtbot, window: MainWindow) -> None:
    """Asking for a count returns at once; the answer arrives later as a signal."""
    conversation = chat(window.store, ("Hello?", LONG), title="Async")
    window.chat.open_conversation(conversation)
    window.counter.count_now()
    asked = window.counter._asked
    assert asked is not None  # a question is out and nothing was answered yet
    qtbot.waitUntil(lambda: window.counter._asked is None, timeout=LOAD_TIMEOUT_MS)
    assert window.context_gauge.value() > 0


def test_example_prompt_in_the_window_sends_it(qtbot, window: MainWindow) -> None:
    assert window.pane.stack.currentWidget() is window.welcome
    button = window.welcome.prompt_buttons[0]
    with qtbot.waitSignal(window.chat.reply_finished, timeout=120_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    first = window.chat.messages.row_at(0)
    assert first.role == "user" and first.content == button.text()
    assert window.chat.messages.row_at(1).role == "assistant" and window.chat.messages.row_at(1).content
    assert window.pane.showing_chat() and window.chat.conversation_id is not None
