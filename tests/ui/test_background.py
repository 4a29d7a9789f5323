"""run_in_background lets go of its owner on the GUI thread once the answer is delivered: a widget whose last
reference went on the worker thread would be destroyed there, leaving its timers behind (a crash later)."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from app.ui.background import run_in_background


def test_the_owner_and_the_callbacks_are_let_go_of_once_delivered(qtbot) -> None:
    owner = QObject()
    answers: list[object] = []
    threads: list[threading.Thread] = []

    def work() -> str:
        threads.append(threading.current_thread())
        return "done"

    call = run_in_background(owner, work, answers.append, answers.append)
    qtbot.waitUntil(lambda: answers == ["done"])
    assert threads[0] is not threading.main_thread()
    watched = weakref.ref(owner)
    del owner
    gc.collect()
    assert watched() is None  # the call, still held here, keeps nothing of its owner
    assert call._on_done is None and call._on_failed is None and call._work is None


def test_an_owner_deleted_while_the_work_runs_hears_nothing(qtbot) -> None:
    owner = QObject()
    answers: list[object] = []
    release = threading.Event()
    call = run_in_background(owner, lambda: release.wait(30), answers.append, answers.append)
    owner.deleteLater()
    qtbot.waitUntil(lambda: call._owner is not None and not _valid(call._owner))
    release.set()
    qtbot.waitUntil(lambda: call._owner is None)
    assert answers == []


def _valid(obj: QObject) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)
