"""The composer's Documents button: which document collections the chat searches for every question.

Its menu lists the collections (read on a worker thread each time it opens, so a new collection shows at
once and the window never waits on the index), each with a tick; ticking one emits `chosen` with the new
choice. "Manage collections…" opens the Documents window. The button shows how many are chosen.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton, QWidget

from app.ui.background import run_in_background
from app.ui.collection_updates import collection_names
from app.ui.icons import icon_button

DESCRIPTION = "Choose the document collections this chat searches for every question"


class CollectionsButton(QWidget):
    """A tool button with a menu of collections to tick."""

    chosen = Signal(list)  # the names now ticked
    manage_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button: QToolButton = icon_button("Documents", DESCRIPTION, "book-open")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.button)
        self.menu.aboutToShow.connect(self.refresh)
        self.button.setMenu(self.menu)
        self.names: list[str] = []  # the collections there are, as last read
        self.ticked: list[str] = []
        self._fill()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)

    def show_chosen(self, names: Sequence[str]) -> None:
        """The shown chat's choice (another chat was opened, or this one saved its choice)."""
        self.ticked = sorted(names)
        count = len(self.ticked)
        self.button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon if count else Qt.ToolButtonStyle.ToolButtonIconOnly
        )
        self.button.setText(f"{count}" if count else "Documents")
        chosen = f"This chat searches {', '.join(self.ticked)}." if count else "This chat searches no collection."
        self.button.setAccessibleName("Documents")
        self.button.setToolTip(f"{DESCRIPTION}. {chosen}")
        self.button.setAccessibleDescription(f"{DESCRIPTION}. {chosen}")
        for action in self.menu.actions():  # ticked in place: the menu may be open, its action mid-signal
            if action.isCheckable():
                action.blockSignals(True)
                action.setChecked(action.data() in self.ticked)
                action.blockSignals(False)

    def refresh(self) -> None:
        """Read the collections' names again, off the GUI thread; the menu fills in when they come."""
        run_in_background(self, collection_names, self._listed, lambda error: self._fill(str(error)))

    def _listed(self, names: list[str]) -> None:
        self.names = names
        self._fill()

    def _fill(self, problem: str | None = None) -> None:
        self.menu.clear()
        names = sorted(set(self.names) | set(self.ticked))  # a chosen collection deleted since still shows
        for name in names:
            action = QAction(name.replace("&", "&&"), self.menu)
            action.setData(name)
            action.setCheckable(True)
            action.setChecked(name in self.ticked)
            action.toggled.connect(lambda on, name=name: self._toggle(name, on))
            self.menu.addAction(action)
        if problem or not names:
            note = self.menu.addAction(problem or "No collections yet")
            note.setEnabled(False)
        self.menu.addSeparator()
        manage = self.menu.addAction("Manage collections…")
        manage.triggered.connect(lambda _checked=False: self.manage_requested.emit())

    def _toggle(self, name: str, on: bool) -> None:
        ticked = set(self.ticked) | {name} if on else set(self.ticked) - {name}
        self.chosen.emit(sorted(ticked))
