"""The download under way (in the Hub browser, or the welcome view): its progress bar, what it is doing in
words, pause and cancel; and, for a download known only by name, asking the Hub for its files first.

A download runs on the queue's own thread and can outlive the window, so its progress is not
a Qt signal: the job's thread writes the newest progress under a lock and a GUI timer reads
it a few times a second.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.library.downloads import DownloadJob, DownloadProgress, DownloadQueue, JobState, format_duration
from app.ui.background import run_in_background
from engines.inspect import human_size

PROGRESS_POLL_MS = 200


class _LatestProgress:
    """The newest progress of a download, written by its thread and read by a GUI timer.

    Plain Python under a lock rather than a Qt signal: a download can outlive the window, and
    then nothing of Qt's is touched from its thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: DownloadProgress | None = None

    def put(self, progress: DownloadProgress) -> None:
        with self._lock:
            self._value = progress

    def take(self) -> DownloadProgress | None:
        with self._lock:
            value, self._value = self._value, None
        return value


def describe(progress: DownloadProgress) -> str:
    """What a download is doing, in words."""
    state = progress.state
    if state == JobState.RUNNING:
        speed = f"{human_size(progress.bytes_per_s)}/s" if progress.bytes_per_s else "starting"
        left = f", {format_duration(progress.seconds_left)} left" if progress.seconds_left is not None else ""
        return f"{human_size(progress.done_bytes)} of {human_size(progress.total_bytes)} · {speed}{left}"
    if state == JobState.DONE:
        return f"Downloaded to {progress.destination}"
    if state == JobState.FAILED:
        return progress.error or "The download failed."
    if state == JobState.PAUSED:
        return f"Paused at {human_size(progress.done_bytes)} of {human_size(progress.total_bytes)}"
    if state == JobState.CANCELLED:
        return "Cancelled; downloading it again resumes where it stopped."
    return "Waiting for another download to finish…"


class DownloadPanel(QWidget):
    """Owns the one download the browser follows: shows it, pauses, resumes and cancels it."""

    finished = Signal()  # the followed download ended (done, failed for good, or cancelled), or could not start
    failed = Signal(object)  # asking the Hub for the files failed: the LibraryError, whose str() is the sentence

    def __init__(self, queue: DownloadQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.job: DownloadJob | None = None
        self._planning = False
        self._latest = _LatestProgress()
        self._timer = QTimer(self, interval=PROGRESS_POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        for button in (self.pause_button, self.cancel_button):
            button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.pause_button.setAccessibleName("Pause the download")
        self.pause_button.setAccessibleDescription("Pause the download; Resume carries on from where it stopped")
        self.cancel_button.setAccessibleName("Cancel the download")
        self.cancel_button.setAccessibleDescription("Stop the download and delete what was fetched")
        self.progress.setAccessibleName("Download progress")
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.cancel_button.clicked.connect(self._cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.cancel_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.progress_label)

    def busy(self) -> bool:
        return self._planning or (self.job is not None and not self.job.state.finished)

    def plan_and_follow(self, plan: Callable[[], DownloadJob], what: str) -> None:
        """Ask the Hub for the files (`plan`, off the GUI thread), then queue the download and show it."""
        self._planning = True
        self.progress.setValue(0)
        self.progress_label.setText(f"Asking the Hugging Face Hub for the files of {what}…")
        run_in_background(self, plan, self._planned, self._plan_failed)

    def _planned(self, job: DownloadJob) -> None:
        self._planning = False
        self.follow(job)

    def _plan_failed(self, error: Exception) -> None:
        self._planning = False
        self.progress_label.setText(str(error))
        self.failed.emit(error)
        self.finished.emit()

    def follow(self, job: DownloadJob) -> None:
        """Queue `job` and show its progress."""
        job.listeners.append(self._latest.put)
        self.job = job
        self._timer.start()
        self.pause_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.progress_label.setText(f"Waiting to download {job.label}…")
        self.queue.add(job)

    def _poll(self) -> None:
        progress = self._latest.take()
        if progress is not None:
            self.show_progress(progress)

    def show_progress(self, progress: DownloadProgress) -> None:
        if self.job is None or progress.job_id != self.job.id:
            return
        self.progress.setValue(int(progress.fraction * 1000))
        state = progress.state
        self.progress_label.setText(describe(progress))
        resumable = state in (JobState.PAUSED, JobState.FAILED)
        self.pause_button.setText("Resume" if resumable else "Pause")
        self.pause_button.setAccessibleName("Resume the download" if resumable else "Pause the download")
        self.pause_button.setEnabled(state not in (JobState.DONE, JobState.CANCELLED))
        self.cancel_button.setEnabled(not state.finished)
        if state.finished:
            self._timer.stop()
            self.finished.emit()
        elif state == JobState.PAUSED:
            self._timer.stop()

    def _pause_or_resume(self) -> None:
        if self.job is None:
            return
        if self.job.state in (JobState.PAUSED, JobState.FAILED):
            self._timer.start()
            self.queue.resume(self.job.id)
        else:
            self.queue.pause(self.job.id)

    def _cancel(self) -> None:
        if self.job is not None:
            self._timer.start()
            self.queue.cancel(self.job.id)
