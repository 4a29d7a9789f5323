"""Where the person writes: the message box, with Send beside it (Stop in its place while a reply
is being written), Attach and Documents above Send, and the attached files as chips over the box.

Enter sends, Shift+Enter starts a new line, Tab moves on (it does not type a tab), Esc
(anywhere in the window) stops the reply being written. The composer only reports:
`submitted(text)` and `stop_requested()`. What was typed stays in the box until the chat
controller has taken it (`clear`), so a message the controller refuses (no model loaded yet) is
not lost; the attached files go with it and are cleared with it.

Files are attached with the Attach button, by dropping them anywhere on the composer, or by pasting
them (copied files and file URLs arrive as URLs in the clipboard's QMimeData). A file Parlour cannot
read as a document is refused with one sentence (`problem`), for the status line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from app.ui.attachment_chips import AttachmentChips, local_files
from app.ui.collections_button import CollectionsButton
from app.ui.icons import action_icon, icon_button

INPUT_LINES = 3  # the message box's height, in lines of its font


class MessageInput(QPlainTextEdit):
    """The message box: plain text, except that files pasted or dropped into it are attached, not typed."""

    files_given = Signal(list)  # list[Path]

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = local_files(source)
        if files:
            self.files_given.emit(files)
        else:
            super().insertFromMimeData(source)


class Composer(QWidget):
    """The message box and its buttons; whether sending is possible now (a model loaded, no reply
    being written) is set from outside."""

    submitted = Signal(str)  # the text, stripped and not empty
    stop_requested = Signal()
    problem = Signal(str)  # a sentence: a file that could not be attached

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.input = MessageInput()
        self.input.setPlaceholderText("Write a message… (Enter sends, Shift+Enter starts a new line)")
        self.input.setAccessibleName("Message")
        self.input.setAccessibleDescription("Enter sends the message; Shift+Enter starts a new line.")
        self.input.setTabChangesFocus(True)
        margins = self.input.contentsMargins()
        frame = 2 * (self.input.frameWidth() + int(self.input.document().documentMargin())) + margins.top()
        self.input.setFixedHeight(INPUT_LINES * self.input.fontMetrics().lineSpacing() + frame + margins.bottom())
        self.input.installEventFilter(self)
        self.input.files_given.connect(self.attach)
        self.chips = AttachmentChips()
        self.attach_button = icon_button(
            "Attach files", "Attach documents to your message (or drop or paste them here)", "paperclip"
        )
        self.attach_button.clicked.connect(lambda _checked=False: self.ask_files())
        self.documents_button = CollectionsButton()
        self.setAcceptDrops(True)
        side = self.fontMetrics().height()
        self.send_button = QPushButton(action_icon("arrow-up"), "Send")
        self.send_button.setAccessibleName("Send")
        self.send_button.setToolTip("Send the message (Enter)")
        self.send_button.setIconSize(QSize(side, side))
        self.send_button.setEnabled(False)
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton(action_icon("square"), "Stop")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.setToolTip("Stop the reply being written (Esc)")
        self.stop_button.setIconSize(QSize(side, side))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_requested)
        # The window's Esc, owned here: it stops the reply whichever widget has the focus.
        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.stop_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.stop_shortcut.activated.connect(self.stop_requested)
        extras = QHBoxLayout()
        extras.setSpacing(2)
        extras.addStretch(1)
        extras.addWidget(self.attach_button)
        extras.addWidget(self.documents_button)
        buttons = QVBoxLayout()
        buttons.addLayout(extras)
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.chips)
        layout.addLayout(row)
        self._ready = False
        self._busy = False
        self._show_state()

    def text(self) -> str:
        return self.input.toPlainText()

    def clear(self) -> None:
        """The message was taken: the box and its attached files are emptied."""
        self.input.clear()
        self.chips.clear()

    def attachments(self) -> list[str]:
        return [str(path) for path in self.chips.paths()]

    def attach(self, paths: Iterable[Path | str]) -> bool:
        """Attach these files; False (and `problem` said) when one was refused."""
        refused = self.chips.add(Path(path) for path in paths)
        if refused is not None:
            self.problem.emit(refused)
        return refused is None

    def ask_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Attach files")
        if names:
            self.attach(names)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.attach(files)
        else:
            super().dropEvent(event)

    def focus(self) -> None:
        self.input.setFocus()

    def submit(self) -> None:
        text = self.input.toPlainText().strip()
        if text:
            self.submitted.emit(text)
        elif self.chips.paths():
            self.problem.emit("Write a question about the attached files, then send it.")

    def set_ready(self, ready: bool) -> None:
        """Whether a model is loaded."""
        self._ready = ready
        self._show_state()

    def set_busy(self, busy: bool) -> None:
        """Whether a reply is being written."""
        self._busy = busy
        self._show_state()

    def _show_state(self) -> None:
        self.send_button.setEnabled(self._ready and not self._busy)
        self.stop_button.setEnabled(self._busy)
        # One button at a time, in the same place: Stop while a reply is written, Send otherwise.
        self.stop_button.setVisible(self._busy)
        self.send_button.setVisible(not self._busy)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.input and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.submit()
                return True
        return super().eventFilter(watched, event)
