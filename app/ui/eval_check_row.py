"""One check of a case in the set editor: its type, its argument as one line of text, whether it
matches case, and a button that removes it. The argument box's placeholder says what the chosen type
takes, and what a type does not use is disabled rather than hidden, so the row keeps its shape."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QPushButton, QWidget

from app.evals.checks import KINDS
from app.ui.accessible import describe
from app.ui.eval_drafts import ARGUMENT_HINTS, CASE_SENSITIVE_KINDS, CheckDraft


class CheckRow(QWidget):
    remove_requested = Signal(object)  # this row

    def __init__(self, draft: CheckDraft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = describe(QComboBox(), "Check type", "What the reply is checked for")
        self.kind.addItems(list(KINDS))
        self.argument = describe(QLineEdit(draft.argument), "Check argument", "What the check looks for")
        self.case_sensitive = describe(
            QCheckBox("Match case"), "Match case", "Tell capital and small letters apart for this check"
        )
        self.case_sensitive.setChecked(draft.case_sensitive)
        self.remove_button = describe(QPushButton("Remove"), "Remove the check", "Remove this check from the case")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.kind)
        row.addWidget(self.argument, 1)
        row.addWidget(self.case_sensitive)
        row.addWidget(self.remove_button)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        self.kind.setCurrentText(draft.kind if draft.kind in KINDS else KINDS[0])
        self._kind_changed(self.kind.currentText())

    def _kind_changed(self, kind: str) -> None:
        self.argument.setPlaceholderText(ARGUMENT_HINTS[kind])
        self.argument.setToolTip(ARGUMENT_HINTS[kind])
        self.argument.setEnabled(kind != "json")
        self.case_sensitive.setEnabled(kind in CASE_SENSITIVE_KINDS)

    def draft(self) -> CheckDraft:
        return CheckDraft(self.kind.currentText(), self.argument.text(), self.case_sensitive.isChecked())
