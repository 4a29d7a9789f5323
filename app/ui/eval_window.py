"""The evaluation sets window: the sets on the left (the built-in starter set and the kept ones), and
for the chosen set its cases to edit and its runs (run it on one to four models, earlier runs, the
scoreboard, charts and replies, a report to export). It does in a window what `parlour eval` does in a
terminal, with the same store, so runs made in either show in both.

Every failure is one sentence in the status line at the foot. A set is checked as a whole when it is
saved, exported or run, and refused with the sentence naming the case, saving nothing. The starter
set ships with Parlour and cannot be changed: its changes are kept by saving a copy under a new name.
Leaving a set with unsaved changes (choosing another, closing the window) asks first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.evals.checks import EvalSetError
from app.evals.sets import STARTER_SET, EvalSet, parse_jsonl, starter_set, to_jsonl
from app.store import evals as kept
from app.store.db import Store
from app.store.errors import StoreError
from app.ui.accessible import describe
from app.ui.eval_run_panel import EvalRunPanel
from app.ui.eval_run_view import named_tabs
from app.ui.eval_set_editor import EvalSetEditor

MAX_IMPORT_BYTES = 50_000_000  # as `parlour eval run` allows for a set's file


def size_of(evals: EvalSet) -> str:
    cases, checks = len(evals.cases), evals.checks_total
    return f"{cases} case{'s' if cases != 1 else ''}, {checks} check{'s' if checks != 1 else ''}"


def ask_to_discard(parent: QWidget, question: str) -> bool:
    buttons = QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
    return QMessageBox.question(parent, "Unsaved changes", question, buttons) == QMessageBox.StandardButton.Discard


class EvalWindow(QWidget):
    def __init__(
        self,
        store: Store,
        models: Callable[[], list[tuple[str, str]]],
        parent: QWidget | None = None,
        confirm: Callable[[QWidget, str], bool] = ask_to_discard,
    ) -> None:
        """`models()` gives the (name, path) of each model that can be chosen; it is called off the GUI thread."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Evaluation sets")
        self.resize(1240, 820)
        self.store = store
        self.confirm = confirm
        self.set_name = ""  # the set the editor and the runs show
        self._new_name: str | None = None  # a new set not saved yet
        self.set_list = describe(QListWidget(), "Evaluation sets", "The built-in starter set and your sets")
        self.new_button = describe(QPushButton("New set…"), "New set", "Start a new set under a name")
        self.import_button = describe(QPushButton("Import…"), "Import a set", "Check a set in a JSONL file and keep it")
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.editor = EvalSetEditor()
        self.save_button = describe(QPushButton("Save"), "Save the set", "Check the whole set and keep it")
        self.copy_button = describe(
            QPushButton("Save as copy…"), "Save as a copy", "Keep the set as edited under a new name"
        )
        self.export_button = describe(QPushButton("Export…"), "Export the set", "Write the set as a JSONL file")
        self.run_panel = EvalRunPanel(store, models, self._set_for_run)
        self.tabs = named_tabs()
        self.tabs.addTab(self._cases_page(), "Cases")
        self.tabs.addTab(self.run_panel, "Runs")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout()
        self.set_list.currentItemChanged.connect(lambda item, _old: self._list_choice(item))
        self.new_button.clicked.connect(self._ask_new_set)
        self.import_button.clicked.connect(self._choose_import)
        self.save_button.clicked.connect(self.save)
        self.copy_button.clicked.connect(self._ask_copy)
        self.export_button.clicked.connect(self._choose_export)
        self.run_panel.status.connect(self.status.setText)
        self.open_set(STARTER_SET)

    def _layout(self) -> None:
        left = QWidget()
        sets = QVBoxLayout(left)
        sets.setContentsMargins(0, 0, 0, 0)
        sets.addWidget(QLabel("Sets"))
        sets.addWidget(self.set_list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.import_button)
        sets.addLayout(buttons)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.heading)
        column.addWidget(self.tabs, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([220, 1000])
        outer = QVBoxLayout(self)
        outer.addWidget(split, 1)
        outer.addWidget(self.status)

    def _cases_page(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.addWidget(self.editor, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.export_button, self.copy_button, self.save_button):
            buttons.addWidget(button)
        column.addLayout(buttons)
        return page

    # --- the list of sets ------------------------------------------------------------------------------

    def set_names(self) -> list[str]:
        """The sets listed: the starter set, the kept ones, and a new one not saved yet."""
        try:
            names = [STARTER_SET, *(n for n in kept.set_names(self.store) if n != STARTER_SET)]
        except StoreError as err:
            self.status.setText(str(err))
            names = [STARTER_SET]
        return [*names, self._new_name] if self._new_name and self._new_name not in names else names

    def _fill_list(self) -> None:
        self.set_list.blockSignals(True)  # refilling is not the person choosing
        self.set_list.clear()
        for name in self.set_names():
            label = (
                f"{name} (built in)"
                if name == STARTER_SET
                else f"{name} (not saved)"
                if name == self._new_name
                else name
            )
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.set_list.addItem(item)
            if name == self.set_name:
                self.set_list.setCurrentItem(item)
        self.set_list.blockSignals(False)

    def _list_choice(self, item: QListWidgetItem | None) -> None:
        name = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if name is None or name == self.set_name:
            return
        if not self._may_leave():
            self._fill_list()  # back to the set being edited
            return
        self.open_set(name)

    def _may_leave(self) -> bool:
        """Whether the edits to the shown set may be dropped (there are none, or the person says so)."""
        if not self.editor.is_changed():
            return True
        return self.confirm(self, f"Discard your changes to {self.set_name}?")

    def open_set(self, name: str) -> None:
        """Show set `name` in the editor and its runs, leaving any unsaved edits behind."""
        if name != self._new_name:
            self._new_name = None  # a new set left unsaved is dropped
        evals = None
        try:
            evals = None if name == self._new_name else self._read_set(name)
        except (EvalSetError, StoreError) as err:
            self.status.setText(f"The set {name} cannot be read: {err}")
        self.set_name = name
        self.editor.load(evals)
        built_in = name == STARTER_SET
        self.save_button.setEnabled(not built_in)
        self.save_button.setToolTip(
            "The built-in set cannot be changed: Save as copy… keeps your changes." if built_in else ""
        )
        cases = size_of(evals) if evals is not None else "a new set"
        note = " · built in: Save as copy… keeps your changes under a new name" if built_in else ""
        self.heading.setText(f"<b>{name}</b> · {cases}{note}")
        self._fill_list()
        self.run_panel.list_runs(name)

    def _read_set(self, name: str) -> EvalSet:
        if name == STARTER_SET:
            return starter_set()
        return parse_jsonl(kept.set_jsonl(self.store, name), name)

    def _set_for_run(self) -> EvalSet:
        """The shown set as saved: a run keeps the set under its name, so edits are saved first."""
        if self.editor.is_changed():
            where = "as a copy " if self.set_name == STARTER_SET else ""
            raise EvalSetError(f"Save your changes {where}first: a run keeps the set as it was saved.")
        return self.editor.edited_set(self.set_name)

    # --- making and saving -----------------------------------------------------------------------------

    def _name_problem(self, name: str) -> str | None:
        if not name:
            return "Give the set a name."
        if name in self.set_names():
            return f"There is already a set called {name}; choose another name."
        return None

    def _ask_new_set(self) -> None:
        name, given = QInputDialog.getText(self, "New set", "Name of the new set:")
        if given:
            self.new_set(name)

    def new_set(self, name: str) -> None:
        """Start a set called `name`, with one empty case; it is kept when it is saved."""
        name = name.strip()
        problem = self._name_problem(name)
        if problem or not self._may_leave():
            self.status.setText(problem or "")
            return
        self._new_name = name
        self.open_set(name)
        self.tabs.setCurrentIndex(0)
        self.status.setText(f"Write the first case of {name}, then Save.")

    def save(self) -> bool:
        """Check the whole set and keep it under its name; nothing is kept when any case cannot be used."""
        if self.set_name == STARTER_SET:
            self.status.setText("The built-in set cannot be changed: Save as copy… keeps your changes.")
            return False
        return self._keep(self.set_name)

    def _ask_copy(self) -> None:
        name, given = QInputDialog.getText(self, "Save as copy", "Name of the copy:", text=f"{self.set_name} copy")
        if given:
            self.save_copy(name)

    def save_copy(self, name: str) -> bool:
        """Keep the set as edited under a new name, and show that one."""
        name = name.strip()
        problem = self._name_problem(name)
        if problem:
            self.status.setText(problem)
            return False
        return self._keep(name)

    def _keep(self, name: str) -> bool:
        try:
            evals = self.editor.edited_set(name)
            kept.save_set(self.store, name, to_jsonl(evals))
        except (EvalSetError, StoreError) as err:
            self.status.setText(str(err))
            return False
        self.editor.mark_saved()
        self._new_name = None
        self.open_set(name)
        self.status.setText(f"Saved {name}: {size_of(evals)}.")
        return True

    # --- files -----------------------------------------------------------------------------------------

    def _choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a set", str(Path.home()), "Evaluation sets (*.jsonl)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> str | None:
        """Check the set in `path` and keep it (under a free name); the name it is kept under."""
        if not self._may_leave():
            return None
        try:
            if path.stat().st_size > MAX_IMPORT_BYTES:
                raise EvalSetError(f"it is larger than {MAX_IMPORT_BYTES // 1_000_000} MB.")
            evals = parse_jsonl(path.read_text(encoding="utf-8", errors="replace"), path.stem)
            name = self._free_name(evals.name.strip() or path.stem)
            kept.save_set(self.store, name, to_jsonl(dataclasses.replace(evals, name=name)))
        except OSError as err:
            self.status.setText(f"{path.name} could not be read: {err.strerror or err}.")
            return None
        except (EvalSetError, StoreError) as err:
            self.status.setText(f"{path.name} was not imported: {err}")
            return None
        self.open_set(name)
        self.status.setText(f"Imported {name}: {size_of(evals)}.")
        return name

    def _free_name(self, wanted: str) -> str:
        """`wanted`, or `wanted 2`, `wanted 3`…: an import never replaces a set already kept."""
        taken = set(self.set_names())
        name, number = wanted, 2
        while name in taken:
            name, number = f"{wanted} {number}", number + 1
        return name

    def _choose_export(self) -> None:
        start = str(Path.home() / f"{self.set_name}.jsonl")
        path, _ = QFileDialog.getSaveFileName(self, "Export the set", start, "Evaluation sets (*.jsonl)")
        if path:
            self.export_set(Path(path))

    def export_set(self, path: Path) -> bool:
        """Write the set as edited (checked first) to `path` as JSONL."""
        try:
            evals = self.editor.edited_set(self.set_name)
            path.write_text(to_jsonl(evals), encoding="utf-8")
        except EvalSetError as err:
            self.status.setText(str(err))
            return False
        except OSError as err:
            self.status.setText(f"{path.name} could not be written: {err.strerror or err}.")
            return False
        self.status.setText(f"Wrote {self.set_name} to {path}.")
        return True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():  # shown by the app, not restored from the dock: models may have come or gone
            self.run_panel.refresh_models()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._may_leave():
            event.ignore()
            return
        self.run_panel.stop_for_close()  # the run ends after the reply in progress; what finished is kept
        super().closeEvent(event)
