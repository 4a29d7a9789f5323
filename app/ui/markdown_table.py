"""A Markdown table block read into cells: the header, each column's alignment, the body rows.

Pipes inside code spans or escaped with a backslash do not split cells. A block whose second
line is not a delimiter row (yet: the reply may still be arriving) is no table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt

_DELIMITER_CELL = re.compile(r"^\s*:?-{1,}:?\s*$")


@dataclass(frozen=True)
class Table:
    """The cells of a table; `aligns` has None where a column keeps the default (left)."""

    header: list[str]
    aligns: list[Qt.AlignmentFlag | None]
    body: list[list[str]]


def parse_table(lines: list[str]) -> Table | None:
    rows = [split_row(line) for line in lines]
    if len(rows) < 2 or not rows[1] or not all(_DELIMITER_CELL.match(cell) for cell in rows[1]):
        return None
    return Table(rows[0], [alignment(cell) for cell in rows[1]], rows[2:])


def split_row(line: str) -> list[str]:
    """Cells of a table row; pipes inside code spans or escaped with a backslash do not split."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells, current, in_code, i = [], [], False, 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] == "|":
            current.append("|")
            i += 2
            continue
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    cells.append("".join(current).strip())
    return cells


def alignment(cell: str) -> Qt.AlignmentFlag | None:
    cell = cell.strip()
    if cell.startswith(":") and cell.endswith(":"):
        return Qt.AlignmentFlag.AlignHCenter
    if cell.endswith(":"):
        return Qt.AlignmentFlag.AlignRight
    return None
