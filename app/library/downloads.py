"""Parlour's download manager: jobs of one or more files, a queue running two at a time.

A DownloadJob fetches a variant's files into models/publisher/repository/ (see
transfer.py for resuming and verifying each file). It checks the free disk space
first, with a margin, reports progress (bytes, speed, time left) at most a few times
a second, and can be paused, resumed and cancelled from any thread. Cancel and pause
both keep the partial files, so starting the same download again resumes it.
"""

from __future__ import annotations

import collections
import enum
import itertools
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.library.errors import LibraryError, disk_full_error, explain
from app.library.transfer import (
    META_SUFFIX,
    PART_SUFFIX,
    READ_TIMEOUT_S,
    RETRY_DELAYS,
    FileTransfer,
    TransferControl,
    TransferStopped,
)
from app.library.variants import RemoteFile

log = logging.getLogger("parlour.downloads")

PROGRESS_INTERVAL_S = 0.25
SPEED_WINDOW_S = 3.0
DISK_MARGIN_BYTES = 500 * 1024 * 1024
DISK_MARGIN_FRACTION = 0.05
PARALLEL_JOBS = 2
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
_job_ids = itertools.count(1)


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class DownloadProgress:
    job_id: int
    repo_id: str
    state: JobState
    done_bytes: int
    total_bytes: int
    bytes_per_s: float
    seconds_left: float | None
    current_file: str | None
    files_done: int
    files_total: int
    destination: Path
    error: str | None = None

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0


ProgressListener = Callable[[DownloadProgress], None]


def format_duration(seconds: float) -> str:
    """0:42, 12:05, 1:02:03: how long is left, as a clock."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def repository_folder(models_root: Path, repo_id: str) -> Path:
    if not REPO_ID.fullmatch(repo_id) or ".." in repo_id:
        raise LibraryError(f"'{repo_id}' is not a Hugging Face repository name (publisher/repository).")
    publisher, _, repository = repo_id.partition("/")
    return models_root / publisher / repository


def unfinished_downloads(models_root: Path | None = None) -> list[dict[str, object]]:
    """Downloads cut short (cancelled, paused, or the app quit): what they are and how far they got.

    Starting the same download again resumes each of them from where it stopped.
    """
    import json

    from app.library.settings import models_folder

    found = []
    for meta in sorted((models_root or models_folder()).rglob("*" + META_SUFFIX)):
        try:
            identity = json.loads(meta.read_text(encoding="utf-8"))
            part = meta.with_name(meta.name.removesuffix(META_SUFFIX) + PART_SUFFIX)
            have = part.stat().st_size if part.exists() else 0
            found.append(
                {
                    "repo_id": identity["repo_id"],
                    "path": identity["path"],
                    "commit": identity["commit"],
                    "have_bytes": have,
                    "size": identity["size"],
                }
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


class DownloadJob:
    def __init__(
        self,
        repo_id: str,
        commit: str,
        files: list[RemoteFile],
        models_root: Path,
        token: str | None = None,
        listener: ProgressListener | None = None,
        label: str | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        read_timeout: float = READ_TIMEOUT_S,
        progress_interval: float = PROGRESS_INTERVAL_S,
    ) -> None:
        if not files:
            raise LibraryError(f"Nothing to download from {repo_id}: no file matches.")
        self.id = next(_job_ids)
        self.repo_id = repo_id
        self.commit = commit
        self.files = list(files)
        self.destination = repository_folder(models_root, repo_id)
        self.token = token
        self.label = label or repo_id
        self.listeners: list[ProgressListener] = [listener] if listener else []
        self.retry_delays = retry_delays
        self.read_timeout = read_timeout
        self.progress_interval = progress_interval
        self.state = JobState.QUEUED
        self.error: str | None = None
        self.network_bytes = 0
        self._lock = threading.Lock()
        self._control = TransferControl()
        self._done_bytes = 0
        self._files_done = 0
        self._current: str | None = None
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._last_emit = 0.0
        self._finished = threading.Event()

    @property
    def done_bytes(self) -> int:
        return self._done_bytes

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def target(self, file: RemoteFile) -> Path:
        path = (self.destination / file.path).resolve()
        if not path.is_relative_to(self.destination.resolve()):
            raise LibraryError(f"The file name {file.path} would leave the models folder; it was refused.")
        return path

    # --- control, from any thread ----------------------------------------------------------------------

    def pause(self) -> None:
        with self._lock:
            waiting = self.state == JobState.QUEUED
            if waiting:
                self.state = JobState.PAUSED
        if waiting:
            self._emit(force=True)
        else:
            self._control.stop("paused")

    def cancel(self) -> None:
        with self._lock:
            idle = self.state in (JobState.QUEUED, JobState.PAUSED, JobState.FAILED)
            if idle:
                self.state = JobState.CANCELLED
                self._finished.set()
        if idle:
            self._emit(force=True)
        else:
            self._control.stop("cancelled")

    def requeue(self) -> None:
        """A paused or failed job goes back in the queue; its parts on disk make it resume."""
        with self._lock:
            if self.state in (JobState.PAUSED, JobState.FAILED):
                self.state = JobState.QUEUED
                self._finished.clear()
        self._emit(force=True)

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    # --- the work, on a worker thread ------------------------------------------------------------------

    def run(self) -> JobState:
        """Download every file; returns the final state (DONE, PAUSED, CANCELLED or FAILED)."""
        with self._lock:
            if self.state.finished:
                return self.state
            self.state = JobState.RUNNING
            self._control = TransferControl()
            self._finished.clear()
            self.error = None
        self._done_bytes, self._files_done = 0, 0
        self._samples.clear()
        try:
            transfers = [self._transfer(f) for f in self.files]
            self._check_disk(transfers)
            self._emit(force=True)
            for transfer in transfers:
                if transfer.destination.exists() and transfer.destination.stat().st_size == transfer.file.size:
                    self._advance(transfer.file.size)  # finished (and verified) in an earlier run
                else:
                    self._current = transfer.file.path
                    transfer.run()
                self._files_done += 1
            self._set(JobState.DONE)
        except TransferStopped as stop:
            self._set(JobState.CANCELLED if stop.reason == "cancelled" else JobState.PAUSED)
        except LibraryError as err:
            self.error = str(err)
            self._set(JobState.FAILED)
        except Exception as exc:  # a bug: a sentence for the user, the traceback for the log
            log.exception("download of %s failed", self.repo_id)
            self.error = str(explain(exc, self.repo_id, with_token=bool(self.token), folder=self.destination))
            self._set(JobState.FAILED)
        return self.state

    def _transfer(self, file: RemoteFile) -> FileTransfer:
        return FileTransfer(
            self.repo_id,
            self.commit,
            file,
            self.target(file),
            self.token,
            self._control,
            self._advance,
            self.retry_delays,
            self.read_timeout,
        )

    def _check_disk(self, transfers: list[FileTransfer]) -> None:
        needed = 0
        for transfer in transfers:
            if not (transfer.destination.exists() and transfer.destination.stat().st_size == transfer.file.size):
                needed += transfer.file.size - transfer.resumable_bytes()
        folder = self.destination
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        margin = DISK_MARGIN_BYTES + int(needed * DISK_MARGIN_FRACTION)
        if needed and needed + margin > free:
            raise disk_full_error(folder, needed, free)

    def _set(self, state: JobState) -> None:
        with self._lock:
            self.state = state
            self._current = None if state.finished else self._current
        self._emit(force=True)
        if state != JobState.RUNNING:
            self._finished.set()

    def _advance(self, count: int, from_network: bool = False) -> None:
        self._done_bytes += count
        if from_network:
            self.network_bytes += count
        else:
            # Bytes found on disk (or thrown away) are not speed: shift the samples with them.
            self._samples = collections.deque((t, done + count) for t, done in self._samples)
        self._emit()

    def snapshot(self) -> DownloadProgress:
        now = time.monotonic()
        samples = self._samples
        samples.append((now, self._done_bytes))
        while len(samples) > 2 and now - samples[0][0] > SPEED_WINDOW_S:
            samples.popleft()
        elapsed = now - samples[0][0]
        speed = max(0.0, (self._done_bytes - samples[0][1]) / elapsed) if elapsed > 0.2 else 0.0
        left = self.total_bytes - self._done_bytes
        return DownloadProgress(
            job_id=self.id,
            repo_id=self.repo_id,
            state=self.state,
            done_bytes=self._done_bytes,
            total_bytes=self.total_bytes,
            bytes_per_s=speed,
            seconds_left=left / speed if speed > 0 else None,
            current_file=self._current,
            files_done=self._files_done,
            files_total=len(self.files),
            destination=self.destination,
            error=self.error,
        )

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_emit < self.progress_interval:
            return
        self._last_emit = now
        progress = self.snapshot()
        for listener in list(self.listeners):
            try:
                listener(progress)
            except Exception:  # a broken listener must not break the download
                log.exception("download progress listener failed")


class DownloadQueue:
    """Runs jobs on worker threads, `parallel` at a time, in the order they were added."""

    def __init__(self, parallel: int = PARALLEL_JOBS) -> None:
        self.parallel = parallel
        self.jobs: list[DownloadJob] = []
        self._running: set[int] = set()
        self._lock = threading.Lock()

    def add(self, job: DownloadJob) -> DownloadJob:
        with self._lock:
            self.jobs.append(job)
        self._pump()
        return job

    def job(self, job_id: int) -> DownloadJob:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise LibraryError("That download is no longer in the list.")

    def pause(self, job_id: int) -> None:
        self.job(job_id).pause()

    def resume(self, job_id: int) -> None:
        job = self.job(job_id)
        job.requeue()
        self._pump()

    def cancel(self, job_id: int) -> None:
        self.job(job_id).cancel()

    def active(self) -> list[DownloadJob]:
        return [j for j in self.jobs if not j.state.finished]

    def wait_all(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in list(self.jobs):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if job.state in (JobState.QUEUED, JobState.RUNNING) and not job.wait(left):
                return False
        return True

    def _pump(self) -> None:
        with self._lock:
            waiting = [j for j in self.jobs if j.state == JobState.QUEUED and j.id not in self._running]
            starting = waiting[: max(0, self.parallel - len(self._running))]
            for job in starting:
                self._running.add(job.id)
        for job in starting:
            threading.Thread(target=self._run, args=(job,), name=f"download-{job.id}", daemon=True).start()

    def _run(self, job: DownloadJob) -> None:
        try:
            job.run()
        finally:
            with self._lock:
                self._running.discard(job.id)
            self._pump()


def plan_download(
    repo_id: str,
    include: list[str] | None = None,
    token: str | None = None,
    models_root: Path | None = None,
) -> DownloadJob:
    """A job for a repository: the files matching `include`, or its only variant (one request: the model info)."""
    from app.library.hub_connection import hub_api, token_arg
    from app.library.settings import models_folder
    from app.library.variants import files_from_siblings, group_variants, select_files

    repository_folder(Path("."), repo_id)  # a bad name fails before any request
    try:
        info = hub_api().model_info(repo_id, files_metadata=True, token=token_arg(token))
    except Exception as exc:
        raise explain(exc, repo_id, with_token=bool(token)) from None
    files = [f for f in files_from_siblings(info.siblings) if f.path != ".gitattributes"]
    if include:
        chosen = select_files(files, include)
        if not chosen:
            raise LibraryError(f"No file in {repo_id} matches {' or '.join(include)}.")
        label = repo_id
    else:
        variants = group_variants(files)
        if not variants:
            raise LibraryError(f"{repo_id} has no GGUF file or MLX model that Parlour can run.")
        if len(variants) > 1:
            names = ", ".join(v.label for v in variants)
            example = variants[0].quantization or variants[0].label
            raise LibraryError(
                f"{repo_id} has several variants ({names}); choose one with --include, "
                f"for example --include '*{example}*'."
            )
        chosen, label = list(variants[0].files), f"{repo_id} ({variants[0].label})"
    return DownloadJob(repo_id, info.sha or "main", chosen, models_root or models_folder(), token, label=label)
