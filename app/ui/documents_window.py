"""Document collections: named sets of folders whose files a chat can search, kept up to date in the background.

The list on the left holds the collections; the right shows the chosen one's folders, how many documents and
passages it has, when it was last checked, and each file that could not be read with its sentence. Every
change to the index (a new collection, a folder added or removed, a collection deleted) runs on a worker
thread with its own connection, and indexing runs on CollectionUpdates' thread with a progress bar and Stop:
the window never waits. Files are read on this computer and kept in an index in the data folder; nothing is
uploaded.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.accessible import describe
from app.ui.background import run_in_background
from app.ui.collection_updates import EMBEDDING_PREFIX, CollectionUpdates
from app.ui.theme import error_style

INTRO = (
    "A collection is a set of folders whose documents a chat can search; choose a chat's collections with the "
    "Documents button under the message box. Files are read on this computer and never uploaded."
)


def _work_on_index(action: Callable[[Any], Any]) -> Callable[[], tuple[Any, list[Any], str | None]]:
    """For a worker thread: run `action(index)`, then list the collections; a refusal becomes a sentence."""

    def work() -> tuple[Any, list[Any], str | None]:
        from app.documents.index import DocumentIndex
        from app.documents.passages import DocumentError

        with DocumentIndex.default() as index:
            try:
                result, problem = action(index), None
            except DocumentError as error:
                result, problem = None, str(error)
            notice = index.notice
            return result, index.collections(), problem or notice

    return work


def report_sentence(name: str, report: Any) -> str:
    """What an update did, in one sentence."""
    if report.stopped:
        return f"Stopped checking {name}; the next check goes on from there."
    changes = [f"{report.added} added", f"{report.changed} changed", f"{report.removed} removed"]
    problems = len(report.problems)
    trouble = f"; {problems} {'file' if problems == 1 else 'files'} could not be read" if problems else ""
    return f"{name} is up to date: " + ", ".join(changes) + trouble + "."


class DocumentsWindow(QWidget):
    """The collections, their folders and problems, and the buttons that change them."""

    collections_changed = Signal()  # a collection was made, deleted or indexed again

    def __init__(self, updates: CollectionUpdates, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Documents")
        self.updates = updates
        self.summaries: list[Any] = []
        self._queued: list[tuple[Callable[[Any], Any], str | None, bool, Callable[[], None] | None]] = []
        self._build()
        updates.started.connect(self._on_started)
        updates.progress.connect(self._on_progress)
        updates.finished.connect(self._on_finished)
        updates.failed.connect(self._on_failed)
        # The update's own list may predate a change made here meanwhile: read it again, in order with ours.
        updates.listed.connect(lambda _summaries: self.refresh())
        updates.idle.connect(lambda: self._show_progress(False))
        self._show_progress(updates.running)

    def _build(self) -> None:
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.list = describe(QListWidget(), "Collections", "The document collections; choose one to see it")
        self.list.currentTextChanged.connect(lambda _name: self._show_chosen())
        self.new_button = self._button("New collection…", "Make a collection, then add folders to it", self.ask_new)
        self.delete_button = self._button(
            "Delete collection…", "Delete the chosen collection from the index (your files stay)", self.ask_delete
        )
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addWidget(self.new_button)
        left.addWidget(self.delete_button)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.folders = describe(QListWidget(), "Folders", "The folders of the chosen collection")
        self.folders.currentRowChanged.connect(lambda _row: self._enable())
        self.add_button = self._button(
            "Add folder…", "Add a folder of documents to the chosen collection", self.ask_folder
        )
        self.remove_button = self._button(
            "Remove folder", "Take the chosen folder out of the collection", self.remove_folder
        )
        self.reindex_button = self._button("Re-index", "Read the chosen collection's folders again now", self.reindex)
        self.meaning_button, self.words_button = self._search_buttons()
        folder_buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button):
            folder_buttons.addWidget(button)
        folder_buttons.addStretch(1)
        for button in (self.meaning_button, self.words_button, self.reindex_button):
            folder_buttons.addWidget(button)
        self.problems = describe(
            QTreeWidget(), "Problems", "Files of the chosen collection that could not be read, and why"
        )
        self.problems.setHeaderLabels(["File", "What went wrong"])
        self.problems.setRootIsDecorated(False)
        self.problems.setWordWrap(True)
        self.problems.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        right = QVBoxLayout()
        for widget in (self.facts, QLabel("Folders")):
            right.addWidget(widget)
        right.addWidget(self.folders, 1)
        right.addLayout(folder_buttons)
        right.addWidget(QLabel("Files that could not be read"))
        right.addWidget(self.problems, 2)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for part in (left, right):
            holder = QWidget()
            holder.setLayout(part)
            splitter.addWidget(holder)
        splitter.setSizes([240, 560])
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(splitter, 1)
        layout.addLayout(self._progress_row())
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Documents status")
        layout.addWidget(self.status)
        self._enable()

    def _search_buttons(self) -> tuple[QPushButton, QPushButton]:
        meaning = self._button(
            "Search by meaning…",
            "Choose a GGUF embedding model you have, so the chosen collection is searched by meaning as well as words",
            self.ask_embedding_model,
        )
        words = self._button(
            "Words alone", "Search the chosen collection by its words only, and forget its vectors", self.words_alone
        )
        return meaning, words

    def _progress_row(self) -> QHBoxLayout:
        self.progress = describe(QProgressBar(), "Indexing progress", "How many of the files to read are read")
        self.progress_label = QLabel()
        self.stop_button = self._button(
            "Stop", "Stop reading the documents; the next check goes on from there", self.updates.stop
        )
        row = QHBoxLayout()
        row.addWidget(self.progress_label, 1)
        row.addWidget(self.progress, 1)
        row.addWidget(self.stop_button)
        return row

    def _button(self, text: str, description: str, slot: Callable[[], object]) -> QPushButton:
        button = describe(QPushButton(text), text.rstrip("…"), description)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # --- what is shown --------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        """List the collections again, off the GUI thread."""
        self._run(lambda index: None)

    def chosen(self) -> str | None:
        item = self.list.currentItem()
        return item.text() if item is not None else None

    def _show_summaries(self, summaries: list[Any], choose: str | None = None) -> None:
        self.summaries = list(summaries)
        keep = choose or self.chosen()
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems([summary.name for summary in self.summaries])
        names = [summary.name for summary in self.summaries]
        self.list.setCurrentRow(names.index(keep) if keep in names else (0 if names else -1))
        self.list.blockSignals(False)
        self._show_chosen()

    def _show_chosen(self) -> None:
        summary = next((s for s in self.summaries if s.name == self.chosen()), None)
        self.folders.clear()
        self.problems.clear()
        if summary is None:
            self.facts.setText("No collection yet: make one with New collection…" if not self.summaries else "")
            self._enable()
            return
        self.folders.addItems([str(folder) for folder in summary.folders])
        self.folders.setCurrentRow(-1)  # Remove folder waits until one is chosen
        for path, sentence in summary.problems:
            item = QTreeWidgetItem([os.path.basename(path) or path, sentence])
            item.setToolTip(0, path)
            item.setToolTip(1, sentence)
            self.problems.addTopLevelItem(item)
        checked = (
            f"last checked {summary.indexed_at.astimezone():%Y-%m-%d %H:%M}" if summary.indexed_at else "not read yet"
        )
        self.facts.setText(
            f"<b>{html.escape(summary.name)}</b>: {summary.documents} {_plural(summary.documents, 'document')}, "
            f"{summary.passages} {_plural(summary.passages, 'passage')} · {checked} · {_search_kind(summary)}"
        )
        self._enable()

    def _enable(self) -> None:
        chosen = self.chosen() is not None
        for button in (self.delete_button, self.add_button, self.reindex_button):
            button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen and self.folders.currentRow() >= 0)
        self.meaning_button.setEnabled(chosen)
        summary = next((s for s in self.summaries if s.name == self.chosen()), None)
        self.words_button.setEnabled(summary is not None and summary.embedding_model is not None)

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(error_style(self.palette()) if error else "")

    # --- what the person asks for ---------------------------------------------------------------------

    def ask_new(self) -> None:
        name, ok = QInputDialog.getText(self, "New collection", "Name of the collection:")
        if ok and name.strip():
            self.create_collection(name)

    def create_collection(self, name: str) -> None:
        self._run(lambda index: index.create_collection(name), choose=name.strip(), changed=True)

    def ask_delete(self) -> None:
        name = self.chosen()
        if name is None:
            return
        question = f"Delete the collection {name}? Its index goes; your files stay where they are."
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
        if QMessageBox.question(self, "Delete collection", question, buttons) == QMessageBox.StandardButton.Yes:
            self._run(lambda index: index.delete_collection(name), changed=True)

    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of documents")
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> None:
        """Add the folder to the chosen collection, then read it."""
        name = self.chosen()
        if name is not None:
            self._run(
                lambda index: index.add_folder(name, folder), choose=name, then=lambda: self.updates.update([name])
            )

    def remove_folder(self) -> None:
        name, item = self.chosen(), self.folders.currentItem()
        if name is not None and item is not None:
            folder = item.text()
            self._run(lambda index: index.remove_folder(name, folder), choose=name, changed=True)

    def ask_embedding_model(self) -> None:
        model, _filter = QFileDialog.getOpenFileName(
            self, "Choose an embedding model", "", "GGUF embedding models (*.gguf)"
        )
        if model:
            self.set_embedding_model(model)

    def set_embedding_model(self, model: str | None) -> None:
        """Name the chosen collection's embedding model (None: words alone); its passages are embedded by the
        next update, which starts now."""
        name = self.chosen()
        if name is not None:
            then = (lambda: self.updates.update([name])) if model else None
            self._run(lambda index: index.set_embedding_model(name, model), choose=name, changed=True, then=then)

    def words_alone(self) -> None:
        self.set_embedding_model(None)

    def reindex(self) -> None:
        name = self.chosen()
        if name is not None:
            self.updates.update([name])
            self._show_progress(True)

    def _run(
        self,
        action: Callable[[Any], Any],
        choose: str | None = None,
        changed: bool = False,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Change the index (or only read it) on a worker thread, then show the collections as they are. Calls
        run one at a time, in order: two at once could answer out of order and show a list from before a change."""
        self._queued.append((action, choose, changed, then))
        if len(self._queued) == 1:
            self._run_next()

    def _run_next(self) -> None:
        action, choose, changed, then = self._queued[0]

        def finish() -> None:
            self._queued.pop(0)
            if self._queued:
                self._run_next()

        def done(answer: tuple[Any, list[Any], str | None]) -> None:
            finish()
            _result, summaries, problem = answer
            self._show_summaries(summaries, choose)
            if problem:
                self.show_status(problem, True)
                return
            if changed:
                self.collections_changed.emit()
            if then is not None:
                then()

        def failed(error: Exception) -> None:
            finish()
            self.show_status(str(error), True)

        run_in_background(self, _work_on_index(action), done, failed)

    # --- indexing -------------------------------------------------------------------------------------

    def _show_progress(self, shown: bool) -> None:
        for widget in (self.progress, self.progress_label, self.stop_button):
            widget.setVisible(shown)
        if shown and not self.progress_label.text():
            self.progress.setRange(0, 0)  # busy until the first count comes
            self.progress_label.setText("Looking for documents…")
        if not shown:
            self.progress_label.setText("")

    def _on_started(self, name: str) -> None:
        self._show_progress(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(f"Checking {name}…")

    def _on_progress(self, name: str, done: int, total: int, path: str) -> None:
        self._show_progress(True)
        if not total:  # nothing new or changed to read: the check is all there is
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if path.startswith(EMBEDDING_PREFIX):
            model = path[len(EMBEDDING_PREFIX) :]
            self.progress_label.setText(f"Embedding passages with {model} ({done} of {total})")
            return
        what = f"Reading {os.path.basename(path)}" if path else f"Checking {name}"
        self.progress_label.setText(f"{what} ({done} of {total})")

    def _on_finished(self, name: str, report: Any) -> None:
        self.show_status(report_sentence(name, report), bool(report.problems))
        self.collections_changed.emit()

    def _on_failed(self, name: str, sentence: str) -> None:
        self.show_status(sentence, True)


def _search_kind(summary: Any) -> str:
    """How the collection is searched, in words: by words, or also by meaning with its model."""
    if summary.embedding_model is None:
        return "searched by its words"
    model = html.escape(os.path.basename(summary.embedding_model))
    return f"searched by words and meaning ({model}; {summary.vectors} of {summary.passages} passages embedded)"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
