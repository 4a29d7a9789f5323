"""The Hub browser's result list as a Qt list model: one row per repository, changed on the GUI thread only."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.library.hub import SearchResult

Index = QModelIndex | QPersistentModelIndex


class ResultRole(IntEnum):
    REPO_ID = Qt.ItemDataRole.UserRole + 1
    FORMAT = Qt.ItemDataRole.UserRole + 2
    DOWNLOADS = Qt.ItemDataRole.UserRole + 3
    RESULT = Qt.ItemDataRole.UserRole + 4


class SearchResultsModel(QAbstractListModel):
    """The Hub search's results shown so far, in the order the Hub gave them."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[SearchResult] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.repo_id}\n{row.format.upper()} · {row.downloads:,} downloads · {row.likes:,} likes"
        if role == Qt.ItemDataRole.ToolTipRole:
            return ", ".join(row.tags)
        if role == ResultRole.REPO_ID:
            return row.repo_id
        if role == ResultRole.FORMAT:
            return row.format
        if role == ResultRole.DOWNLOADS:
            return row.downloads
        if role == ResultRole.RESULT:
            return row
        return None

    def roleNames(self) -> dict[int, bytes]:
        return {
            **super().roleNames(),
            ResultRole.REPO_ID: b"repoId",
            ResultRole.FORMAT: b"format",
            ResultRole.DOWNLOADS: b"downloads",
            ResultRole.RESULT: b"result",
        }

    def replace(self, rows: list[SearchResult]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def append(self, rows: list[SearchResult]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def result(self, row: int) -> SearchResult:
        return self._rows[row]
