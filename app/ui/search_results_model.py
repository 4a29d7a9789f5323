"""The Hub browser's result list as a Qt list model: one row per repository, changed on the GUI thread only.

Before any search it holds the recommended models instead: the same rows, each with its suggestion
(name, download size and fit badge from the curated list and the fit estimate).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.library.hub import SearchQuery, SearchResult
from app.library.recommendations import Suggestion
from engines.inspect import human_size

Index = QModelIndex | QPersistentModelIndex


class ResultRole(IntEnum):
    REPO_ID = Qt.ItemDataRole.UserRole + 1
    FORMAT = Qt.ItemDataRole.UserRole + 2
    DOWNLOADS = Qt.ItemDataRole.UserRole + 3
    RESULT = Qt.ItemDataRole.UserRole + 4
    SUGGESTION = Qt.ItemDataRole.UserRole + 5  # the recommendation behind the row, or None for a search result


class SearchResultsModel(QAbstractListModel):
    """The Hub search's results shown so far, in the order the Hub gave them."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[SearchResult] = []
        self._suggestions: list[Suggestion | None] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, suggestion = self._rows[index.row()], self._suggestions[index.row()]
        if role == Qt.ItemDataRole.DisplayRole and suggestion is not None:
            where = f"{row.repo_id} · {suggestion.variant.label} · {human_size(suggestion.download_bytes)}"
            return f"{suggestion.name} · {suggestion.verdict.badge}\n{where}"
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.repo_id}\n{row.format.upper()} · {row.downloads:,} downloads · {row.likes:,} likes"
        if role == Qt.ItemDataRole.ToolTipRole:
            return suggestion.recommendation.description if suggestion is not None else ", ".join(row.tags)
        if role == ResultRole.SUGGESTION:
            return suggestion
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
            ResultRole.SUGGESTION: b"suggestion",
        }

    def replace(self, rows: list[SearchResult]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._suggestions = [None] * len(self._rows)
        self.endResetModel()

    def show_suggestions(self, suggestions: list[Suggestion]) -> None:
        """The recommended models, in place of search results."""
        self.beginResetModel()
        self._rows = [SearchResult(s.variant.repo_id, s.variant.format) for s in suggestions]
        self._suggestions = list(suggestions)
        self.endResetModel()

    def append(self, rows: list[SearchResult]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self._suggestions.extend([None] * len(rows))
        self.endInsertRows()

    def result(self, row: int) -> SearchResult:
        return self._rows[row]

    def suggestion(self, row: int) -> Suggestion | None:
        return self._suggestions[row]

    def showing_suggestions(self) -> bool:
        return any(s is not None for s in self._suggestions)


def no_results(query: SearchQuery) -> str:
    """What an empty search says to do next."""
    matching = f" match “{query.text}”" if query.text else " match"
    return (
        f"No {' or '.join(f.upper() for f in query.formats)} models on the Hub{matching}. Try fewer or other words, "
        "or another format; clear the search box to see the recommended models."
    )
