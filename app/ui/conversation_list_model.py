"""The sidebar's list: conversations grouped by date (pinned first), or search hits.

Group headers are rows of their own so the view stays a plain list; they cannot be
selected. Rows change only on the GUI thread: in place when the list keeps its shape (a title
or a time changed), through a reset when rows come, go or move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QByteArray, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

Index = QModelIndex | QPersistentModelIndex


class ConversationRole(IntEnum):
    ConversationId = Qt.ItemDataRole.UserRole + 1
    Kind = Qt.ItemDataRole.UserRole + 2  # "header", "conversation" or "hit"
    Pinned = Qt.ItemDataRole.UserRole + 3
    MessageId = Qt.ItemDataRole.UserRole + 4


@dataclass(frozen=True)
class ConversationRow:
    """One line of the list: a group header, a conversation, or a search hit."""

    kind: str
    text: str
    conversation_id: int | None = None
    pinned: bool = False
    message_id: int | None = None
    tooltip: str = ""


def date_group(updated: datetime, now: datetime) -> str:
    local_updated = updated.astimezone()
    today = now.astimezone().date()
    day = local_updated.date()
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day > today - timedelta(days=7):
        return "Previous 7 days"
    if day > today - timedelta(days=30):
        return "Previous 30 days"
    return "Older"


def grouped_rows(conversations: list[Any], now: datetime | None = None) -> list[ConversationRow]:
    """Headers and conversation rows: pinned first, then by date group, newest first within each."""
    now = now or datetime.now(UTC)
    rows: list[ConversationRow] = []
    pinned = [c for c in conversations if c.pinned]
    if pinned:
        rows.append(ConversationRow("header", "Pinned"))
        rows.extend(ConversationRow("conversation", row_label(c), c.id, True) for c in pinned)
    current = None
    for conversation in (c for c in conversations if not c.pinned):
        group = date_group(conversation.updated_at, now)
        if group != current:
            rows.append(ConversationRow("header", group))
            current = group
        rows.append(ConversationRow("conversation", row_label(conversation), conversation.id))
    return rows


def row_label(conversation: Any) -> str:
    """The line a conversation is listed under; a comparison says it is one."""
    title = conversation.title or "New chat"
    return f"Comparison · {title}" if getattr(conversation, "kind", "chat") == "comparison" else title


class ConversationListModel(QAbstractListModel):
    """The sidebar's rows, as the presenter last set them."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[ConversationRow] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.text
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip or (row.text if row.kind != "header" else None)
        if role == Qt.ItemDataRole.FontRole and row.kind == "header":
            font = QFont()
            font.setBold(True)
            font.setPointSizeF(max(font.pointSizeF() - 1, 7))
            return font
        if role == ConversationRole.ConversationId:
            return row.conversation_id
        if role == ConversationRole.Kind:
            return row.kind
        if role == ConversationRole.Pinned:
            return row.pinned
        if role == ConversationRole.MessageId:
            return row.message_id
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._rows[index.row()].kind == "header":
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def roleNames(self) -> dict[int, QByteArray]:
        names = {role.value: QByteArray(role.name.encode()) for role in ConversationRole}
        return {**super().roleNames(), **names}

    def set_rows(self, rows: list[ConversationRow]) -> None:
        """Show these rows: changed ones in place if every row keeps its place, else with a reset."""
        rows = list(rows)
        same_places = len(rows) == len(self._rows) and all(
            (new.kind, new.conversation_id) == (old.kind, old.conversation_id)
            for new, old in zip(rows, self._rows, strict=True)
        )
        if not same_places:
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
            return
        for position, (new, old) in enumerate(zip(rows, self._rows, strict=True)):
            if new != old:
                self._rows[position] = new
                index = self.index(position)
                self.dataChanged.emit(index, index)

    def row_for(self, conversation_id: int) -> int:
        for i, row in enumerate(self._rows):
            if row.kind == "conversation" and row.conversation_id == conversation_id:
                return i
        return -1

    def rows(self) -> list[ConversationRow]:
        return list(self._rows)
