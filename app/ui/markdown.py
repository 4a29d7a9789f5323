"""Markdown into a QTextDocument, incrementally: what the chat view shows for a reply.

`MarkdownDocument.set_text` is called with the reply as it grows. The text is split into blocks
(markdown_blocks); a block that can no longer change is written into the document once and never
touched again; only the open blocks at the end (usually one) are removed and written anew. So an
update costs the size of the last block, not of the reply: the lesson of gpt4all, which re-parsed
the whole message on every token.

The document is built with QTextCursor calls, not HTML: inserting an HTML fragment merges its
first block into the block at the cursor and loses its format, and parsing HTML would cost more.
Code is highlighted by Pygments (code_highlight). Links are anchors the view reports, never opens;
each code block has a "Copy" anchor whose href is COPY_SCHEME:<fence ordinal>.
"""

from __future__ import annotations

import re

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import (
    QBrush,
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextFrameFormat,
    QTextLength,
    QTextListFormat,
    QTextTableFormat,
)

from app.ui.chat_theme import ChatTheme
from app.ui.code_highlight import CodeHighlighter
from app.ui.markdown_blocks import Block, BlockSplitter
from app.ui.markdown_inline import Span, parse_inline
from app.ui.markdown_list import ListItem, fence_code, list_items
from app.ui.markdown_table import parse_table

COPY_SCHEME = "parlour-copy"
BLOCK_SPACING = 8.0
INDENT_WIDTH = 24.0
CODE_INDENT = 10.0
HEADING_SCALE = {1: 1.5, 2: 1.3, 3: 1.15, 4: 1.05, 5: 1.0, 6: 1.0}
_BULLETS = (QTextListFormat.Style.ListDisc, QTextListFormat.Style.ListCircle, QTextListFormat.Style.ListSquare)


class MarkdownDocument:
    """A QTextDocument kept in step with a growing Markdown text, and where its open blocks begin."""

    def __init__(self, theme: ChatTheme, parent: QObject | None = None) -> None:
        self.theme = theme
        self.document = QTextDocument(parent)
        self.document.setUndoRedoEnabled(False)
        self.document.setDocumentMargin(0)  # text lines up with the message's header
        self.document.setDefaultFont(theme.font)
        self.blocks_rendered = 0  # how many blocks were written: lets tests check the work per update
        self._highlighter: CodeHighlighter | None = None
        self._formats: dict[tuple, QTextCharFormat] = {}
        self._reset()

    @property
    def text(self) -> str:
        return self._splitter.text

    def set_text(self, text: str) -> bool:
        """Show this text; returns False when nothing changed. Appends are incremental."""
        if text == self._splitter.text:
            return False
        if not text.startswith(self._splitter.text):
            self._reset()
        finished = self._splitter.feed(text)
        # One edit block: the document lays out and signals the view once, not once per insertion.
        edit = QTextCursor(self.document)
        edit.beginEditBlock()
        try:
            self._remove_tail()
            for block in finished:
                self._write(block)
            cursor = self._end_cursor()
            self._mark, self._mark_reusable = cursor.position(), self._reuse_block
            # Removing the tail later may hand an empty last block the tail's format: remember its own.
            text_list = cursor.currentList()
            list_format = text_list.format() if text_list is not None else None
            self._mark_formats = (cursor.blockFormat(), cursor.blockCharFormat(), text_list, list_format)
            self._finished_count += len(finished)
            for block in self._splitter.tail:
                self._write(block)
        finally:
            edit.endEditBlock()
        return True

    def code_text(self, fence: int) -> str | None:
        """The code of a fenced block, for its Copy link."""
        return fence_code(self._splitter.blocks, fence)

    def set_theme(self, theme: ChatTheme) -> None:
        """Colours changed (light/dark): write the whole document again."""
        text = self._splitter.text
        self.theme = theme
        self._highlighter = None
        self._formats.clear()
        self.document.setDefaultFont(theme.font)
        self._reset()
        self.set_text(text)

    # --- the document's end -------------------------------------------------------------------------

    def _reset(self) -> None:
        self._splitter = BlockSplitter()
        self.document.clear()
        self._mark = 0
        self._mark_reusable = True
        self._mark_formats: tuple = (QTextBlockFormat(), QTextCharFormat(), None, None)
        self._reuse_block = True  # the block at the end is empty and unused: the next block goes into it
        self._finished_count = 0

    def _remove_tail(self) -> None:
        cursor = self._end_cursor()
        if cursor.position() == self._mark and self._reuse_block == self._mark_reusable:
            return
        if self._mark == 0 and self._finished_count == 0:
            self.document.clear()
        else:
            cursor.setPosition(self._mark)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            block_format, char_format, text_list, list_format = self._mark_formats
            if cursor.blockFormat() != block_format or cursor.currentList() != text_list:
                if cursor.currentList() is not None:
                    cursor.currentList().remove(cursor.block())
                cursor.setBlockFormat(block_format)
                if text_list is not None and shiboken6.isValid(text_list):
                    text_list.add(cursor.block())
                elif list_format is not None:  # it was the list's only item, and Qt deleted the list
                    self._mark_formats = (block_format, char_format, cursor.createList(list_format), list_format)
            if cursor.blockCharFormat() != char_format:
                cursor.setBlockCharFormat(char_format)
        self._reuse_block = self._mark_reusable

    def _end_cursor(self) -> QTextCursor:
        cursor = QTextCursor(self.document)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def _new_block(self, fmt: QTextBlockFormat, char_format: QTextCharFormat | None = None) -> QTextCursor:
        """A cursor in a fresh block with this format at the end of the document."""
        cursor = self._end_cursor()
        char_format = char_format or QTextCharFormat()
        if self._reuse_block:
            if cursor.currentList() is not None:
                cursor.currentList().remove(cursor.block())
            cursor.setBlockFormat(fmt)
            cursor.setBlockCharFormat(char_format)
            cursor.setCharFormat(char_format)
            self._reuse_block = False
        else:
            cursor.insertBlock(fmt, char_format)
        return cursor

    def _is_first(self) -> bool:
        return self.document.characterCount() <= 1

    # --- blocks -------------------------------------------------------------------------------------

    def _write(self, block: Block) -> None:
        self.blocks_rendered += 1
        writer = {
            "paragraph": self._write_paragraph,
            "heading": self._write_heading,
            "rule": self._write_rule,
            "quote": self._write_quote,
            "table": self._write_table,
            "code": self._write_code,
            "list": self._write_list,
        }[block.kind]
        writer(block)

    def _block_format(self, spacing: float = BLOCK_SPACING) -> QTextBlockFormat:
        fmt = QTextBlockFormat()
        fmt.setTopMargin(0.0 if self._is_first() else spacing)
        return fmt

    def _write_paragraph(self, block: Block) -> None:
        cursor = self._new_block(self._block_format())
        self._insert_spans(cursor, parse_inline("\n".join(line.strip() for line in block.lines)))

    def _write_heading(self, block: Block) -> None:
        fmt = self._block_format(BLOCK_SPACING * 1.5)
        fmt.setHeadingLevel(block.level)
        base = QTextCharFormat()
        base.setFontWeight(QFont.Weight.Bold)
        size = self.theme.font.pointSizeF()
        if size > 0:
            base.setFontPointSize(size * HEADING_SCALE.get(block.level, 1.0))
        cursor = self._new_block(fmt, base)
        self._insert_spans(cursor, parse_inline(block.lines[0]), base)

    def _write_rule(self, block: Block) -> None:
        fmt = self._block_format()
        fmt.setProperty(
            QTextFormat.Property.BlockTrailingHorizontalRulerWidth, QTextLength(QTextLength.Type.PercentageLength, 100)
        )
        self._new_block(fmt)

    def _write_quote(self, block: Block) -> None:
        fmt = self._block_format()
        fmt.setLeftMargin(INDENT_WIDTH * 0.75)
        base = QTextCharFormat()
        base.setFontItalic(True)
        base.setForeground(self.theme.muted)
        text = "\n".join(re.sub(r"^\s*>\s?", "", line) for line in block.lines)
        cursor = self._new_block(fmt, base)
        self._insert_spans(cursor, parse_inline(text), base)

    def _write_table(self, block: Block) -> None:
        table_cells = parse_table(block.lines)
        if table_cells is None:
            self._write_paragraph(block)  # not (yet) a table: a header row alone is shown as text
            return
        header, aligns, body = table_cells.header, table_cells.aligns, table_cells.body
        columns = max(len(header), 1)
        fmt = QTextTableFormat()
        fmt.setBorder(1.0)
        fmt.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        fmt.setBorderBrush(QBrush(self.theme.border))
        fmt.setBorderCollapse(True)
        fmt.setCellPadding(4.0)
        fmt.setCellSpacing(0.0)
        fmt.setHeaderRowCount(1)
        fmt.setTopMargin(0.0 if self._is_first() else BLOCK_SPACING)
        fmt.setAlignment(Qt.AlignmentFlag.AlignLeft)
        cursor = self._end_cursor()
        if not self._reuse_block:
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        table = cursor.insertTable(len(body) + 1, columns, fmt)
        bold = QTextCharFormat()
        bold.setFontWeight(QFont.Weight.Bold)
        for r, row in enumerate([header, *body]):
            for c in range(columns):
                cell_cursor = table.cellAt(r, c).firstCursorPosition()
                if c < len(aligns) and aligns[c] is not None:
                    cell_fmt = QTextBlockFormat()
                    cell_fmt.setAlignment(aligns[c])
                    cell_cursor.setBlockFormat(cell_fmt)
                text = row[c] if c < len(row) else ""
                self._insert_spans(cell_cursor, parse_inline(text), bold if r == 0 else None)
        self._reuse_block = True  # Qt keeps an empty block after a table: the next block goes there

    def _code_highlighter(self) -> CodeHighlighter:
        if self._highlighter is None:
            self._highlighter = CodeHighlighter(self.theme.code_style, self.theme.mono)
        return self._highlighter

    def _write_code(self, block: Block) -> None:
        self._write_code_lines(block.lines, block.language, block.fence, block.first_chunk, block.closed, 0.0)

    def _write_code_lines(self, lines, language: str, fence: int, first: bool, closed: bool, indent: float) -> None:
        colours = self._code_highlighter()
        fmt = QTextBlockFormat()
        fmt.setBackground(colours.background)
        fmt.setLeftMargin(indent)
        fmt.setTextIndent(CODE_INDENT)
        fmt.setLineHeight(100.0, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        if first:
            header = QTextBlockFormat(fmt)
            header.setTopMargin(0.0 if self._is_first() else BLOCK_SPACING)
            label = QTextCharFormat(colours.plain)
            label.setForeground(self.theme.muted if not self.theme.dark else colours.foreground)
            label.setFontPointSize(max(colours.plain.font().pointSizeF() * 0.85, 6.0))
            cursor = self._new_block(header, label)
            cursor.insertText(f"{language or 'code'}    ", label)
            link = QTextCharFormat(label)
            link.setAnchor(True)
            link.setAnchorHref(f"{COPY_SCHEME}:{fence}")
            link.setForeground(self.theme.link)
            link.setFontUnderline(True)
            link.setToolTip("Copy the code")
            cursor.insertText("Copy", link)
        if lines:
            cursor = self._new_block(fmt, colours.plain)
            for text, char_format in colours.runs("\n".join(lines), language):
                parts = text.split("\n")
                for k, part in enumerate(parts):
                    if k:
                        cursor.insertBlock(fmt, colours.plain)
                    if part:
                        cursor.insertText(part, char_format)
        if closed:
            spacer = QTextCharFormat(colours.plain)
            spacer.setFontPointSize(3.0)
            self._new_block(fmt, spacer)

    def _write_list(self, block: Block) -> None:
        lists: dict[int, object] = {}
        first_item = True
        for item in list_items(block):
            if item.is_code:
                self._write_code_lines(
                    item.code_lines, item.language, item.fence, True, item.closed, INDENT_WIDTH * (item.level + 1)
                )
                continue
            fmt = QTextBlockFormat()
            spacing = BLOCK_SPACING if first_item and block.first_chunk and not self._is_first() else 0.0
            fmt.setTopMargin(spacing)
            first_item = False
            if item.continuation:
                fmt.setLeftMargin(INDENT_WIDTH * (item.level + 1))
                self._insert_spans(self._new_block(fmt), parse_inline(item.text))
                continue
            for level in [level for level in lists if level > item.level]:
                del lists[level]
            cursor = self._new_block(fmt)
            current = lists.get(item.level)
            if current is not None and _is_ordered(current) == item.ordered:
                current.add(cursor.block())
            else:
                lists[item.level] = cursor.createList(self._list_format(item, block))
            self._insert_spans(cursor, parse_inline(item.text))

    def _list_format(self, item: ListItem, block: Block) -> QTextListFormat:
        fmt = QTextListFormat()
        fmt.setIndent(item.level + 1)
        if item.ordered:
            fmt.setStyle(QTextListFormat.Style.ListDecimal)
            start = item.number if block.first_chunk or item.level else max(item.number, block.item_offset + 1)
            fmt.setStart(start)
        else:
            fmt.setStyle(_BULLETS[item.level % len(_BULLETS)])
        return fmt

    # --- inline -------------------------------------------------------------------------------------

    def _insert_spans(self, cursor: QTextCursor, spans: list[Span], base: QTextCharFormat | None = None) -> None:
        for span in spans:
            if span.text == "\n":
                cursor.insertText("\u2028", base or QTextCharFormat())  # a line break inside the block
            else:
                cursor.insertText(span.text, self._span_format(span, base))

    def _span_format(self, span: Span, base: QTextCharFormat | None) -> QTextCharFormat:
        key = (span.bold, span.italic, span.strike, span.code, span.href)
        if base is None and (fmt := self._formats.get(key)) is not None:
            return fmt
        fmt = QTextCharFormat(base) if base is not None else QTextCharFormat()
        if span.bold:
            fmt.setFontWeight(QFont.Weight.Bold)
        if span.italic:
            fmt.setFontItalic(True)
        if span.strike:
            fmt.setFontStrikeOut(True)
        if span.code:
            mono = self.theme.mono
            fmt.setFontFamilies(mono.families())
            fmt.setFontFixedPitch(True)
            fmt.setBackground(self._code_highlighter().background)
            fmt.setForeground(self._code_highlighter().foreground)
        if span.href is not None:
            fmt.setAnchor(True)
            fmt.setAnchorHref(span.href)
            fmt.setForeground(self.theme.link)
            fmt.setFontUnderline(True)
            fmt.setToolTip(span.href)
        if base is None and len(self._formats) < 512:  # formats over a base (headings, quotes) are rare
            self._formats[key] = fmt
        return fmt


def _is_ordered(text_list) -> bool:
    return text_list.format().style() == QTextListFormat.Style.ListDecimal
