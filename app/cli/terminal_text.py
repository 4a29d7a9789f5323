"""What the command line writes to the terminal: plain lines, one-sentence failures, JSON.

Everything but a model's streamed reply goes through `printable` (app.store.terminal_text,
shared with the store), so a name, a path or a template's message can never move the
cursor, retitle the window, or crash a write with an undecodable character.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from app.cli.exit_codes import EXIT_BAD_INPUT
from app.store.terminal_text import printable

__all__ = ["fail", "json_text", "note", "printable", "say"]


def note(message: str) -> None:
    """One line on stderr, prefixed `parlour:`: a notice, or why a command failed."""
    print(f"parlour: {printable(message)}", file=sys.stderr)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Say `message` as one line on stderr and return `code`, the exit status to end with."""
    note(message)
    return code


def say(text: object = "", *, multiline: bool = False) -> None:
    """Ordinary output on stdout, made printable, in whatever encoding the terminal has."""
    line = printable(text, multiline=multiline) + "\n"
    try:
        sys.stdout.write(line)
    except UnicodeEncodeError:  # a terminal that is not UTF-8: what it cannot show becomes escapes
        encoding = sys.stdout.encoding or "ascii"
        sys.stdout.write(line.encode(encoding, "backslashreplace").decode(encoding))


def json_text(value: object, **options: Any) -> str:
    """json.dumps that keeps non-ASCII text readable, yet never yields a string stdout cannot write.

    A lone surrogate (from a file name that is not UTF-8) cannot be encoded, so then the
    whole document falls back to ASCII escapes, which every JSON reader decodes the same.
    """
    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True, **options)
    return text
