"""The messages of the shown thread, as a Qt list model.

Owned and changed only by the chat controller, on the GUI thread: it fills the model from the
store when a thread is opened (`set_thread`), adds the user's message and the reply being written
(`append_row`), feeds the reply's deltas (`append_text`, cheap: one string append and one
dataChanged for one row and one role), and settles the reply's row in place from the store
(`update_row`). Every change says which roles changed, so the view redraws only what it must.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QByteArray, QModelIndex, QPersistentModelIndex, Qt

from app.documents.passages import Citation
from engines.base import GenerationStats

STREAMING = "streaming"
DONE = "done"
INTERRUPTED = "interrupted"
ERROR = "error"
STATUSES = (STREAMING, DONE, INTERRUPTED, ERROR)

Index = QModelIndex | QPersistentModelIndex


@dataclass
class MessageRow:
    """One message as the view shows it."""

    id: Any  # the store's message id
    role: str  # "user", "assistant" or "system"
    content: str = ""
    reasoning: str = ""  # a thinking model's reasoning, shown folded
    status: str = DONE  # streaming, done, interrupted or error
    error: str | None = None  # one plain sentence when status is "error"
    stats: GenerationStats | None = None  # the engine's figures, as the store keeps them
    finish_reason: str | None = None  # stop, length, cancelled or error; None while streaming
    sibling_position: int = 1  # this message is branch `sibling_position` of `sibling_count` (1-based)
    sibling_count: int = 1
    tool_calls: tuple[dict[str, Any], ...] = ()  # the calls a reply made, or the one a tool result answers
    attachments: tuple[str, ...] = ()  # your message's attached files (absolute paths)
    citations: tuple[Citation, ...] = ()  # the sources a reply's prompt was given, numbered as there


class MessageRoles(IntEnum):
    ID = Qt.ItemDataRole.UserRole + 1
    ROLE = Qt.ItemDataRole.UserRole + 2
    CONTENT = Qt.ItemDataRole.UserRole + 3
    REASONING = Qt.ItemDataRole.UserRole + 4
    STATUS = Qt.ItemDataRole.UserRole + 5
    ERROR = Qt.ItemDataRole.UserRole + 6
    STATS = Qt.ItemDataRole.UserRole + 7
    SIBLING_POSITION = Qt.ItemDataRole.UserRole + 8
    SIBLING_COUNT = Qt.ItemDataRole.UserRole + 9
    ROW = Qt.ItemDataRole.UserRole + 10  # the MessageRow itself, for the view; treat it as read-only
    FINISH_REASON = Qt.ItemDataRole.UserRole + 11
    TOOL_CALLS = Qt.ItemDataRole.UserRole + 12
    ATTACHMENTS = Qt.ItemDataRole.UserRole + 13
    CITATIONS = Qt.ItemDataRole.UserRole + 14


_ROLE_OF_FIELD = {
    "id": MessageRoles.ID,
    "role": MessageRoles.ROLE,
    "content": MessageRoles.CONTENT,
    "reasoning": MessageRoles.REASONING,
    "status": MessageRoles.STATUS,
    "error": MessageRoles.ERROR,
    "stats": MessageRoles.STATS,
    "sibling_position": MessageRoles.SIBLING_POSITION,
    "sibling_count": MessageRoles.SIBLING_COUNT,
    "finish_reason": MessageRoles.FINISH_REASON,
    "tool_calls": MessageRoles.TOOL_CALLS,
    "attachments": MessageRoles.ATTACHMENTS,
    "citations": MessageRoles.CITATIONS,
}
_FIELD_OF_ROLE = {int(role): name for name, role in _ROLE_OF_FIELD.items()}
_FIELD_NAMES = {f.name for f in fields(MessageRow)}


class MessageModel(QAbstractListModel):
    """The shown thread's rows, in order, and an index of their positions by message id."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[MessageRow] = []
        self._row_of_id: dict[Any, int] = {}

    # --- reading ------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.content
        if role == MessageRoles.ROW:
            return row
        name = _FIELD_OF_ROLE.get(role)
        return getattr(row, name) if name else None

    def roleNames(self) -> dict[int, QByteArray]:
        names = {int(role): QByteArray(role.name.lower().encode()) for role in MessageRoles}
        names[int(Qt.ItemDataRole.DisplayRole)] = QByteArray(b"display")
        return names

    def row_at(self, position: int) -> MessageRow:
        return self._rows[position]

    def row_of(self, message_id: Any) -> int | None:
        """The position of a message in the thread, or None."""
        return self._row_of_id.get(message_id)

    def find(self, message_id: Any) -> MessageRow | None:
        position = self._row_of_id.get(message_id)
        return None if position is None else self._rows[position]

    def last(self) -> MessageRow | None:
        return self._rows[-1] if self._rows else None

    # --- changing (GUI thread only) -----------------------------------------------------------------

    def set_thread(self, rows: list[MessageRow]) -> None:
        """Show another thread (or the same after a branch switch): one reset, no per-row signals."""
        self.beginResetModel()
        self._rows = list(rows)
        self._reindex()
        self.endResetModel()

    def append_row(self, row: MessageRow) -> None:
        if row.id in self._row_of_id:
            raise ValueError(f"message {row.id!r} is already shown")
        position = len(self._rows)
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.append(row)
        self._row_of_id[row.id] = position
        self.endInsertRows()

    def append_text(self, text: str, reasoning: bool = False) -> None:
        """Add a delta to the last message: its reply text, or its reasoning."""
        if not text or not self._rows:
            return
        row = self._rows[-1]
        if reasoning:
            row.reasoning += text
            roles: list[int] = [MessageRoles.REASONING]
        else:
            row.content += text
            roles = [MessageRoles.CONTENT, Qt.ItemDataRole.DisplayRole]
        index = self.index(len(self._rows) - 1)
        self.dataChanged.emit(index, index, roles)

    def finish_last(
        self,
        status: str,
        finish_reason: str | None = None,
        stats: GenerationStats | None = None,
        error: str | None = None,
    ) -> None:
        """The reply has ended (done, interrupted or error) with the engine's stats."""
        if not self._rows:
            return
        changes = {"status": status, "finish_reason": finish_reason, "stats": stats, "error": error}
        self._apply(len(self._rows) - 1, changes)

    def update_row(self, message_id: Any, **changes: Any) -> None:
        """Change some fields of one message, e.g. update_row(7, sibling_position=2, sibling_count=3)."""
        unknown = set(changes) - _FIELD_NAMES
        if unknown or "id" in changes:
            raise TypeError(f"cannot change {sorted(unknown | ({'id'} & set(changes)))} of a message row")
        position = self._row_of_id.get(message_id)
        if position is None:
            raise KeyError(message_id)
        self._apply(position, changes)

    def remove_row(self, message_id: Any) -> None:
        position = self._row_of_id.get(message_id)
        if position is None:
            raise KeyError(message_id)
        self.beginRemoveRows(QModelIndex(), position, position)
        del self._rows[position]
        self._reindex()
        self.endRemoveRows()

    def _apply(self, position: int, changes: dict[str, Any]) -> None:
        row = self._rows[position]
        roles: list[int] = []
        for name, value in changes.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                roles.append(_ROLE_OF_FIELD[name])
        if roles:
            index = self.index(position)
            if MessageRoles.CONTENT in roles:
                roles.append(Qt.ItemDataRole.DisplayRole)
            self.dataChanged.emit(index, index, roles)

    def _reindex(self) -> None:
        self._row_of_id = {row.id: position for position, row in enumerate(self._rows)}
