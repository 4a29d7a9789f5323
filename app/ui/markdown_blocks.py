"""Markdown split into blocks (paragraphs, headings, rules, lists, quotes, tables, code), incrementally.

A streaming reply only ever grows at its end, so a block that a later line has ended can never
change again: `BlockSplitter` hands such blocks out once, as finished, and re-parses only the
open region at the end (the last block and the partial last line) on each update. Only complete
lines decide where a block ends; the partial line is shown with the open block but never closes it.

Long code blocks and long lists are cut into chunks (every CODE_CHUNK_LINES lines and every
LIST_CHUNK_ITEMS items) so that one update never re-parses more than one chunk. The chunking is
part of the grammar, not of the streaming, so a whole text parsed at once gives the same blocks.

No Qt here: this is plain text processing, tested on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE_CHUNK_LINES = 40
LIST_CHUNK_ITEMS = 12

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*)|$)")
_QUOTE = re.compile(r"^ {0,3}>")


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a message, with the source lines it was made from."""

    kind: str  # paragraph, heading, rule, code, list, quote, table
    lines: tuple[str, ...]
    level: int = 0  # heading: 1-6
    language: str = ""  # code: the first word of the fence's info string
    fence: int = -1  # code: ordinal of the fence in the message; list: ordinal of its first nested fence
    first_chunk: bool = True  # False for the continuation of a code block or list cut into chunks
    closed: bool = False  # code: the closing fence has arrived
    item_offset: int = 0  # list chunk: items of the same list before it (ordered lists count on)


@dataclass(frozen=True, slots=True)
class _Resume:
    """Parser state at the start of a block that continues an earlier chunk."""

    fence_marker: str = ""  # inside a fence: its backticks or tildes
    language: str = ""
    fence: int = -1
    item_offset: int = 0  # inside a list: the items before


@dataclass(frozen=True, slots=True)
class _Parsed:
    block: Block
    start: int  # first line index in the parsed lines
    end: int  # one past the last line of the block (trailing blank lines excluded)
    closed: bool  # no later line can join this block
    fences_before: int  # fence ordinal counter at the block's start
    resume: _Resume | None  # what a parse starting at this block needs to know


def fence_opener(line: str) -> tuple[str, str] | None:
    """(marker, language) if the line opens a fenced code block."""
    match = _FENCE.match(line)
    if not match:
        return None
    marker, info = match.group(2), match.group(3).strip()
    if marker[0] == "`" and "`" in info:
        return None  # an inline code span such as ```x```, not a fence
    return marker, info.split()[0] if info else ""


def closes_fence(line: str, marker: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(marker) and stripped == marker[0] * len(stripped)


def is_list_item(line: str) -> bool:
    return _LIST_ITEM.match(line) is not None and not _RULE.match(line)


def _interrupts_paragraph(line: str) -> bool:
    if fence_opener(line) or _HEADING.match(line) or _RULE.match(line) or _QUOTE.match(line):
        return True
    if line.lstrip().startswith("|"):
        return True
    match = _LIST_ITEM.match(line)
    # As in CommonMark, only a bullet or an item numbered 1 may interrupt a paragraph.
    return bool(match and (match.group(3) or "").strip() and match.group(2) in ("-", "*", "+", "1.", "1)"))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def parse_blocks(lines: list[str], fences_before: int = 0, resume: _Resume | None = None) -> tuple[list[_Parsed], int]:
    """Blocks of complete lines, and the fence counter after them."""
    out: list[_Parsed] = []
    i, n, fences = 0, len(lines), fences_before
    if resume is not None and resume.fence_marker:
        i, fences = _parse_code(lines, 0, out, fences, resume)
    elif resume is not None:
        i, fences = _parse_list(lines, 0, out, fences, resume.item_offset)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if fence_opener(line):
            i, fences = _parse_code(lines, i, out, fences, None)
        elif match := _HEADING.match(line):
            block = Block("heading", (match.group(2) or "",), level=len(match.group(1)))
            out.append(_Parsed(block, i, i + 1, True, fences, None))
            i += 1
        elif _RULE.match(line):
            out.append(_Parsed(Block("rule", (line,)), i, i + 1, True, fences, None))
            i += 1
        elif is_list_item(line):
            i, fences = _parse_list(lines, i, out, fences, 0)
        elif _QUOTE.match(line):
            i = _parse_simple(lines, i, out, fences, "quote", _continues_quote)
        elif line.lstrip().startswith("|"):
            i = _parse_simple(lines, i, out, fences, "table", _continues_table)
        else:
            i = _parse_simple(lines, i, out, fences, "paragraph", _continues_paragraph)
    return out, fences


def _continues_quote(line: str) -> bool:
    return bool(_QUOTE.match(line)) or not _interrupts_paragraph(line)  # lazy continuation, as in CommonMark


def _continues_table(line: str) -> bool:
    return line.lstrip().startswith("|")


def _continues_paragraph(line: str) -> bool:
    return not _interrupts_paragraph(line)


def _parse_simple(lines: list[str], start: int, out: list[_Parsed], fences: int, kind: str, continues) -> int:
    """Paragraphs, quotes and tables: consecutive lines until a blank line or another block."""
    i = start + 1
    while i < len(lines) and lines[i].strip() and continues(lines[i]):
        i += 1
    closed = i < len(lines)  # ended by a blank line or by the next block
    out.append(_Parsed(Block(kind, tuple(lines[start:i])), start, i, closed, fences, None))
    return i


def _parse_code(lines: list[str], start: int, out: list[_Parsed], fences: int, resume: _Resume | None):
    """A fenced code block, cut into chunks of CODE_CHUNK_LINES lines; it may start mid-fence (resume)."""
    if resume is None:
        opener = fence_opener(lines[start])
        assert opener is not None
        marker, language = opener
        ordinal, chunk_fences, fences = fences, fences, fences + 1
        body, first = start + 1, True
    else:
        if start >= len(lines):
            return start, fences  # nothing of this chunk has arrived yet
        marker, language, ordinal = resume.fence_marker, resume.language, resume.fence
        chunk_fences, body, first = fences, start, False
    chunk_start, i = start, body
    while True:
        closing = i < len(lines) and closes_fence(lines[i], marker)
        cut = not closing and i < len(lines) and i - body == CODE_CHUNK_LINES
        if i >= len(lines) or closing or cut:
            block = Block(
                "code", tuple(lines[body:i]), language=language, fence=ordinal, first_chunk=first, closed=closing
            )
            resume_here = None if first else _Resume(fence_marker=marker, language=language, fence=ordinal)
            end = i + 1 if closing else i
            out.append(_Parsed(block, chunk_start, end, closing or cut, chunk_fences, resume_here))
            if not cut:
                return end, fences
            chunk_start, body, first, chunk_fences = i, i, False, fences
        i += 1


def _parse_list(lines: list[str], start: int, out: list[_Parsed], fences: int, item_offset: int):
    """A list, with nested items, continuation lines and fenced code inside items."""
    if start >= len(lines):
        return start, fences  # nothing of this chunk has arrived yet
    base = _indent(lines[start])
    chunk_start, chunk_fences, chunk_items, items = start, fences, item_offset, 0
    first = item_offset == 0
    i, last_content, marker = start, start, ""
    blank_before = False
    while i < len(lines):
        line = lines[i]
        if marker:  # inside a nested fence: every line belongs to it
            if closes_fence(line, marker):
                marker = ""
            last_content, i = i, i + 1
            continue
        if not line.strip():
            blank_before, i = True, i + 1
            continue
        item = is_list_item(line)
        if item and _indent(line) <= base:
            if items and items % LIST_CHUNK_ITEMS == 0:
                _emit_list(lines, out, chunk_start, last_content + 1, chunk_fences, chunk_items, first, True)
                chunk_start, chunk_fences, chunk_items, first = i, fences, item_offset + items, False
            items += 1
        elif not item and _indent(line) < 2 and (blank_before or _interrupts_paragraph(line)):
            break  # the list has ended: this line starts the next block
        if opener := fence_opener(line):
            marker, fences = opener[0], fences + 1
        blank_before, last_content, i = False, i, i + 1
    ended = i < len(lines)
    _emit_list(lines, out, chunk_start, last_content + 1, chunk_fences, chunk_items, first, ended)
    return (i if ended else len(lines)), fences


def _emit_list(lines, out, start, end, fences, item_offset, first, closed) -> None:
    block = Block("list", tuple(lines[start:end]), fence=fences, first_chunk=first, item_offset=item_offset)
    resume = None if first else _Resume(item_offset=item_offset)
    out.append(_Parsed(block, start, end, closed, fences, resume))


class BlockSplitter:
    """Feeds a growing text and hands out finished blocks once, plus the open blocks at the end."""

    def __init__(self) -> None:
        self.text = ""
        self.finished: list[Block] = []
        self.tail: list[Block] = []
        self._open_at = 0  # offset in text where the open region starts
        self._fences = 0  # fence counter at _open_at
        self._resume: _Resume | None = None

    def feed(self, text: str) -> list[Block]:
        """Take the new text (which must extend the old one) and return the blocks finished by it."""
        if not text.startswith(self.text):
            raise ValueError("the text must grow at its end; use a new splitter for other changes")
        self.text = text
        region = text[self._open_at :]
        cut = region.rfind("\n") + 1
        complete = region[:cut].split("\n")[:-1] if cut else []
        parsed, fences_after = parse_blocks(complete, self._fences, self._resume)
        count = len(parsed) if parsed and parsed[-1].closed else max(len(parsed) - 1, 0)
        newly = [p.block for p in parsed[:count]]
        if count:
            if count < len(parsed):
                nxt = parsed[count]
                start_line, self._fences, self._resume = nxt.start, nxt.fences_before, nxt.resume
            else:
                start_line, self._fences, self._resume = len(complete), fences_after, None
            self._open_at += sum(len(line) + 1 for line in complete[:start_line])
            self.finished.extend(newly)
        open_lines = text[self._open_at :].split("\n")
        if not open_lines[-1]:
            open_lines.pop()  # the text ends with a line break: there is no partial line
        self.tail = [p.block for p in parse_blocks(open_lines, self._fences, self._resume)[0]]
        return newly

    @property
    def blocks(self) -> list[Block]:
        return self.finished + self.tail
