"""Where the person writes: the message box, with Send beside it (Stop in its place while a reply
is being written).

Enter sends, Shift+Enter starts a new line, Tab moves on (it does not type a tab), Esc
(anywhere in the window) stops the reply being written. The composer only reports:
`submitted(text)` and `stop_requested()`. What was typed stays in the box until the chat
controller has taken it (`clear`), so a message the controller refuses (no model loaded yet) is
not lost.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from app.ui.icons import action_icon

INPUT_LINES = 3  # the message box's height, in lines of its font


class Composer(QWidget):
    """The message box and its buttons; whether sending is possible now (a model loaded, no reply
    being written) is set from outside."""

    submitted = Signal(str)  # the text, stripped and not empty
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Write a message… (Enter sends, Shift+Enter starts a new line)")
        self.input.setAccessibleName("Message")
        self.input.setAccessibleDescription("Enter sends the message; Shift+Enter starts a new line.")
        self.input.setTabChangesFocus(True)
        margins = self.input.contentsMargins()
        frame = 2 * (self.input.frameWidth() + int(self.input.document().documentMargin())) + margins.top()
        self.input.setFixedHeight(INPUT_LINES * self.input.fontMetrics().lineSpacing() + frame + margins.bottom())
        self.input.installEventFilter(self)
        side = self.fontMetrics().height()
        self.send_button = QPushButton(action_icon("arrow-up"), "Send")
        self.send_button.setAccessibleName("Send")
        self.send_button.setToolTip("Send the message (Enter)")
        self.send_button.setIconSize(QSize(side, side))
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton(action_icon("square"), "Stop")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.setToolTip("Stop the reply being written (Esc)")
        self.stop_button.setIconSize(QSize(side, side))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_requested)
        # The window's Esc, owned here: it stops the reply whichever widget has the focus.
        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.stop_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.stop_shortcut.activated.connect(self.stop_requested)
        buttons = QVBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.input, 1)
        layout.addLayout(buttons)
        self._ready = False
        self._busy = False
        self._show_state()

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
        # One button at a time, in the same place: Stop while a reply is written, Send otherwise.
        self.stop_button.setVisible(self._busy)
        self.send_button.setVisible(not self._busy)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.input and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.submit()
                return True
        return super().eventFilter(watched, event)
