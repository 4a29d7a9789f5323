"""Start the Qt application and show the main window."""

from __future__ import annotations

import os
import sys
import time


def run_app(argv: list[str], engine_log: str | None) -> int:
    started = time.perf_counter()
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Parlour")
    app.setOrganizationName("Parlour")
    window = MainWindow(engine_log=engine_log)
    window.show()
    if os.environ.get("PARLOUR_MEASURE_STARTUP"):
        # For benchmarks: time from process start to the window shown, then quit.
        app.processEvents()
        print(f"window_shown_s={time.perf_counter() - started:.3f}", flush=True)
        window.close()
        return 0
    code = app.exec()
    return int(code)
