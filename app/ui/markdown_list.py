"""The items of a Markdown list block (nesting levels, numbers, continuation lines and fenced code),
and the code of a fence wherever it is, for a code block's Copy link."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.ui.markdown_blocks import Block, closes_fence, fence_opener

_ITEM = re.compile(r"^(\s*)([-*+]|(\d{1,9})[.)])(?:[ \t]+(.*)|$)")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


@dataclass(slots=True)
class ListItem:
    """One item, or one code block nested in an item (is_code), at a nesting level from 0."""

    level: int
    ordered: bool = False
    number: int = 1
    text: str = ""
    is_code: bool = False
    fence: int = -1
    language: str = ""
    code_lines: tuple[str, ...] = ()
    closed: bool = False  # nested code: its closing fence has arrived
    continuation: bool = False  # text that goes on after a nested code block: no bullet of its own


def list_items(block: Block) -> list[ListItem]:
    items: list[ListItem] = []
    indents: list[int] = []  # the marker indent of each open nesting level
    fence = block.fence
    code: ListItem | None = None
    code_indent, marker = 0, ""
    for line in block.lines:
        if code is not None:
            if closes_fence(line, marker):
                code.closed = True
                code = None
            else:
                code.code_lines += (line[code_indent:] if line[:code_indent].isspace() else line.lstrip(),)
            continue
        opener = fence_opener(line)
        if opener is not None:
            level = items[-1].level if items else 0
            code = ListItem(level, is_code=True, fence=fence, language=opener[1])
            fence += 1
            code_indent, marker = len(line) - len(line.lstrip()), opener[0]
            items.append(code)
            continue
        match = _ITEM.match(line)
        if match and not _RULE.match(line):
            indent = len(match.group(1).expandtabs(4))
            while indents and indents[-1] > indent:
                indents.pop()
            if not indents or indents[-1] < indent:
                indents.append(indent)
            number = int(match.group(3)) if match.group(3) else 1
            items.append(ListItem(len(indents) - 1, match.group(3) is not None, number, match.group(4) or ""))
        elif items and not items[-1].is_code and line.strip():
            items[-1].text += "\n" + line.strip()
        elif line.strip():  # text after a nested code block: it continues that item as a new one
            items.append(ListItem(items[-1].level if items else 0, text=line.strip(), continuation=True))
    return items


def fence_code(blocks: list[Block], fence: int) -> str | None:
    """The code of the fence with this ordinal (nested fences in lists included), or None."""
    pieces: list[str] = []
    found = False
    for block in blocks:
        if block.kind == "code" and block.fence == fence:
            found = True
            pieces.extend(block.lines)
        elif block.kind == "list":
            for item in list_items(block):
                if item.is_code and item.fence == fence:
                    found = True
                    pieces.extend(item.code_lines)
    return "\n".join(pieces) if found else None
