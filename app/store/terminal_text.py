"""Stored text on its way to a terminal: shown as it reads, never obeyed.

Titles and messages come from people and models; a model can write ESC [ 2 J
(clear the screen) or an OSC sequence that retitles the window, and a path or an
argument decoded with surrogateescape holds lone surrogates that a UTF-8 stream
refuses to write. Everything the store's commands print from stored text or
from arguments goes through `printable`.
"""

from __future__ import annotations

import re

# C0 controls but tab, DEL, C1 controls, UTF-16 surrogates (never valid on their own), and the
# marks and overrides that reorder text on screen (a title could otherwise pose as another).
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        # surrogateescape's stand-in for an undecodable byte: show the byte itself.
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character (except tab), direction override and lone surrogate
    written as an escape."""
    return _UNPRINTABLE.sub(_escaped, text)


def one_line(text: str) -> str:
    """`text` as one printable column of tab-separated output: runs of whitespace become one space."""
    return printable(" ".join(text.split()))


def has_surrogates(text: str) -> bool:
    """Whether `text` holds a lone surrogate: an undecodable argument byte, or JSON's "\\ud800"."""
    return not text.isascii() and _SURROGATE.search(text) is not None
