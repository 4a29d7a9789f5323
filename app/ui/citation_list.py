"""What a message says about documents: under a reply the sources its prompt was given ("Sources: [1] report.pdf,
page 3 · [2] notes.md, Budget"), under your message the files you attached ("Attached: a.pdf, b.md").

Each is a link to a small window: for a source, where it is, the start of its passage and Open file; for an
attached file, where it is and Open file. Files open through QDesktopServices, on this computer:
nothing is uploaded. A file that is gone since is said in one sentence, not opened.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFont, QPalette
from PySide6.QtWidgets import (
    QBoxLayout,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.passages import Citation
from app.ui.accessible import describe
from app.ui.message_model import MessageRow
from app.ui.theme import error_style

SOURCE_SCHEME = "source"  # source:3, the reply's citation number 3
FILE_SCHEME = "attached"  # attached:0, the message's first attached file


def open_file(path: str) -> str | None:
    """Open a local file in the system's program for it; a sentence when it cannot be, else None."""
    name = os.path.basename(path) or path
    if not Path(path).is_file():
        return f"{name} is no longer at {path}; it may have been moved or deleted."
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
        return f"No program on this computer opens {name}; open it from its folder instead."
    return None


class SourceDialog(QDialog):
    """One source of a reply: where it is, the start of its passage, and Open file."""

    def __init__(self, citation: Citation, parent: QWidget | None = None, attached: bool = False) -> None:
        super().__init__(parent)
        self.citation = citation
        self.setWindowTitle("Attached file" if attached else f"Source [{citation.number}]")
        self.place = QLabel(citation.place if attached else f"[{citation.number}] {citation.place}")
        bold = QFont(self.place.font())
        bold.setBold(True)
        self.place.setFont(bold)
        origin = f"From the collection {citation.collection}" if citation.collection else "Attached to your message"
        self.path = QLabel(f"{origin} · {citation.source}")
        self.path.setWordWrap(True)
        self.snippet = QLabel(citation.snippet.strip() or "(This passage has no text to show.)")
        self.snippet.setWordWrap(True)
        self.snippet.setMinimumWidth(420)
        self.snippet.setVisible(not attached)
        for label in (self.place, self.path, self.snippet):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        describe(self.snippet, "Passage", "The start of the passage the reply was given")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(error_style(self.palette()))
        self.problem.setVisible(False)
        buttons = QDialogButtonBox()
        self.open_button = QPushButton("Open file")
        describe(self.open_button, "Open file", f"Open {citation.place} in the program this computer uses for it")
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        describe(close, "Close", "Close this source")
        self.open_button.clicked.connect(self.open_source)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        for widget in (self.place, self.path, self.snippet, self.problem, buttons):
            layout.addWidget(widget)

    def open_source(self) -> None:
        problem = open_file(self.citation.source)
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None)


class DocumentLinks(QLabel):
    """The "Sources" or "Attached" line of one message, hidden while it has neither. It adds itself to the
    message's layout, so the message widget needs one line to make it and one to keep it up to date."""

    source_opened = Signal(object)  # the SourceDialog now showing, for tests and the window

    def __init__(self, layout: QBoxLayout, muted: QColor | None = None) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setOpenExternalLinks(False)
        self.linkActivated.connect(self._on_link)
        self.setVisible(False)
        if muted is not None:
            palette = self.palette()
            palette.setColor(QPalette.ColorRole.WindowText, muted)
            self.setPalette(palette)
        self._shown: tuple[tuple[str, ...], tuple[Citation, ...]] | None = None
        self.citations: tuple[Citation, ...] = ()
        self.attachments: tuple[str, ...] = ()
        self.dialog: SourceDialog | None = None
        layout.addWidget(self)

    def show_row(self, row: MessageRow) -> None:
        wanted = (row.attachments, row.citations)
        if wanted == self._shown:
            return
        self._shown = wanted
        self.attachments, self.citations = wanted
        if row.citations:
            links = [_link(f"{SOURCE_SCHEME}:{c.number}", f"[{c.number}] {c.place}") for c in row.citations]
            self.setText("Sources: " + " · ".join(links))
            places = "; ".join(f"{c.number}: {c.place}" for c in row.citations)
            describe(self, "Sources", f"The passages this reply was given. {places}")
        elif row.attachments:
            names = [_link(f"{FILE_SCHEME}:{i}", os.path.basename(p) or p) for i, p in enumerate(row.attachments)]
            self.setText("Attached: " + ", ".join(names))
            describe(
                self,
                "Attached files",
                "Files sent with this message: " + ", ".join(map(os.path.basename, row.attachments)),
            )
        self.setVisible(bool(row.citations or row.attachments))

    def open_citation(self, number: int) -> SourceDialog | None:
        """Show the source numbered `number`."""
        citation = next((c for c in self.citations if c.number == number), None)
        return None if citation is None else self._show(citation, attached=False)

    def open_attachment(self, position: int) -> SourceDialog | None:
        """Show the attached file at `position` (from 0)."""
        if not 0 <= position < len(self.attachments):
            return None
        return self._show(Citation(position + 1, self.attachments[position]), attached=True)

    def _show(self, citation: Citation, attached: bool) -> SourceDialog:
        """One window at a time: a second click replaces the first."""
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
        self.dialog = SourceDialog(citation, self.window(), attached)
        self.dialog.show()
        self.source_opened.emit(self.dialog)
        return self.dialog

    def _on_link(self, link: str) -> None:
        scheme, _, rest = link.partition(":")
        if rest.isdigit():
            (self.open_citation if scheme == SOURCE_SCHEME else self.open_attachment)(int(rest))


def _link(href: str, text: str) -> str:
    return f'<a href="{href}">{html.escape(text)}</a>'
