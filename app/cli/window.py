"""`parlour` with no command: open the window, after the checks Qt would otherwise fail with a page of text.

Without a display, or without the X11 libraries Qt's xcb plugin needs, Qt prints a long
message about plugins and aborts; here each is one sentence that says what to do.
"""

from __future__ import annotations

import os
import sys

from app.cli.exit_codes import EXIT_FAILED
from app.cli.log_setup import setup_logging
from app.cli.terminal_text import fail


def display_problem() -> str | None:
    """Why no window can open here, or None. Checked before Qt, which would abort instead."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform.split(":")[0] != "xcb":
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return (
            "No display was found (DISPLAY is not set), so the window cannot open; run Parlour in a desktop "
            "session, or under a virtual screen with `xvfb-run parlour`, or use `parlour chat`."
        )
    return None


def open_window(argv: list[str]) -> int:
    """Open the window (the run of the Qt application) and return its exit status."""
    problem = display_problem()
    if problem:
        return fail(problem)
    from app.cli.qt_libraries import window_libraries_problem

    missing = window_libraries_problem()  # before Qt, which would print a page about plugins and abort
    if missing:
        return fail(missing, EXIT_FAILED)
    engine_log = setup_logging()
    from app.ui.app import run_app

    return run_app(argv, engine_log)
