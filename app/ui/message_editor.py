"""The inline editor of a message: its text in a box, with Save & send and Cancel.

Ctrl+Enter saves and sends, Esc cancels. It owns only the draft; the message widget puts it in
place of the message's text and hears `submitted(text)` or `cancelled()`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget


class MessageEditor(QWidget):
    """The draft of an edited message and its two buttons."""

    submitted = Signal(str)
    cancelled = Signal()

    def __init__(self, text: str, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = QPlainTextEdit(text)
        self.editor.setAccessibleName("Edit the message")
        self.editor.setAccessibleDescription("Ctrl+Enter saves and sends it as a new branch; Esc cancels.")
        self.editor.setTabChangesFocus(True)
        lines = self.editor.fontMetrics().lineSpacing()
        self.editor.setFixedHeight(max(4 * lines, min(16 * lines, height + 2 * lines)))
        self.editor.installEventFilter(self)
        self.save_button = QPushButton("Save && send")
        self.save_button.setAccessibleName("Save and send")
        self.save_button.setToolTip("Save the new text and send it as a new branch (Ctrl+Enter)")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(lambda: self.submitted.emit(self.editor.toPlainText()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel editing")
        self.cancel_button.clicked.connect(self.cancelled)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.editor)
        box.addLayout(buttons)

    def text(self) -> str:
        return self.editor.toPlainText()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        escape = isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape
        if watched is self.editor and event.type() == QEvent.Type.ShortcutOverride and escape:
            event.accept()  # Esc cancels the edit here; elsewhere in the window it stops a reply
            return True
        if watched is self.editor and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape:
                self.cancelled.emit()
                return True
            enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.submitted.emit(self.editor.toPlainText())
                return True
        return super().eventFilter(watched, event)
