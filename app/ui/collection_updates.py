"""Keeping the document collections up to date with their folders, in the background, while Parlour runs.

One worker thread at a time runs app.documents.indexer.update_collection for each collection asked for, with
its own connection to the index (a DocumentIndex is used from the thread that opened it). Its progress and
its end come back as signals, queued to the GUI thread; Stop is honoured between files. All collections are
checked a little after start and then every RECHECK_MINUTES, and a folder whose entries change (a file saved,
added or deleted, seen by QFileSystemWatcher) has its collection checked again soon after. Checking an
unchanged folder costs one stat per file. Files are only read: nothing is ever uploaded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QFileSystemWatcher, QObject, QThread, QTimer, Signal

log = logging.getLogger(__name__)

FIRST_CHECK_S = 30  # after start: the window's first paint and the model's load come first
RECHECK_MINUTES = 5
WATCH_DELAY_MS = 3000  # after a folder changes: a copy of many files ends before its collection is checked
PROGRESS_EVERY_S = 0.1  # the progress bar moves smoothly without a signal per file of a big folder
WATCHED_FOLDERS = 256  # each watched folder holds a file descriptor; a big tree is left to the timer


class _UpdateThread(QThread):
    """Updates the named collections (None: all of them), one after another."""

    started_one = Signal(str)
    progress = Signal(str, int, int, str)  # collection, done, total, current path
    finished_one = Signal(str, object)  # collection, IndexReport
    failed_one = Signal(str, str)  # collection, sentence
    listed = Signal(list)  # every collection's CollectionSummary, after the updates

    def __init__(self, names: list[str] | None, stop: threading.Event) -> None:
        # A child of the application, deleted (deleteLater) once finished: whatever owned the updates may go
        # first, and a QThread destroyed while it runs aborts the process.
        super().__init__(QCoreApplication.instance())
        self.names = names
        self.stop = stop

    def run(self) -> None:
        from app.documents.index import DocumentIndex
        from app.documents.passages import DocumentError

        try:
            with DocumentIndex.default() as index:
                names = self.names if self.names is not None else [s.name for s in index.collections()]
                for name in names:
                    if self.stop.is_set():
                        break
                    self._update(index, name)
                self.listed.emit(index.collections())
        except DocumentError as error:
            self.failed_one.emit("", str(error))
        except Exception as error:  # a bug: a sentence on screen, the traceback in the log
            log.exception("updating the document collections failed")
            self.failed_one.emit(
                "", f"Updating the collections went wrong ({type(error).__name__}); details are in the log."
            )

    def _update(self, index: Any, name: str) -> None:
        from app.documents.indexer import update_collection
        from app.documents.passages import DocumentError

        self.started_one.emit(name)
        last = [0.0]

        def progress(step: Any) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or step.done >= step.total:
                last[0] = now
                self.progress.emit(name, step.done, step.total, progress_subject(step))

        try:
            report = update_collection(index, name, progress, self.stop.is_set)
        except DocumentError as error:
            self.failed_one.emit(name, str(error))
            return
        self.finished_one.emit(name, report)


def collection_names() -> list[str]:
    """The collections' names, for a worker thread; [] while there is no index yet (none is made for this)."""
    from app.documents.index import DocumentIndex
    from app.documents.index_file import INDEX_FILE_NAME
    from app.paths import data_dir

    if not (data_dir() / INDEX_FILE_NAME).exists():
        return []
    with DocumentIndex.default() as index:
        return [summary.name for summary in index.collections()]


def collection_summaries() -> list[Any]:
    """Every collection's CollectionSummary, for a worker thread."""
    from app.documents.index import DocumentIndex

    with DocumentIndex.default() as index:
        return index.collections()


class CollectionUpdates(QObject):
    """The one runner of collection updates: a queue of collection names and the thread working on them."""

    started = Signal(str)  # a collection's update began
    progress = Signal(str, int, int, str)  # collection, done, total, the file being read
    finished = Signal(str, object)  # collection, IndexReport (its `stopped` says whether Stop ended it)
    failed = Signal(str, str)  # collection ("" for the index as a whole), one sentence
    listed = Signal(list)  # every collection's CollectionSummary, after a round of updates
    idle = Signal()  # nothing left to do

    def __init__(self, parent: QObject | None = None, schedule: bool = True) -> None:
        super().__init__(parent)
        self._thread: _UpdateThread | None = None
        self._stop = threading.Event()
        self._queue: list[str] | None = []  # None: all collections
        self.current: str | None = None  # the collection being updated now
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._scheduled)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._folder_changed)
        self._changed: set[str] = set()  # folders seen changing, waiting for WATCH_DELAY_MS
        self._folders: dict[str, list[str]] = {}  # folder -> the collections that hold it
        self._watch_timer = QTimer(self)
        self._watch_timer.setSingleShot(True)
        self._watch_timer.setInterval(WATCH_DELAY_MS)
        self._watch_timer.timeout.connect(self._update_changed)
        if schedule:
            self._timer.start(FIRST_CHECK_S * 1000)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def update(self, names: list[str] | None = None) -> None:
        """Bring these collections (None: all) up to date, after what is already under way."""
        if names is None or self._queue is None:
            self._queue = None
        else:
            self._queue += [name for name in names if name not in self._queue and name != self.current]
        self._next()

    def stop(self) -> None:
        """Stop the update under way (between two files) and those waiting."""
        self._queue = []
        self._stop.set()

    def shutdown(self) -> None:
        """Stop, and wait for the thread: it holds the index open."""
        self._timer.stop()
        self._watch_timer.stop()
        self.stop()
        if self._thread is not None:
            self._thread.wait()

    def _scheduled(self) -> None:
        self._timer.start(RECHECK_MINUTES * 60 * 1000)
        from app.documents.index_file import INDEX_FILE_NAME
        from app.paths import data_dir

        if (data_dir() / INDEX_FILE_NAME).exists():  # no index yet: nothing to check, and none is made
            self.update(None)

    def _next(self) -> None:
        if self._thread is not None:
            return
        if self._queue == []:
            self.idle.emit()
            return
        names, self._queue = self._queue, []
        self._stop = threading.Event()
        thread = _UpdateThread(names, self._stop)
        thread.started_one.connect(self._on_started)
        thread.progress.connect(self.progress)
        thread.finished_one.connect(self._on_finished)
        thread.failed_one.connect(self._on_failed)
        thread.listed.connect(self._on_listed)
        thread.finished.connect(self._on_thread_done)
        thread.finished.connect(thread.deleteLater)
        self._thread = thread
        thread.start()

    def _on_started(self, name: str) -> None:
        self.current = name
        self.started.emit(name)

    def _on_finished(self, name: str, report: Any) -> None:
        self.current = None
        self.finished.emit(name, report)

    def _on_failed(self, name: str, sentence: str) -> None:
        self.current = None
        self.failed.emit(name, sentence)

    def _on_listed(self, summaries: list[Any]) -> None:
        self._watch(summaries)
        self.listed.emit(summaries)

    def _on_thread_done(self) -> None:
        self._thread = None
        self.current = None
        self._next()

    # --- folders watched ----------------------------------------------------------------------------

    def _watch(self, summaries: list[Any]) -> None:
        folders: dict[str, list[str]] = {}
        for summary in summaries:
            for folder in summary.folders:
                folders.setdefault(str(folder), []).append(summary.name)
        self._folders = folders
        wanted = list(folders)[:WATCHED_FOLDERS]
        old = self._watcher.directories()
        gone = [folder for folder in old if folder not in folders]
        if gone:
            self._watcher.removePaths(gone)
        new = [folder for folder in wanted if folder not in old]
        if new:
            self._watcher.addPaths(new)  # a folder that is gone is simply not watched

    def _folder_changed(self, folder: str) -> None:
        self._changed.add(folder)
        self._watch_timer.start()

    def _update_changed(self) -> None:
        changed, self._changed = self._changed, set()
        names = sorted({name for folder in changed for name in self._folders.get(folder, [])})
        if names:
            self.update(names)


EMBEDDING_PREFIX = "embedding:"


def progress_subject(step: Any) -> str:
    """What a progress step is busy with: the file being read, or (marked) the model embedding passages."""
    if getattr(step, "stage", "reading") == "embedding":
        return EMBEDDING_PREFIX + os.path.basename(str(step.current_path or ""))
    return str(step.current_path or "")
