"""Text on its way to the terminal: never a control sequence, never a crash on odd characters.

A model's name from GGUF metadata, a template's raise_exception() message or a path on
disk can carry escape sequences (ESC [ ... moves the cursor, retitles the window, or worse)
and lone surrogates (from undecodable file names), which a UTF-8 stream refuses to write.
Everything the command line prints, except the model's streamed reply itself, goes
through `printable`.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

# C0 controls but tab, DEL, C1 controls, UTF-16 surrogates (never valid on their own), and the
# marks and overrides that reorder or hide text on screen (a title could otherwise pose as another).
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        # surrogateescape's stand-in for an undecodable byte: show the byte itself.
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: object, *, multiline: bool = False) -> str:
    """`text` with every control character shown as an escape (\\x1b), so it prints as it reads.

    Tabs stay; newlines stay only when `multiline` (output meant to span lines).
    """
    text = str(text)
    if not multiline:
        return _UNPRINTABLE.sub(_escaped, text)
    return "\n".join(_UNPRINTABLE.sub(_escaped, line) for line in text.split("\n"))


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a C0 or C1 control character (a newline, a tab, an escape...)."""
    return any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in text)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print `message` as one line on stderr, prefixed `parlour:`, and return `code` (the exit status)."""
    print(f"parlour: {printable(message)}", file=sys.stderr)
    return code


def say(text: str = "", *, multiline: bool = False) -> None:
    """One line (or, with `multiline`, several) of ordinary output on stdout, made printable."""
    print(printable(text, multiline=multiline))


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


def exit_code_for(error: BaseException) -> int:
    """2 when the person's input was wrong (a bad file, an unknown name, an impossible setting), else 1."""
    from engines.base import USER_INPUT_CODES, EngineError

    if isinstance(error, EngineError) and error.code in USER_INPUT_CODES:
        return EXIT_BAD_INPUT
    names = {cls.__name__ for cls in type(error).__mro__}
    if "StoreError" in names:  # the store's own failures (busy, full, damaged, too new) are not the person's
        failures = {"StoreTooNewError", "DiskFullError", "StoreBusyError", "StoreDamagedError", "StoreInUseError"}
        return EXIT_FAILED if names & failures else EXIT_BAD_INPUT
    return EXIT_FAILED
