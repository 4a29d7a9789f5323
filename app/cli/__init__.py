"""`parlour ...`: the command line. `main()` parses, checks what was typed, and runs one command.

Imports nothing heavy: `parlour --help` and `--version` must stay instant, and the window's
first paint must not wait for mlx or llama_cpp. Each command group lives in its own module
(chat, models, templates, conversations, doctor; window for no command), imported only when
that command runs (see parser.py).
"""

from __future__ import annotations

import logging
import os
import sys

from app.cli.argument_checks import argument_problem
from app.cli.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from app.cli.log_setup import log_problem, logging_to_file, setup_logging
from app.cli.parser import build_parser
from app.cli.terminal_text import fail, printable

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run `parlour ARGV` and return its exit status (see exit_codes)."""
    argv = sys.argv[1:] if argv is None else argv
    from engines.child_process import run_module_if_asked

    if run_module_if_asked(argv):  # in an app bundle, the engine host and the render process start here
        return EXIT_OK
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()  # first, for every command: whatever fails below leaves its traceback in the log
    problem = argument_problem(parser, args)
    if problem:
        return fail(problem)
    try:
        if getattr(args, "self_test", False):
            from app.cli.self_test import run_self_test

            return run_self_test(as_json=args.json)
        if not getattr(args, "command", None):
            from app.cli.window import open_window

            return open_window(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `parlour ... | head` closed the pipe early: the reader had enough, which is no failure.
        _quiet_stdout()
        return EXIT_OK
    except Exception as err:  # last resort: a sentence on screen, the traceback in the log
        logging.getLogger("parlour").exception("command failed")
        return fail(_last_resort_sentence(err), EXIT_FAILED)


def _quiet_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush at exit says nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _last_resort_sentence(err: Exception) -> str:
    """What to say about a failure no command foresaw: the log has the rest, if there is a log."""
    problem = log_problem()
    if problem and isinstance(err, OSError):
        return problem  # most likely the same unusable data folder
    detail = printable(str(err))[:300]
    where = "details are in the log" if logging_to_file() else "no log could be written either"
    return f"Something went wrong ({err.__class__.__name__}: {detail}); {where}."
