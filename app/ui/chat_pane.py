"""The middle of the window: the chat, or (when no conversation is open) the first-run page, and
below them the context gauge and the composer, in a centred column as wide as the chat's text.

`ChatPane` owns only the arrangement: a QStackedWidget between the welcome page and the chat
view, and the column under it, kept in line with the view's message column (the same maximum
width, shifted by the view's scroll bar when it shows).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from app.ui.chat_view import MAX_CONTENT_WIDTH, ChatView

EMPTY_CHAT = (
    "<h2>Start a conversation</h2>"
    "<p>Write a message in the box below and press Enter. Everything stays on this computer.</p>"
    "<p>Your chats are kept in the list on the left; Ctrl+/ lists the keyboard shortcuts.</p>"
)


def empty_page() -> QLabel:
    """What the pane shows with no conversation open, where no welcome page is given."""
    label = QLabel(EMPTY_CHAT)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setAccessibleName("No conversation open")
    label.setMargin(24)
    return label


class ChatPane(QWidget):
    """The stack (welcome page or chat) and the composer's column beneath it."""

    def __init__(
        self, view: ChatView, below: list[QWidget], welcome: QWidget | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.welcome = welcome if welcome is not None else empty_page()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(view)
        self.column = QWidget()
        self.column.setMaximumWidth(MAX_CONTENT_WIDTH)
        column = QVBoxLayout(self.column)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in below:
            column.addWidget(widget)
        self._row = QHBoxLayout()
        self._row.addStretch(1)
        self._row.addWidget(self.column, 100)
        self._row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.addWidget(self.stack, 1)
        layout.addLayout(self._row)
        view.installEventFilter(self)
        view.verticalScrollBar().rangeChanged.connect(lambda *_: self._align())
        self.show_chat(False)

    def show_chat(self, shown: bool) -> None:
        """The chat view (True), or the welcome page: no conversation is open."""
        self.stack.setCurrentWidget(self.view if shown else self.welcome)
        self._align()

    def showing_chat(self) -> bool:
        return self.stack.currentWidget() is self.view

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Resize:
            self._align()
        return False

    def _align(self) -> None:
        """Keep the column under the view's messages: they are centred in the viewport, left of the scroll bar."""
        inset = self.view.width() - self.view.viewport().width() if self.showing_chat() else 0
        self._row.setContentsMargins(6, 0, 6 + inset, 0)
