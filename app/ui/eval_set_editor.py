"""The chosen evaluation set's cases, edited one at a time: the case list on the left (add, remove),
and for the chosen case its id, optional system prompt, prompt and checks.

The editor holds drafts (app.ui.eval_drafts), not an EvalSet: a case being typed is allowed to be
unfinished. Whether the whole set can be used is decided only when it is saved, run or exported
(`edited_set`), by the same reading as a JSONL file. What the widgets show is written back into the
drafts whenever the person moves to another case and whenever the drafts are read.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.evals.sets import MAX_CHECKS, EvalSet
from app.ui.accessible import describe, name_form_fields
from app.ui.eval_check_row import CheckRow
from app.ui.eval_drafts import CaseDraft, CheckDraft, drafts_from_set, new_case, set_from_drafts


class EvalSetEditor(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._drafts: list[CaseDraft] = []
        self._current = -1  # the case the fields show, or -1
        self._saved_form = ""  # the drafts as last loaded or saved, to tell whether anything changed
        self.check_rows: list[CheckRow] = []
        self.description = describe(QLineEdit(), "Description", "What the set is for, in a sentence")
        self.case_list = describe(QListWidget(), "Cases", "The set's cases; choose one to edit it")
        self.add_case_button = describe(QPushButton("Add case"), "Add a case", "Add an empty case to the set")
        self.remove_case_button = describe(QPushButton("Remove case"), "Remove the case", "Remove the chosen case")
        self.case_id = describe(QLineEdit(), "Case id", "A short name for the case, unique in the set")
        self.system = describe(QPlainTextEdit(), "System prompt", "Optional: the system prompt for this case")
        self.prompt = describe(QPlainTextEdit(), "Prompt", "What the model is asked")
        self.add_check_button = describe(QPushButton("Add check"), "Add a check", "Add a check the reply must pass")
        self.turns_note = QLabel()
        self.turns_note.setWordWrap(True)
        self.system.setPlaceholderText("Optional")
        self.system.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        self.prompt.setMinimumHeight(self.fontMetrics().lineSpacing() * 5)

        split = QSplitter()
        split.addWidget(self._case_column())
        split.addWidget(self._case_fields())
        split.setStretchFactor(1, 3)
        split.setSizes([220, 660])
        top = QFormLayout()
        top.addRow("Description:", self.description)
        name_form_fields(top)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        column.addWidget(split, 1)

        self.case_list.currentRowChanged.connect(self._show_case)
        self.case_id.textEdited.connect(self._rename_listed_case)
        self.add_case_button.clicked.connect(self.add_case)
        self.remove_case_button.clicked.connect(self.remove_case)
        self.add_check_button.clicked.connect(lambda: self.add_check())

    def _case_column(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.case_list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_case_button)
        buttons.addWidget(self.remove_case_button)
        column.addLayout(buttons)
        return box

    def _case_fields(self) -> QWidget:
        self._checks_box = QWidget()
        self._checks_column = QVBoxLayout(self._checks_box)
        self._checks_column.setContentsMargins(0, 0, 0, 0)
        self._checks_column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._checks_box)
        scroll.setMinimumHeight(self.fontMetrics().lineSpacing() * 7)
        self._fields = QWidget()
        form = QFormLayout(self._fields)
        form.addRow("Id:", self.case_id)
        form.addRow("System prompt:", self.system)
        form.addRow("Prompt:", self.prompt)
        form.addRow("Checks:", scroll)
        form.addRow("", self.add_check_button)
        form.addRow("", self.turns_note)
        name_form_fields(form)
        return self._fields

    # --- the set ---------------------------------------------------------------------------------------

    def load(self, evals: EvalSet | None) -> None:
        """Show `evals` (None: a new set, with one empty case)."""
        self._current = -1
        self._drafts = drafts_from_set(evals) if evals is not None else []
        if not self._drafts:
            self._drafts.append(new_case([]))
        self.description.setText(evals.description if evals is not None else "")
        self.description.setCursorPosition(0)  # a long description reads from its start
        self.case_list.blockSignals(True)
        self.case_list.clear()
        self.case_list.addItems([draft.id for draft in self._drafts])
        self.case_list.blockSignals(False)
        self.case_list.setCurrentRow(0)
        self._saved_form = "" if evals is None else self._form()  # a new set counts as changed until saved

    def drafts(self) -> list[CaseDraft]:
        self._keep_current()
        return self._drafts

    def edited_set(self, name: str) -> EvalSet:
        """The set as edited, checked; EvalSetError with the sentence naming the case when it cannot be used."""
        return set_from_drafts(name, self.description.text().strip(), self.drafts())

    def is_changed(self) -> bool:
        return self._form() != self._saved_form

    def mark_saved(self) -> None:
        self._saved_form = self._form()

    def _form(self) -> str:
        return json.dumps([self.description.text(), [asdict(draft) for draft in self.drafts()]])

    # --- cases -----------------------------------------------------------------------------------------

    def _keep_current(self) -> None:
        """Write what the fields show into the draft of the case they show."""
        if not 0 <= self._current < len(self._drafts):
            return
        draft = self._drafts[self._current]
        draft.id = self.case_id.text()
        draft.system = self.system.toPlainText()
        draft.prompt = self.prompt.toPlainText()
        draft.checks = [row.draft() for row in self.check_rows]

    def _show_case(self, row: int) -> None:
        self._keep_current()
        self._current = row
        self._fields.setEnabled(0 <= row < len(self._drafts))
        self.remove_case_button.setEnabled(len(self._drafts) > 1)
        draft = self._drafts[row] if 0 <= row < len(self._drafts) else CaseDraft()
        self.case_id.setText(draft.id)
        self.system.setPlainText(draft.system)
        self.prompt.setPlainText(draft.prompt)
        for check_row in self.check_rows:
            self._drop(check_row)
        self.check_rows = []
        for check in draft.checks:
            self._add_check_row(check)
        turns = len(draft.turns)
        self.turns_note.setText(f"This case starts with {turns} earlier messages, kept as they are." if turns else "")
        self.turns_note.setVisible(bool(turns))

    def _rename_listed_case(self, text: str) -> None:
        item = self.case_list.currentItem()
        if item is not None:
            item.setText(text)

    def add_case(self) -> None:
        self._keep_current()
        self._drafts.append(new_case(self._drafts))
        self.case_list.addItem(self._drafts[-1].id)
        self.case_list.setCurrentRow(len(self._drafts) - 1)
        self.case_id.setFocus()

    def remove_case(self) -> None:
        """Remove the chosen case; a set keeps at least one."""
        row = self._current
        if len(self._drafts) < 2 or not 0 <= row < len(self._drafts):
            return
        self._current = -1  # the fields belong to the case being removed: nothing to keep
        del self._drafts[row]
        self.case_list.blockSignals(True)
        self.case_list.takeItem(row)
        self.case_list.blockSignals(False)
        self.case_list.setCurrentRow(min(row, len(self._drafts) - 1))
        self._show_case(self.case_list.currentRow())

    # --- checks ----------------------------------------------------------------------------------------

    def add_check(self, kind: str = "contains_all", argument: str = "") -> CheckRow:
        row = self._add_check_row(CheckDraft(kind, argument))
        row.argument.setFocus()
        return row

    def _add_check_row(self, draft: CheckDraft) -> CheckRow:
        row = CheckRow(draft)
        row.remove_requested.connect(self._remove_check_row)
        self._checks_column.insertWidget(len(self.check_rows), row)
        self.check_rows.append(row)
        self.add_check_button.setEnabled(len(self.check_rows) < MAX_CHECKS)
        return row

    def _remove_check_row(self, row: CheckRow) -> None:
        if row in self.check_rows:
            self.check_rows.remove(row)
            self._drop(row)
        self.add_check_button.setEnabled(len(self.check_rows) < MAX_CHECKS)

    def _drop(self, row: CheckRow) -> None:
        """Out of the layout at once (deleteLater alone would leave it on screen until the next event)."""
        self._checks_column.removeWidget(row)
        row.hide()
        row.deleteLater()
