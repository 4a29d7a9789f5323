"""Inline Markdown: code spans, emphasis, strikethrough and links, as a list of styled spans.

Deliberately small and forgiving: a marker without its closing partner (common mid-stream, such
as `**bold te`) stays literal text. Raw HTML is never interpreted, and images become links, so
nothing is fetched from the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_SPECIAL = re.compile(r"[\\`*_~\[!<h\n]")
_ESCAPABLE = set("\\`*_{}[]()#+-.!|~<>\"'")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^\s<>]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'\"*_~]")
_LINK_TAIL = re.compile(r"\(\s*<?([^\s)>]*)>?(?:\s+\"[^\"]*\")?\s*\)")


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False
    strike: bool = False
    code: bool = False
    href: str | None = None


def parse_inline(text: str) -> list[Span]:
    """Spans for one paragraph's text; a newline inside becomes a span of its own ("\\n")."""
    out: list[Span] = []
    _parse(text, Span(""), out)
    return _merge(out)


def _parse(text: str, style: Span, out: list[Span]) -> None:
    i, plain_from, n = 0, 0, len(text)

    def flush(upto: int) -> None:
        if upto > plain_from:
            out.append(replace(style, text=text[plain_from:upto]))

    while i < n:
        match = _SPECIAL.search(text, i)
        if match is None:
            break
        i = match.start()
        char = text[i]
        consumed = _try_special(text, i, char, style, out, flush)
        if consumed:
            plain_from = i = consumed
        else:
            i += 1
    flush(n)


def _try_special(text: str, i: int, char: str, style: Span, out: list[Span], flush) -> int:
    """If a construct starts at i, emit it (after the plain text before it) and return where it ends."""
    if char == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPABLE:
        flush(i)
        out.append(replace(style, text=text[i + 1]))
        return i + 2
    if char == "\n":
        flush(i)
        out.append(Span("\n"))
        return i + 1
    if char == "`":
        run = len(text) - i - len(text[i:].lstrip("`"))
        close = text.find("`" * run, i + run)
        while close != -1 and close + run < len(text) and text[close + run] == "`":
            close = text.find("`" * run, close + run + 1)
        if close == -1:
            return 0
        code = text[i + run : close]
        if len(code) > 2 and code[0] == " " and code[-1] == " " and code.strip():
            code = code[1:-1]
        flush(i)
        out.append(replace(style, text=code.replace("\n", " "), code=True))
        return close + run
    if char in "*_~":
        return _try_emphasis(text, i, char, style, out, flush)
    if char == "[" or (char == "!" and text.startswith("![", i)):
        return _try_link(text, i + (char == "!"), i, style, out, flush)
    if char == "<":
        match = _AUTOLINK.match(text, i)
        if match:
            flush(i)
            out.append(replace(style, text=match.group(1), href=match.group(1)))
            return match.end()
        return 0
    if char == "h" and (i == 0 or not text[i - 1].isalnum()):
        match = _BARE_URL.match(text, i)
        if match and style.href is None:
            flush(i)
            out.append(replace(style, text=match.group(0), href=match.group(0)))
            return match.end()
    return 0


def _try_emphasis(text: str, i: int, char: str, style: Span, out: list[Span], flush) -> int:
    run = 0
    while i + run < len(text) and text[i + run] == char:
        run += 1
    if char == "~":
        if run != 2:
            return 0
        width = 2
    else:
        width = 2 if run >= 2 else 1
    start = i + width
    if start >= len(text) or text[start].isspace():
        return 0
    if char == "_" and i > 0 and text[i - 1].isalnum():
        return 0  # snake_case_names are not emphasis
    marker = char * width
    close = start
    while True:
        close = text.find(marker, close + 1)
        if close == -1:
            return 0
        if text[close - 1].isspace():
            continue
        after = close + width
        if width == 1 and after < len(text) and text[after] == char:
            close = after  # part of a longer run, such as the end of **bold** inside *it*
            continue
        if char == "_" and after < len(text) and text[after].isalnum():
            continue
        while width == 2 and after < len(text) and text[after] == char:
            close, after = close + 1, after + 1  # ***both***: the bold closes on the last two
        break
    flush(i)
    if char == "~":
        inner = replace(style, strike=True)
    elif width == 2:
        inner = replace(style, bold=True)
    else:
        inner = replace(style, italic=True)
    _parse(text[start:close], inner, out)
    return close + width


def _try_link(text: str, bracket: int, i: int, style: Span, out: list[Span], flush) -> int:
    depth, j = 0, bracket
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "[":
            depth += 1
        elif text[j] == "]":
            depth -= 1
            if depth == 0:
                break
        elif text[j] == "`":  # brackets inside code spans do not count
            end = text.find("`", j + 1)
            j = end if end != -1 else j
        j += 1
    else:
        return 0
    match = _LINK_TAIL.match(text, j + 1)
    if not match:
        return 0
    flush(i)
    label = text[bracket + 1 : j] or match.group(1)
    _parse(label, replace(style, href=match.group(1)), out)
    return match.end()


def _merge(spans: list[Span]) -> list[Span]:
    """Join neighbours of the same style, so the document gets fewer, longer runs."""
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if (
            merged
            and span.text != "\n"
            and merged[-1].text != "\n"
            and replace(merged[-1], text="") == replace(span, text="")
        ):
            merged[-1] = replace(span, text=merged[-1].text + span.text)
        else:
            merged.append(span)
    return merged


def plain_text(spans: list[Span]) -> str:
    return "".join(span.text for span in spans)
