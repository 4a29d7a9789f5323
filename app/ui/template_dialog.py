"""Edit the chat template for one model: check it (a syntax error names its line), preview
it on a sample conversation, save it as this model's override, or go back to the model's own."""

from __future__ import annotations

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

from engines.base import EngineError
from engines.templates import check_template, preview_template


class TemplateDialog(QDialog):
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
        check = QPushButton("Check and preview")
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

    def check(self) -> bool:
        source = self.editor.toPlainText()
        try:
            check_template(source)
            self.preview.setPlainText(preview_template(source))
        except EngineError as err:
            self.message.setText(str(err))
            self.message.setStyleSheet("color: #c0392b;")
            return False
        self.message.setText("The template works; the preview shows a sample conversation.")
        self.message.setStyleSheet("")
        return True

    def _save(self) -> None:
        if self.check():
            self.result_source = self.editor.toPlainText()
            self.accept()

    def _clear(self) -> None:
        self.result_source = ""
        self.accept()
