"""Every keyboard shortcut of the window does its action, pressed as keys on the window; the Help window
lists them all; no two actions share a key."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication

from app.store import branches
from app.ui.main_window import MainWindow
from tests.store.helpers import chat
from tests.ui.conftest import REPLY_TIMEOUT_MS

NATIVE = QKeySequence.SequenceFormat.NativeText


def press(qtbot, window: MainWindow, keys: str | QKeySequence) -> None:  # noqa: ANN001
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keySequence(QApplication.focusWidget() or window, QKeySequence(keys))


def with_a_stored_chat(window: MainWindow) -> int:
    conversation = chat(window.store, ("What is a river?", "Water that flows to the sea."), title="Rivers")
    window.conversations.refresh()
    window.chat.open_conversation(conversation)
    return conversation


def test_the_shortcuts_are_listed_and_none_is_shared(qtbot, window: MainWindow) -> None:
    keys: dict[str, str] = {}
    for action in window.actions.all:
        for key in action.shortcuts():
            text = key.toString(NATIVE)
            assert text not in keys, f"{text} is both {keys[text]!r} and {action.text()!r}"
            keys[text] = action.text()
    window.show_shortcuts()
    listed = window.tool_windows["shortcuts"].rows()
    described = dict(listed)
    for action in window.actions.all:
        if action.shortcuts():
            keys_listed = ", ".join(k.toString(NATIVE) for k in action.shortcuts())
            assert any(
                keys == keys_listed and action.text().rstrip("…").lower() in what.lower()
                for what, keys in described.items()
            ), action.text()
    assert described["Show or hide the chats list"] == "Ctrl+B"
    assert ("Stop the reply being written", "Esc") in listed
    assert set(keys.values()) == TESTED  # a new shortcut gets a test below


TESTED = {
    "New chat",
    "Search chats",
    "Quit",
    "Regenerate the latest reply",
    "Edit your last message",
    "Copy the latest reply",
    "Go to the message box",
    "Chats list",
    "Parameters panel",
    "Larger text",
    "Smaller text",
    "Actual size",
    "Keyboard shortcuts",
    "Compare models…",
}


def test_new_chat_search_and_the_message_box(qtbot, window: MainWindow) -> None:
    with_a_stored_chat(window)
    press(qtbot, window, QKeySequence.StandardKey.Find)
    assert window.sidebar.search.hasFocus()
    press(qtbot, window, "Ctrl+L")
    assert window.composer.input.hasFocus()
    window.sidebar.search.setFocus()
    press(qtbot, window, QKeySequence.StandardKey.New)
    assert window.chat.conversation_id is None and window.chat.messages.rowCount() == 0
    assert window.composer.input.hasFocus() and window.pane.stack.currentWidget() is window.welcome


def test_panels_toggle_from_the_keyboard(qtbot, window: MainWindow) -> None:
    assert window.sidebar.isVisible() and not window.params.isVisible()
    press(qtbot, window, "Ctrl+B")
    assert not window.sidebar.isVisible()
    press(qtbot, window, "Ctrl+B")
    assert window.sidebar.isVisible()
    press(qtbot, window, "Ctrl+Shift+P")
    assert window.params.isVisible()
    press(qtbot, window, "Ctrl+Shift+P")
    assert not window.params.isVisible()


def test_zoom_in_out_and_back(qtbot, window: MainWindow) -> None:
    base = window.view.text_size()
    press(qtbot, window, "Ctrl+=")
    press(qtbot, window, QKeySequence.StandardKey.ZoomIn)
    assert window.view.text_size() == base + 2
    press(qtbot, window, QKeySequence.StandardKey.ZoomOut)
    assert window.view.text_size() == base + 1
    press(qtbot, window, "Ctrl+0")
    assert window.view.text_size() == base


def test_the_shortcuts_window_opens_from_the_keyboard(qtbot, window: MainWindow) -> None:
    press(qtbot, window, "Ctrl+/")
    qtbot.waitUntil(lambda: "shortcuts" in window.tool_windows and window.tool_windows["shortcuts"].isVisible())
    window.tool_windows["shortcuts"].close()


def test_the_compare_view_opens_from_the_keyboard(qtbot, window: MainWindow) -> None:
    press(qtbot, window, "Ctrl+Shift+M")
    qtbot.waitUntil(lambda: "compare" in window.tool_windows and window.tool_windows["compare"].isVisible())
    window.tool_windows["compare"].close()


def test_copy_edit_and_regenerate_the_latest(qtbot, window: MainWindow) -> None:
    conversation = with_a_stored_chat(window)
    mine, reply = (window.chat.messages.row_at(i) for i in range(2))
    press(qtbot, window, "Ctrl+Shift+C")
    assert QGuiApplication.clipboard().text() == "Water that flows to the sea."
    press(qtbot, window, "Ctrl+Shift+E")
    widget = window.view.widget_for(mine.id)
    assert widget is not None and widget.editor is not None
    assert widget.editor.toPlainText() == "What is a river?"
    widget.cancel_editing()
    with qtbot.waitSignal(window.chat.reply_finished, timeout=REPLY_TIMEOUT_MS):
        press(qtbot, window, "Ctrl+R")
    latest = branches.load_thread(window.store, conversation).messages[-1]
    assert latest.id != reply.id and branches.alternatives(window.store, latest.id) == (reply.id, latest.id)


def test_quit_closes_the_window(qtbot, window: MainWindow) -> None:
    press(qtbot, window, "Ctrl+Q")
    qtbot.waitUntil(lambda: not window.isVisible())
