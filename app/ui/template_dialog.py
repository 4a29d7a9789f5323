"""Edit the chat template for one model: check it (a syntax error names its line), preview
it on a sample conversation, save it as this model's override, or go back to the model's own.

Checking renders the template, which may take up to the renderer's deadline on a hostile
one, so it runs off the GUI thread: the dialog stays responsive and says it is checking.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
)

from app.ui.background import run_in_background
from app.ui.theme import error_style
from engines.templates import check_template, preview_template

CHECKED_MESSAGE = "The template works; the preview shows a sample conversation."


def _checked_preview(source: str) -> str:
    """On a worker thread: raise the template's sentence, or return its preview."""
    check_template(source)
    return preview_template(source)


class TemplateDialog(QDialog):
    """The template being edited, its preview, and what the person decided (`result_source`)."""

    checked = Signal(bool)  # a check finished: whether the template works

    def __init__(self, model_name: str, source: str, is_override: bool, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setWindowTitle(f"Chat template · {model_name}")
        self.resize(900, 600)
        self.result_source: str | None = None  # the override to save, "" to clear it, None to leave as is
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.editor = QPlainTextEdit(source)
        self.editor.setFont(mono)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setFont(mono)
        self.message = QLabel("Your template for this model." if is_override else "The model's own template.")
        self.message.setWordWrap(True)
        self._checking = False
        self._save_when_checked = False
        check = self.check_button = QPushButton("Check and preview")
        check.clicked.connect(self.check)
        clear = QPushButton("Use the model's own")
        clear.setEnabled(is_override)
        clear.clicked.connect(self._clear)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        split = QSplitter()
        split.addWidget(self.editor)
        split.addWidget(self.preview)
        row = QHBoxLayout()
        row.addWidget(check)
        row.addWidget(clear)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(self.message)
        layout.addLayout(row)

    def check(self) -> None:
        """Check and preview the editor's text off the GUI thread; `checked` tells the outcome."""
        if self._checking:
            return
        self._checking = True
        self.check_button.setEnabled(False)
        self.message.setText("Checking the template…")
        self.message.setStyleSheet("")
        source = self.editor.toPlainText()
        run_in_background(self, lambda: _checked_preview(source), self._on_checked, self._on_refused)

    def _on_checked(self, preview: str) -> None:
        self._finish_check(True)
        self.preview.setPlainText(preview)
        self.message.setText(CHECKED_MESSAGE)
        if self._save_when_checked:
            self.result_source = self.editor.toPlainText()
            self.accept()

    def _on_refused(self, error: Exception) -> None:
        self._finish_check(False)
        self.message.setText(str(error))
        self.message.setStyleSheet(error_style(self.palette()))

    def _finish_check(self, works: bool) -> None:
        self._checking = False
        self.check_button.setEnabled(True)
        if not works:
            self._save_when_checked = False
        self.checked.emit(works)

    def _save(self) -> None:
        self._save_when_checked = True
        self.check()

    def _clear(self) -> None:
        self.result_source = ""
        self.accept()
