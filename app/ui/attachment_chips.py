"""The files attached to the message being written, as chips above the message box: a file's name and an ×.

A file is taken only if Parlour can read it as a document (app.documents.extract.is_supported, by its name)
and it is a regular file; otherwise `add` answers with one sentence for the status line and the chip is not
made. The chips hold paths only: the files are read when the message is sent, on a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLayout, QLayoutItem, QWidget

from app.ui.icons import icon_button

MOST_FILES = 10  # attached to one message: each is read whole or searched, and the prompt has a budget
NAME_CHARS = 32  # of a file's name on its chip; the whole path is its tooltip


def refusal(path: Path) -> str | None:
    """Why this file cannot be attached, in one sentence; None when it can."""
    from app.documents.extract import is_supported

    name = path.name or str(path)
    if path.is_dir():
        return f"{name} is a folder; add folders to a collection in Models › Documents… instead."
    if not path.is_file():
        what = "is not a regular file" if path.exists() else "does not exist"
        return f"{name} {what}, so it cannot be attached."
    if not is_supported(path):
        return f"{name} is not a kind of file Parlour reads; attach text, Markdown, PDF, Word (.docx), HTML or code."
    if not os.access(path, os.R_OK):
        return f"{name} cannot be read (permission denied); check its permissions."
    return None


def local_files(mime: QMimeData) -> list[Path]:
    """The local files a drop or a paste carries (file URLs; copied files arrive as these too)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class AttachmentChip(QFrame):
    """One attached file: its name, and × to take it off."""

    removed = Signal(object)  # the path

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setFrameShape(QFrame.Shape.StyledPanel)
        name = path.name if len(path.name) <= NAME_CHARS else path.name[: NAME_CHARS - 1] + "…"
        self.label = QLabel(name)
        self.label.setToolTip(str(path))
        self.setAccessibleName(f"Attached: {path.name}")
        self.remove_button = icon_button(
            f"Remove {path.name}", f"Take {path.name} off the message (the file itself stays)", "x"
        )
        self.remove_button.clicked.connect(lambda _checked=False: self.removed.emit(self.path))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        layout.addWidget(self.remove_button)


class AttachmentChips(QWidget):
    """The chips, in a row that hides while there are none."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Attached files")
        self._chips: dict[Path, AttachmentChip] = {}
        self._layout = FlowLayout(self)
        self.setVisible(False)

    def paths(self) -> list[Path]:
        return list(self._chips)

    def add(self, paths: Iterable[Path]) -> str | None:
        """Attach these files; the sentence for the first that was refused, or None when all were taken."""
        problem = None
        for path in paths:
            path = Path(os.path.abspath(path))
            if path in self._chips:
                continue
            refused = refusal(path)
            if refused is None and len(self._chips) >= MOST_FILES:
                refused = f"A message can carry at most {MOST_FILES} files; {path.name} was not attached."
            if refused is not None:
                problem = problem or refused
                continue
            chip = AttachmentChip(path)
            chip.removed.connect(self.remove)
            self._layout.addWidget(chip)
            self._chips[path] = chip
        self._changed()
        return problem

    def remove(self, path: Path) -> None:
        chip = self._chips.pop(path, None)
        if chip is not None:
            chip.hide()
            chip.deleteLater()
            self._changed()

    def clear(self) -> None:
        for path in list(self._chips):
            self.remove(path)

    def _changed(self) -> None:
        self.setVisible(bool(self._chips))
        self.setAccessibleDescription(", ".join(path.name for path in self._chips))
        self.changed.emit()

    def focusable(self) -> list[QWidget]:
        return [chip.remove_button for chip in self._chips.values()]


class FlowLayout(QLayout):
    """Widgets in rows that wrap at the layout's width, as words do (Qt's own flow layout example)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setContentsMargins(0, 0, 0, 0)
        self.setSpacing(spacing)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _place(self, rect: QRect, move: bool) -> int:
        x, y, row_height = rect.x(), rect.y(), 0
        for item in self._items:
            widget = item.widget()
            if widget is not None and widget.isHidden():
                continue
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and row_height > 0:
                x, y, row_height = rect.x(), y + row_height + self.spacing(), 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y()
