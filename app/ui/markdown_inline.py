"""Inline Markdown: code spans, emphasis, strikethrough and links, as a list of styled spans.

Deliberately small and forgiving: a marker without its closing partner (common mid-stream, such
as `**bold te`) stays literal text. Raw HTML is never interpreted, and images become links, so
nothing is fetched from the network.

A reply is model output, and the open paragraph is parsed again on every streamed update, so
the work must stay linear in the text whatever it holds: runs of markers and matching brackets
are found in one pass, URLs are length-bounded, and styles nest at most MAX_NESTING deep (past
that, markers are plain text; two thousand asterisks once exhausted the recursion limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_SPECIAL = re.compile(r"[\\`*_~\[!<h\n]")
_ESCAPABLE = set("\\`*_{}[]()#+-.!|~<>\"'")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^\s<>]{1,2048})>")
_BARE_URL = re.compile(r"https?://[^\s<>()\[\]]{0,2048}[^\s<>()\[\].,;:!?'\"*_~]")
_LINK_TAIL = re.compile(r"\(\s{0,64}<?([^\s)>]{0,2048})>?(?:\s{1,64}\"[^\"]{0,512}\")?\s{0,64}\)")
MAX_NESTING = 16


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
    _parse(text, Span(""), out, 0)
    return _merge(out)


class _Scan:
    """What one pass over a text knows: the length of the run of equal characters at each position,
    and where each "[" closes. Looked up instead of searched for, so parsing stays linear."""

    def __init__(self, text: str) -> None:
        n = len(text)
        self.runs = [1] * n
        for i in range(n - 2, -1, -1):
            if text[i] == text[i + 1]:
                self.runs[i] = self.runs[i + 1] + 1
        self.closing: dict[int, int] = {}
        # (marker, width) -> a position from which no closer exists: a later opener need not look again.
        self.no_closer_from: dict[str, int] = {}
        self.last_paren = text.rfind(")")  # a link needs a ")" after its "]"
        open_brackets: list[int] = []
        j = 0
        while j < n:
            char = text[j]
            if char == "\\":
                j += 2
                continue
            if char == "[":
                open_brackets.append(j)
            elif char == "]" and open_brackets:
                self.closing[open_brackets.pop()] = j
            elif char == "`":  # brackets inside code spans do not count
                end = text.find("`", j + 1)
                j = end if end != -1 else j
            j += 1


def _parse(text: str, style: Span, out: list[Span], depth: int) -> None:
    i, plain_from, n = 0, 0, len(text)
    scan = _Scan(text)

    def flush(upto: int) -> None:
        if upto > plain_from:
            out.append(replace(style, text=text[plain_from:upto]))

    while i < n:
        match = _SPECIAL.search(text, i)
        if match is None:
            break
        i = match.start()
        char = text[i]
        consumed = _try_special(text, i, char, style, out, flush, scan, depth)
        if consumed:
            plain_from = i = consumed
        elif char in "`~" or (char in "*_" and depth >= MAX_NESTING):
            i += scan.runs[i]  # a run that opens nothing here opens nothing from inside it either
        else:
            i += 1
    flush(n)


def _try_special(
    text: str,
    i: int,
    char: str,
    style: Span,
    out: list[Span],
    flush,
    scan: _Scan,
    depth: int,  # noqa: ANN001
) -> int:
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
        run = scan.runs[i]
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
        if depth >= MAX_NESTING:
            return 0
        return _try_emphasis(text, i, char, style, out, flush, scan, depth)
    if char == "[" or (char == "!" and text.startswith("![", i)):
        if depth >= MAX_NESTING:
            return 0
        return _try_link(text, i + (char == "!"), i, style, out, flush, scan, depth)
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


def _try_emphasis(
    text: str,
    i: int,
    char: str,
    style: Span,
    out: list[Span],
    flush,
    scan: _Scan,
    depth: int,  # noqa: ANN001
) -> int:
    run = scan.runs[i]
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
    if start >= scan.no_closer_from.get(marker, len(text) + 1):
        return 0
    close = start
    while True:
        close = text.find(marker, close + 1)
        if close == -1:
            scan.no_closer_from[marker] = min(start, scan.no_closer_from.get(marker, start))
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
    _parse(text[start:close], inner, out, depth + 1)
    return close + width


def _try_link(
    text: str,
    bracket: int,
    i: int,
    style: Span,
    out: list[Span],
    flush,
    scan: _Scan,
    depth: int,  # noqa: ANN001
) -> int:
    j = scan.closing.get(bracket, -1)
    if j == -1 or j > scan.last_paren:
        return 0
    match = _LINK_TAIL.match(text, j + 1)
    if not match:
        return 0
    flush(i)
    label = text[bracket + 1 : j] or match.group(1)
    _parse(label, replace(style, href=match.group(1)), out, depth + 1)
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
