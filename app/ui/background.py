"""The window's one way to run work off the GUI thread: slow calls (the network, the disk, a
model listing, a search, a wait for the engine host) run on Qt's thread pool; the answer comes
back on the GUI thread.

`run_in_background(owner, work, on_done, on_failed)` runs `work()` on Qt's thread pool. The
result, or the failure as an error whose str() is one plain sentence, comes back through a queued signal to an
object living on the GUI thread, which then calls `on_done` or `on_failed` there (a signal
connected straight to a Python function would run it on the worker thread instead).

The call object is deliberately not a child of `owner`: a window closed mid-call would delete
its children while the worker is emitting on one. It is a child of the application instead, so
only the GUI thread ever deletes it (if Python owned it, the worker dropping the last reference
would delete a GUI-thread object from the worker thread). It lives until it has delivered, and
then calls back only if `owner` still exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger("parlour.ui")
_pending: set[BackgroundCall] = set()  # alive until delivered: nothing else holds them


class BackgroundCall(QObject):
    """One call on the thread pool, and the GUI-thread callbacks that hear how it went."""

    _finished = Signal(bool, object)  # (succeeded, result or sentence), emitted on the worker thread

    def __init__(
        self,
        work: Callable[[], Any],
        owner: QObject,
        on_done: Callable[[Any], None],
        on_failed: Callable[[Exception], None],
    ) -> None:
        super().__init__(QCoreApplication.instance())
        # Each is let go of once used, so that neither the worker thread nor a call waiting to be deleted
        # holds the owner (or a closure over it) after the answer is delivered.
        self._owner: QObject | None = owner
        self._work: Callable[[], Any] | None = work
        self._on_done: Callable[[Any], None] | None = on_done
        self._on_failed: Callable[[Exception], None] | None = on_failed
        self._finished.connect(self._deliver)

    def start(self) -> None:
        _pending.add(self)
        QThreadPool.globalInstance().start(_Runnable(self))

    def run(self) -> None:
        """On the worker thread."""
        from app.library.errors import LibraryError
        from app.store.errors import StoreError
        from engines.base import EngineError

        work, self._work = self._work, None
        outcome: tuple[bool, Any]
        try:
            outcome = (True, work())
        except (LibraryError, StoreError, EngineError) as err:
            outcome = (False, err)
        except Exception as exc:  # a bug: the sentence on screen, the traceback in the log
            log.exception("background call failed")
            outcome = (False, LibraryError(f"Something went wrong ({type(exc).__name__}); details are in the log."))
        del work  # let go here, while the owner is still held (a closure over a widget must not end it here)
        self._finished.emit(*outcome)

    @Slot(bool, object)
    def _deliver(self, succeeded: bool, value: Any) -> None:
        """On the GUI thread."""
        _pending.discard(self)
        self.deleteLater()
        # Let go of the owner and the callbacks here, on the GUI thread: the worker may still hold this call a
        # moment, and a widget whose last reference goes on a worker thread is destroyed there, its timers
        # left behind on the GUI thread's dispatcher.
        owner, on_done, on_failed = self._owner, self._on_done, self._on_failed
        self._owner = self._on_done = self._on_failed = None
        if owner is None or on_done is None or on_failed is None or not shiboken6.isValid(owner):
            return  # its window was closed while the work ran
        if succeeded:
            on_done(value)
        else:
            on_failed(value)


class _Runnable(QRunnable):
    """Hands one BackgroundCall to a pool thread, and lets go of it once run."""

    def __init__(self, call: BackgroundCall) -> None:
        super().__init__()
        self._call: BackgroundCall | None = call

    def run(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.run()


def run_in_background(
    owner: QObject,
    work: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_failed: Callable[[Exception], None],
) -> BackgroundCall:
    call = BackgroundCall(work, owner, on_done, on_failed)
    call.start()
    return call
