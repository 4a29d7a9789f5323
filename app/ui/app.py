"""Start the Qt application: one instance per data folder, the store opened (or a damaged
one moved aside with a notice), interrupted replies marked, then the main window."""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger(__name__)


def run_app(argv: list[str], engine_log: str | None) -> int:
    started = time.perf_counter()
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.store.db import open_store
    from app.store.errors import StoreError, StoreInUseError
    from app.store.instance import InstanceLock
    from app.store.replies import mark_interrupted_replies
    from app.ui.app_icon import app_icon
    from app.ui.single_instance import RaiseRequests, ask_running_instance_to_raise
    from app.ui.theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Parlour")
    app.setOrganizationName("Parlour")
    app.setWindowIcon(app_icon())
    apply_theme(app)
    try:
        lock = InstanceLock.acquire()
    except StoreInUseError:
        if ask_running_instance_to_raise():
            print("Parlour is already open; its window was brought forward.", file=sys.stderr)
            return 0
        QMessageBox.warning(None, "Parlour", "Another Parlour is using your chats; close it and try again.")
        return 2
    try:
        store = open_store()
    except StoreError as err:
        QMessageBox.critical(None, "Parlour", str(err))
        lock.release()
        return 2
    interrupted = mark_interrupted_replies(store)

    from app.ui.main_window import MainWindow

    window = MainWindow(store, engine_log=engine_log)
    raise_requests = RaiseRequests(window)
    raise_requests.raise_requested.connect(window.bring_forward)
    window.show()
    if store.notice:
        window.show_notice(store.notice)
    elif interrupted:
        replies = "1 reply was" if interrupted == 1 else f"{interrupted} replies were"
        window.show_notice(f"{replies} cut off when Parlour last stopped; open the chat to continue or regenerate.")
    measure = os.environ.get("PARLOUR_MEASURE_STARTUP")
    if measure:
        # For benchmarks: time from process start to the window shown, then quit. With "loaded"
        # (the packaging test), quit once the first model the window loads has loaded, naming it.
        app.processEvents()
        print(f"window_shown_s={time.perf_counter() - started:.3f}", flush=True)
        code = _until_first_load(app, window, started) if measure == "loaded" else 0
        window.close()
        store.close()
        lock.release()
        return code
    code = app.exec()
    store.close()
    lock.release()
    return int(code)


def _until_first_load(app: Any, window: Any, started: float) -> int:
    """Run the window until its first model load ends: 0 with `model_loaded=...` printed, 1 if it failed."""

    def loaded(info: Any, engine: str) -> None:
        seconds = time.perf_counter() - started
        print(f"model_loaded_s={seconds:.3f}\nmodel_loaded={info.name}\nmodel_path={info.path}", flush=True)
        print(f"model_engine={engine}", flush=True)
        app.exit(0)

    def failed(sentence: str) -> None:
        print(f"model_load_failed={sentence}", flush=True)
        app.exit(1)

    window.session.loaded.connect(loaded)
    window.session.load_failed.connect(failed)
    return int(app.exec())
