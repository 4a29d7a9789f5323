"""The composer with real widgets offscreen: Enter sends, Shift+Enter is a new line, Esc stops."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from app.ui.composer import Composer


@pytest.fixture
def window(qtbot) -> tuple[QWidget, Composer, QLineEdit]:
    """A window with the composer and another field, as the main window has (the system prompt)."""
    window = QWidget()
    other = QLineEdit()
    composer = Composer()
    layout = QVBoxLayout(window)
    layout.addWidget(other)
    layout.addWidget(composer)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window, composer, other


def test_enter_sends_the_text_and_keeps_it_until_it_is_taken(qtbot, window) -> None:
    _, composer, _ = window
    composer.input.setPlainText("  What is the capital of France?  ")
    with qtbot.waitSignal(composer.submitted) as sent:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sent.args == ["What is the capital of France?"]
    assert composer.text() == "  What is the capital of France?  "  # the controller has not taken it yet
    composer.clear()
    assert composer.text() == ""
    composer.input.setPlainText("Hi")
    with qtbot.waitSignal(composer.submitted) as sent:
        qtbot.keyClick(composer.input, Qt.Key.Key_Enter)  # the keypad's Enter too
    assert sent.args == ["Hi"]


def test_shift_enter_is_a_new_line_and_an_empty_box_sends_nothing(qtbot, window) -> None:
    _, composer, _ = window
    with qtbot.assertNotEmitted(composer.submitted):
        qtbot.keyClicks(composer.input, "first")
        qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        qtbot.keyClicks(composer.input, "second")
        assert composer.text() == "first\nsecond"
        composer.clear()
        qtbot.keyClicks(composer.input, "   ")
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
        composer.send_button.click()


def test_escape_stops_from_anywhere_in_the_window(qtbot, window) -> None:
    top, composer, other = window
    top.activateWindow()
    composer.input.setFocus()
    qtbot.waitUntil(composer.input.hasFocus)
    with qtbot.waitSignal(composer.stop_requested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Escape)
    other.setFocus()
    qtbot.waitUntil(other.hasFocus)
    with qtbot.waitSignal(composer.stop_requested):
        qtbot.keyClick(other, Qt.Key.Key_Escape)


def test_the_buttons_follow_the_model_and_the_reply(qtbot, window) -> None:
    _, composer, _ = window
    assert not composer.send_button.isEnabled() and not composer.stop_button.isEnabled()
    composer.set_ready(True)
    assert composer.send_button.isEnabled() and not composer.stop_button.isEnabled()
    composer.set_busy(True)
    assert not composer.send_button.isEnabled() and composer.stop_button.isEnabled()
    with qtbot.waitSignal(composer.stop_requested):
        composer.stop_button.click()
    composer.set_busy(False)
    composer.input.setPlainText("Go")
    with qtbot.waitSignal(composer.submitted) as sent:
        composer.send_button.click()
    assert sent.args == ["Go"]
    composer.set_ready(False)
    assert not composer.send_button.isEnabled()
