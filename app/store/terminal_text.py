"""Stored text on its way to a terminal: shown as it reads, never obeyed.

Titles and messages come from people and models; a model can write ESC [ 2 J
(clear the screen) or an OSC sequence that retitles the window, and a path or an
argument decoded with surrogateescape holds lone surrogates that a UTF-8 stream
refuses to write. Everything the store's commands print from stored text or
from arguments goes through `printable`.
"""

from __future__ import annotations

import re

from app.terminal_text import printable

__all__ = ["has_surrogates", "one_line", "printable"]
_SURROGATE = re.compile("[\ud800-\udfff]")


def one_line(text: str) -> str:
    """`text` as one printable column of tab-separated output: runs of whitespace become one space."""
    return printable(" ".join(text.split()))


def has_surrogates(text: str) -> bool:
    """Whether `text` holds a lone surrogate: an undecodable argument byte, or JSON's "\\ud800"."""
    return not text.isascii() and _SURROGATE.search(text) is not None
