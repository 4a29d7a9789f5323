"""Where the person writes: the message box with its Send and Stop buttons.

Enter sends, Shift+Enter starts a new line, Esc (anywhere in the window) stops the reply being
written. The composer only reports: `submitted(text)` and `stop_requested()`. What was typed
stays in the box until the chat controller has taken it (`clear`), so a message the controller
refuses (no model loaded yet) is not lost.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

INPUT_HEIGHT = 84


class Composer(QWidget):
    """The message box and its buttons; whether sending is possible now (a model loaded, no reply
    being written) is set from outside."""

    submitted = Signal(str)  # the text, stripped and not empty
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Message (Enter sends, Shift+Enter for a new line)")
        self.input.setFixedHeight(INPUT_HEIGHT)
        self.input.installEventFilter(self)
        self.send_button = QPushButton("Send")
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_requested)
        # The window's Esc, owned here: it stops the reply whichever widget has the focus.
        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.stop_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.stop_shortcut.activated.connect(self.stop_requested)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.input, 1)
        layout.addLayout(buttons)
        self._ready = False
        self._busy = False

    def text(self) -> str:
        return self.input.toPlainText()

    def clear(self) -> None:
        self.input.clear()

    def focus(self) -> None:
        self.input.setFocus()

    def submit(self) -> None:
        text = self.input.toPlainText().strip()
        if text:
            self.submitted.emit(text)

    def set_ready(self, ready: bool) -> None:
        """Whether a model is loaded."""
        self._ready = ready
        self._show_state()

    def set_busy(self, busy: bool) -> None:
        """Whether a reply is being written."""
        self._busy = busy
        self._show_state()

    def _show_state(self) -> None:
        self.send_button.setEnabled(self._ready and not self._busy)
        self.stop_button.setEnabled(self._busy)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.input and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.submit()
                return True
        return super().eventFilter(watched, event)
