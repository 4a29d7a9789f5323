"""Text on its way to a terminal: shown as it reads, never obeyed, never a crash on odd characters.

Titles and messages come from people and models, model names from GGUF metadata,
a template's raise_exception() message from its file. Any of them can carry escape
sequences (ESC [ 2 J clears the screen, an OSC sequence retitles the window) and
lone surrogates (from undecodable file names or arguments) that a UTF-8 stream
refuses to write. Everything the command line prints, except a model's streamed
reply itself, goes through `printable`. It lives here, on the ground floor, so the
store and the command line above it share one definition.
"""

from __future__ import annotations

import re

__all__ = ["has_surrogates", "one_line", "printable"]

# C0 controls but tab, DEL, C1 controls, UTF-16 surrogates (never valid on their own), and the
# marks and overrides that reorder or hide text on screen (a title could otherwise pose as another).
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r"}
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def one_line(text: str) -> str:
    """`text` as one printable column of tab-separated output: runs of whitespace become one space."""
    return printable(" ".join(text.split()))


def has_surrogates(text: str) -> bool:
    """Whether `text` holds a lone surrogate: an undecodable argument byte, or JSON's "\\ud800"."""
    return not text.isascii() and _SURROGATE.search(text) is not None
