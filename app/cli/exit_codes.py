"""The exit statuses of every `parlour` command, and which one a failure earns.

0 when the command did what was asked, 2 when what the person typed or named was wrong
(a bad file, an unknown ID, an impossible setting: theirs to fix), 1 when Parlour itself
failed (a crash, a full disk, a busy store), and 130 when the person interrupted it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl+C


def exit_code_for(error: BaseException) -> int:
    """EXIT_BAD_INPUT when the person's input was wrong, else EXIT_FAILED."""
    # Imported here: `parlour --version` must not pay for the engines' or the store's modules.
    from app.store.errors import ImportFormatError, NotFoundError
    from engines.base import USER_INPUT_CODES, EngineError

    if isinstance(error, EngineError) and error.code in USER_INPUT_CODES:
        return EXIT_BAD_INPUT
    # Of the store's failures only a name that matches nothing and a malformed import are the person's;
    # a busy, full, damaged or newer store is not.
    if isinstance(error, NotFoundError | ImportFormatError):
        return EXIT_BAD_INPUT
    return EXIT_FAILED
