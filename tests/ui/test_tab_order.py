"""Everything is in reach of the keyboard, in an order that follows the window: the toolbar, the chats list,
the conversation and each message (its text, then its actions), the message box and Send, then the
parameters when their panel is open; Tab goes round and comes back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.main_window import MainWindow
from tests.store.helpers import chat


def tab_round(qtbot, window: MainWindow, start: QWidget) -> list[str]:  # noqa: ANN001
    """The accessible names Tab visits from `start` until it comes back to it."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    start.setFocus(Qt.FocusReason.TabFocusReason)
    names = []
    for _ in range(120):
        focused = QApplication.focusWidget()
        names.append(focused.accessibleName())
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
        if QApplication.focusWidget() is start:
            return names
    raise AssertionError(f"Tab did not come back round: {names}")


def test_tab_goes_round_the_window_in_order(qtbot, window: MainWindow) -> None:
    conversation = chat(window.store, ("What is a river?", "Water that flows to the sea."), title="Rivers")
    window.conversations.refresh()
    window.chat.open_conversation(conversation)
    qtbot.waitUntil(lambda: window.view.widget_for(window.chat.messages.row_at(1).id) is not None)
    names = tab_round(qtbot, window, window.sidebar.search)
    assert all(names), names  # everything Tab reaches has a name
    expected_in_order = [
        "Search chats",
        "Chats",
        "Conversation",
        "You: message text",
        "Edit",
        "Assistant: message text",
        "Regenerate",
        "Message",
        "Send",
        "Chats list",
        "New chat",
        "Model",
        "Unload the model",
        "Parameters panel",
        "Models",
    ]
    positions = [names.index(name) for name in expected_in_order]
    assert positions == sorted(positions), names


def test_the_open_parameters_panel_is_in_the_round(qtbot, window: MainWindow) -> None:
    window.actions.toggle_params.setChecked(True)
    names = tab_round(qtbot, window, window.composer.input)
    for field in ("System prompt", "Preset", "Temperature", "Max tokens", "Stop strings", "View prompt"):
        assert field in names, names


def test_the_first_run_page_is_in_the_round(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: bool(window.welcome.suggestions), timeout=30_000)
    names = tab_round(qtbot, window, window.composer.input)
    assert any(name.startswith("Ask: ") for name in names), names
    assert any(name.startswith("Download ") for name in names), names
    assert "More models on the Hugging Face Hub" in names


def test_an_icon_buttons_tooltip_shows_when_tab_reaches_it(qtbot, window: MainWindow) -> None:
    from PySide6.QtWidgets import QToolTip

    conversation = chat(window.store, ("What is a river?", "Water that flows to the sea."), title="Tips")
    window.chat.open_conversation(conversation)
    reply = window.chat.messages.row_at(1).id
    qtbot.waitUntil(lambda: window.view.widget_for(reply) is not None)
    widget = window.view.widget_for(reply)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    widget.content_view.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(widget.content_view, Qt.Key.Key_Tab)
    copy = widget.actions.buttons["copy"]
    assert copy.hasFocus() and copy.isVisible()  # the actions show while the message holds the focus
    qtbot.waitUntil(QToolTip.isVisible)
    assert QToolTip.text() == copy.toolTip()
    qtbot.keyClick(copy, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: QToolTip.text() == widget.actions.buttons["regenerate"].toolTip())
