"""The conversation sidebar: a debounced full-text search box, the list, and a line that says
what to do when there is nothing to list (no chats yet, or nothing found). New chat is on the
window's toolbar.

It shows what it is given and reports what the user asks for; the conversation list's
presenter fills it and talks to the store.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.conversation_list_model import ConversationListModel, ConversationRole

SEARCH_DEBOUNCE_MS = 250


class Sidebar(QWidget):
    """The list's widgets and its model; the rows come from ConversationListPresenter."""

    conversation_chosen = Signal(int)
    search_changed = Signal(str)  # debounced; "" means show the list again
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)
    pin_toggled = Signal(int, bool)
    undo_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.model = ConversationListModel()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search chats")
        self.search.setAccessibleName("Search chats")
        self.search.setAccessibleDescription("Finds words in every message; the list shows the matches.")
        self.search.setClearButtonEnabled(True)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(lambda: self.search_changed.emit(self.search.text().strip()))
        self.search.textChanged.connect(lambda _text: self._debounce.start())
        self.list = QListView()
        self.list.setAccessibleName("Chats")
        self.list.setAccessibleDescription("Your conversations, newest first; Enter opens one, the menu key renames.")
        self.list.setModel(self.model)
        # Long titles are elided, not scrolled sideways; search hits wrap to show their snippet.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setWordWrap(True)
        self.list.setSpacing(1)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.clicked.connect(self._chosen)
        self.list.activated.connect(self._chosen)
        self.undo_bar = QPushButton("")
        self.undo_bar.setAccessibleName("Undo the delete")
        self.undo_bar.setAccessibleDescription("Bring back the chat you just deleted")
        self.undo_bar.setFlat(True)
        self.undo_bar.setVisible(False)
        self.undo_bar.clicked.connect(self.undo_requested)
        self.empty_note = QLabel("")
        self.empty_note.setWordWrap(True)
        self.empty_note.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 0, 6)
        layout.addWidget(self.search)
        layout.addWidget(self.empty_note)  # under the search box, where the eye goes first
        layout.addWidget(self.list, 1)
        layout.addWidget(self.undo_bar)

    def _chosen(self, index: QModelIndex) -> None:
        conversation_id = index.data(ConversationRole.ConversationId)
        if conversation_id is not None:
            self.conversation_chosen.emit(int(conversation_id))

    def select(self, conversation_id: int | None) -> None:
        row = self.model.row_for(conversation_id) if conversation_id is not None else -1
        if row >= 0:
            self.list.setCurrentIndex(self.model.index(row))
        else:
            self.list.clearSelection()

    def show_undo(self, text: str | None) -> None:
        self.undo_bar.setVisible(bool(text))
        self.undo_bar.setText(f"{text} — Undo" if text else "")

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _menu(self, position: QPoint) -> None:
        index = self.list.indexAt(position)
        conversation_id = index.data(ConversationRole.ConversationId)
        if conversation_id is None or index.data(ConversationRole.Kind) != "conversation":
            return
        menu = QMenu(self)
        pinned = bool(index.data(ConversationRole.Pinned))
        rename = menu.addAction("Rename…")
        pin = menu.addAction("Unpin" if pinned else "Pin")
        delete = menu.addAction("Delete")
        chosen = menu.exec(self.list.viewport().mapToGlobal(position))
        if chosen is rename:
            self.ask_rename(int(conversation_id), str(index.data()))
        elif chosen is pin:
            self.pin_toggled.emit(int(conversation_id), not pinned)
        elif chosen is delete:
            self.delete_requested.emit(int(conversation_id))

    def ask_rename(self, conversation_id: int, current: str) -> None:
        title, ok = QInputDialog.getText(self, "Rename chat", "Title:", text=current)
        if ok and title.strip():
            self.rename_requested.emit(conversation_id, title.strip())

    def set_note(self, text: str, *_: Any) -> None:
        """What to do next when the list is empty ("" hides it)."""
        self.empty_note.setText(text)
        self.empty_note.setVisible(bool(text))
