"""One evaluation run from the window: `run_set` on a thread of its own, each result stored as it comes.

The run keeps its own thread rather than a slot of Qt's thread pool: it lasts minutes, and the pool
(as many threads as cores) also serves the window's short calls, which must not wait behind it.
Results cross to the GUI thread through a queued signal, and are stored there, because the store's
connection belongs to the thread that opened it. The store calls are the ones `parlour eval run`
makes (`start_run`, `add_result` as each case finishes, `finish_run`), so a run made here and one made
in a terminal read back the same way.

Like app.ui.background's calls, the job is a child of the application, not of the window: a window
closed mid-run must not delete the object the thread is still emitting on. Closing asks the run to
stop; it ends after the reply in progress and keeps what finished.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Signal, SignalInstance, Slot

from app.evals.runner import EVAL_PARAMS, CaseResult, ModelUnderTest, run_parameters, run_set
from app.evals.sets import EvalSet, to_jsonl
from app.store import evals as kept
from app.store.db import Store
from app.store.errors import StoreError
from engines.base import GenerationParams

log = logging.getLogger("parlour.ui")
_running: set[EvalRunJob] = set()  # alive until the thread has ended: nothing else may hold them


class EvalRunJob(QObject):
    case_done = Signal(object)  # a CaseResult, once stored (on the GUI thread)
    ended = Signal(str)  # one sentence: how the run ended (on the GUI thread)
    _result_ready = Signal(object)  # emitted on the run's thread
    _thread_ended = Signal(object)  # None, or the sentence of what went wrong; emitted on the run's thread

    def __init__(
        self, store: Store, evals: EvalSet, models: list[ModelUnderTest], params: GenerationParams = EVAL_PARAMS
    ) -> None:
        super().__init__(QCoreApplication.instance())
        self.store = store
        self.evals = evals
        self.models = models
        self.params = params
        self.run_id = 0
        self.done = 0
        self.total = len(evals.cases) * len(models)
        self.running = False
        self._stop = threading.Event()
        self._store_problem: str | None = None
        self._result_ready.connect(self._keep_result)
        self._thread_ended.connect(self._finish)

    def start(self) -> int:
        """Record the run and start answering; the run's id. StoreError when it cannot be recorded."""
        jsonl = to_jsonl(self.evals)
        self.run_id = kept.start_run(self.store, self.evals.name, jsonl, run_parameters(self.params))
        self.running = True
        _running.add(self)
        threading.Thread(target=self._work, name="eval-run", daemon=True).start()
        return self.run_id

    def stop(self) -> None:
        """End the run after the reply in progress."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def next_up(self) -> tuple[str, str] | None:
        """(model, case) being answered now: `run_set` goes model by model, case by case."""
        cases = len(self.evals.cases)
        if self.done >= self.total or not cases:
            return None
        return self.models[self.done // cases].name, self.evals.cases[self.done % cases].id

    def _work(self) -> None:
        """On the run's thread."""
        failure = None
        try:
            for result in run_set(self.evals, self.models, self.params, self._stop.is_set):
                self._emit(self._result_ready, result)
        except Exception as exc:  # a bug, or the engine host would not start: a sentence, the traceback to the log
            log.exception("evaluation run failed")
            failure = f"The run stopped because something went wrong ({type(exc).__name__}); details are in the log."
        self._emit(self._thread_ended, failure)

    def _emit(self, signal: SignalInstance, value: object) -> None:
        # The application may be quitting while the thread still runs: nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            if shiboken6.isValid(self):
                signal.emit(value)

    @Slot(object)
    def _keep_result(self, result: CaseResult) -> None:
        """On the GUI thread: store the result, then tell the window."""
        self.done += 1
        try:
            kept.add_result(self.store, self.run_id, result)
        except (StoreError, sqlite3.Error) as err:
            self._store_problem = f"The results could not be kept ({err}); the run stopped."
            self.stop()
            return
        self.case_done.emit(result)

    @Slot(object)
    def _finish(self, failure: str | None) -> None:
        """On the GUI thread: the run's thread has ended."""
        self.running = False
        _running.discard(self)
        self.deleteLater()
        try:
            kept.finish_run(self.store, self.run_id)  # stopped or not, nothing more will come
        except (StoreError, sqlite3.Error) as err:
            failure = failure or f"The end of the run could not be recorded ({err})."
        self.ended.emit(failure or self._store_problem or self._outcome())

    def _outcome(self) -> str:
        name = self.evals.name
        if self.done < self.total:
            return f"Stopped {name} after {self.done} of {self.total} replies; the finished ones are kept."
        models = f"{len(self.models)} model{'s' if len(self.models) > 1 else ''}"
        return f"Finished {name} on {models}; kept as run {self.run_id}."
