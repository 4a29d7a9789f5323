"""The local library: every model on this machine with its origin, its details, import and delete.

Listing (header reads), importing (a copy can take a while) and deleting run off the
GUI thread. Files and folders can be dropped on the view to import them. Deleting asks
first and says how much space it freed; other programs' models are only hidden, and
"Show hidden models" lists those greyed, with "Unhide" to bring one back. An empty library says
what to do next: import a model, or get a recommended one (`find_models_requested`, for the window
to open the Hub browser on its recommendations).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.library.catalog import LocalModel
from app.ui.accessible import describe
from app.ui.background import run_in_background
from engines.inspect import human_size

COLUMNS = ["Model", "Origin", "Format", "Size"]
EMPTY = (
    "No models yet. Import a GGUF file or an MLX folder you already have (the buttons below, or drop it here), "
    "or get one of the models Parlour recommends for this computer."
)


def ask_to_delete(parent: QWidget, question: str) -> bool:
    answer = QMessageBox.question(
        parent, "Delete model", question, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    )
    return answer == QMessageBox.StandardButton.Yes


class LibraryView(QWidget):
    listed = Signal(int)  # how many models are shown, after each refresh
    find_models_requested = Signal()  # "Get a recommended model…" was clicked: open the Hub browser

    def __init__(self, parent: QWidget | None = None, confirm: Callable[[QWidget, str], bool] = ask_to_delete) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models on this computer")
        self.setAcceptDrops(True)
        self.confirm = confirm
        self.models: list[LocalModel] = []
        self._refreshes = 0
        self.table = self._table()
        self.details = QFormLayout()
        details_box = QWidget()
        details_box.setLayout(self.details)
        self.import_file_button = describe(
            QPushButton("Import file…"), "Import a model file", "Add a GGUF file from this computer"
        )
        self.import_folder_button = describe(
            QPushButton("Import folder…"), "Import a model folder", "Add an MLX model folder from this computer"
        )
        self.remove_button = describe(
            QPushButton("Delete"), "Delete the model", "Delete the chosen model's files from this computer"
        )
        self.remove_button.setEnabled(False)
        self.refresh_button = describe(QPushButton("Refresh"), "Refresh", "Look for models on this computer again")
        self.folder_button = describe(
            QPushButton("Models folder…"), "Models folder", "Choose the folder Parlour keeps downloaded models in"
        )
        self.show_hidden = QCheckBox("Show hidden models")
        describe(self.show_hidden, "Show hidden models", "List the models you hid, greyed, so you can unhide them")
        self.status = QLabel("Drop a GGUF file or an MLX folder here to add it.")
        self.status.setWordWrap(True)
        self.empty_hint = QLabel(EMPTY)
        self.empty_hint.setWordWrap(True)
        self.find_button = QPushButton("Get a recommended model…")
        describe(
            self.find_button, "Get a recommended model", "Open the Hub browser on the models that suit this computer"
        )
        self.empty_state = self._empty_state()

        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(details_box)
        split.setStretchFactor(0, 2)
        column = QVBoxLayout(self)
        column.addWidget(self.empty_state)
        column.addWidget(split, 1)
        column.addLayout(self._button_row())
        column.addWidget(self.status)

        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.import_file_button.clicked.connect(self._choose_file)
        self.import_folder_button.clicked.connect(self._choose_folder)
        self.remove_button.clicked.connect(self.remove_selected)
        self.refresh_button.clicked.connect(self.refresh)
        self.folder_button.clicked.connect(self._choose_models_folder)
        self.show_hidden.toggled.connect(self.refresh)
        self.find_button.clicked.connect(self.find_models_requested)
        self.refresh()

    @staticmethod
    def _table() -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)  # row numbers say nothing here
        return describe(table, "Models on this computer", "Choose a model to see its details; Delete removes it")

    def _button_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for button in (
            self.import_file_button,
            self.import_folder_button,
            self.remove_button,
            self.refresh_button,
            self.folder_button,
        ):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.show_hidden)
        return row

    def _empty_state(self) -> QWidget:
        """What an empty library shows above the table: what to do next."""
        state = QWidget()
        column = QVBoxLayout(state)
        column.addWidget(self.empty_hint)
        column.addWidget(self.find_button, 0, Qt.AlignmentFlag.AlignLeft)
        state.hide()
        return state

    # --- listing ---------------------------------------------------------------------------------------

    def refresh(self) -> None:
        from app.library.catalog import list_local_models

        include_hidden = self.show_hidden.isChecked()
        self._refreshes += 1
        number = self._refreshes
        run_in_background(
            self, lambda: list_local_models(include_hidden), lambda models: self._show(models, number), self._failed
        )

    def _show(self, models: list[LocalModel], number: int | None = None) -> None:
        if number is not None and number != self._refreshes:
            return  # an older listing (say, from before "Show hidden models" was toggled) arrived late
        self.models = models
        self.table.setRowCount(len(models))
        grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for row, model in enumerate(models):
            fmt = f"{model.info.format.upper()} {model.info.quantization or ''}".strip() if model.info else "unusable"
            for column, text in enumerate((model.name, model.origin, fmt, human_size(model.size))):
                item = QTableWidgetItem(text)
                if model.problem:
                    item.setToolTip(model.problem)
                if model.hidden:
                    item.setForeground(grey)
                    item.setToolTip("Hidden from the list; Unhide shows it again.")
                self.table.setItem(row, column, item)
        self.empty_state.setVisible(not models)
        self._selection_changed()
        self.listed.emit(len(models))

    def selected(self) -> LocalModel | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        return self.models[rows.pop()] if len(rows) == 1 else None

    def select(self, name: str) -> None:
        for row, model in enumerate(self.models):
            if model.name == name:
                self.table.selectRow(row)
                return
        raise KeyError(name)

    def _selection_changed(self) -> None:
        model = self.selected()
        while self.details.rowCount():
            self.details.removeRow(0)
        self.remove_button.setEnabled(model is not None)
        if model is None:
            return
        self.remove_button.setText("Unhide" if model.hidden else "Delete" if model.deletable else "Hide")
        from app.library.catalog import model_details

        run_in_background(
            self, lambda: model_details(model), lambda rows: self._show_details(model, rows), self._failed
        )

    def _show_details(self, model: LocalModel, rows: list[tuple[str, str]]) -> None:
        if self.selected() is not model:
            return  # the selection moved on while the headers were read
        while self.details.rowCount():
            self.details.removeRow(0)
        for label, value in rows:
            text = QLabel(value)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.details.addRow(f"{label}:", text)

    def detail_rows(self) -> dict[str, str]:
        """The details pane as label -> value (for tests and accessibility)."""
        rows = {}
        for row in range(self.details.rowCount()):
            label = self.details.itemAt(row, QFormLayout.ItemRole.LabelRole).widget().text().rstrip(":")
            rows[label] = self.details.itemAt(row, QFormLayout.ItemRole.FieldRole).widget().text()
        return rows

    # --- import ----------------------------------------------------------------------------------------

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a GGUF model", str(Path.home()), "GGUF models (*.gguf)")
        if path:
            self.import_paths([Path(path)])

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import an MLX model folder", str(Path.home()))
        if path:
            self.import_paths([Path(path)])

    def import_paths(self, paths: list[Path]) -> None:
        from app.library.model_files import import_model

        def work() -> list[Path]:
            return [import_model(path) for path in paths]

        self.status.setText(f"Importing {', '.join(p.name for p in paths)}…")
        run_in_background(self, work, self._imported, self._failed)

    def _imported(self, placed: list[Path]) -> None:
        self.status.setText("Imported " + ", ".join(str(p) for p in placed))
        self.refresh()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    def _choose_models_folder(self) -> None:
        from app.library.settings import models_folder

        path = QFileDialog.getExistingDirectory(self, "Where Parlour keeps downloaded models", str(models_folder()))
        if path:
            self.set_models_folder(Path(path))

    def set_models_folder(self, path: Path) -> None:
        """New downloads and imports go there; models already in the old folder stay where they are."""
        from app.library.settings import set_models_folder

        set_models_folder(path)
        self.status.setText(f"New downloads and imports go to {path}.")
        self.refresh()

    # --- delete ----------------------------------------------------------------------------------------

    def remove_selected(self) -> None:
        model = self.selected()
        if model is None:
            return
        if model.hidden:
            self.unhide_selected()
            return
        if model.deletable:
            question = f"Delete {model.name}? This frees about {human_size(model.size)}."
        else:
            question = f"Hide {model.name}? Its files belong to {model.origin} and stay where they are."
        if not self.confirm(self, question):
            return
        from app.library.model_files import delete_model

        run_in_background(self, lambda: delete_model(model), self._removed, self._failed)

    def _removed(self, removal: Any) -> None:
        self.status.setText(removal.message)
        self.refresh()

    def unhide_selected(self) -> None:
        """Show the selected hidden model in the list again (nothing on disk changes, so no question)."""
        model = self.selected()
        if model is None or not model.hidden:
            return
        from app.library.settings import unhide_model

        def work() -> str:
            unhide_model(model.path)
            return f"{model.name} is back in the list of models."

        run_in_background(self, work, self._unhidden, self._failed)

    def _unhidden(self, message: str) -> None:
        self.status.setText(message)
        self.refresh()

    def _failed(self, error: Exception) -> None:
        self.status.setText(str(error))


def _local_paths(mime: Any) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
