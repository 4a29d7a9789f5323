"""The Markdown document: what it shows, and that a streamed update re-renders only the last block."""

from __future__ import annotations

import random

import pytest
from PySide6.QtGui import QTextCursor, QTextDocument, QTextFormat, QTextListFormat

from app.ui.chat_theme import ChatTheme
from app.ui.markdown import COPY_SCHEME, MarkdownDocument
from tests.ui.markdown_samples import REPLY, long_code_reply


@pytest.fixture
def theme(qapp) -> ChatTheme:
    return ChatTheme.from_palette(qapp.palette(), qapp.font())


def render(theme: ChatTheme, text: str) -> MarkdownDocument:
    md = MarkdownDocument(theme)
    md.set_text(text)
    return md


def blocks_with(document: QTextDocument, text: str):
    block = document.begin()
    while block.isValid():
        if text in block.text():
            yield block
        block = block.next()


def test_table_becomes_a_text_table_with_its_cells(theme: ChatTheme) -> None:
    document = render(theme, REPLY).document
    cursor = QTextCursor(next(blocks_with(document, "alpha")))
    table = cursor.currentTable()
    assert table is not None and (table.rows(), table.columns()) == (3, 3)
    cell = table.cellAt(2, 2)
    assert cell.firstCursorPosition().block().text() == "slow"
    assert table.cellAt(0, 0).firstCursorPosition().charFormat().fontWeight() >= 600  # header in bold


def test_fenced_code_is_highlighted_in_colours_and_has_a_copy_link(theme: ChatTheme) -> None:
    md = render(theme, REPLY)
    block = next(blocks_with(md.document, "def greet"))
    colours = {fragment.charFormat().foreground().color().name() for fragment in _fragments(block)}
    assert len(colours) >= 2, "keywords and names should differ in colour"
    assert block.blockFormat().background().color() != md.document.begin().blockFormat().background().color()
    links = [f.charFormat().anchorHref() for b in blocks_with(md.document, "Copy") for f in _fragments(b)]
    assert f"{COPY_SCHEME}:1" in links  # the nested bash block in the list is fence 0
    assert md.code_text(1) == 'def greet(name: str) -> str:\n    return f"Hello, {name}!"'
    assert md.code_text(0) == "echo nested"


def test_lists_headings_links_and_rules(theme: ChatTheme) -> None:
    document = render(theme, REPLY).document
    first = next(blocks_with(document, "first item"))
    assert first.textList() is not None
    assert first.textList().format().style() == QTextListFormat.Style.ListDisc
    nested = next(blocks_with(document, "nested item"))
    assert nested.textList().format().indent() == 2
    three = next(blocks_with(document, "three"))
    assert three.textList().format().style() == QTextListFormat.Style.ListDecimal
    assert next(blocks_with(document, "Streaming test")).blockFormat().headingLevel() == 1
    link = [f for f in _fragments(next(blocks_with(document, "Here is"))) if f.charFormat().isAnchor()]
    assert [f.charFormat().anchorHref() for f in link] == ["https://example.com"]
    rules = [
        b
        for b in blocks_with(document, "")
        if b.blockFormat().hasProperty(QTextFormat.Property.BlockTrailingHorizontalRulerWidth)
    ]
    assert len(rules) == 1


def test_streamed_document_equals_the_document_of_the_whole_text(theme: ChatTheme) -> None:
    text = REPLY + long_code_reply(50)
    expected = render(theme, text).document.toHtml()
    for seed in range(3):
        rnd = random.Random(seed)
        md, end = MarkdownDocument(theme), 0
        while end < len(text):
            end = min(len(text), end + rnd.randint(1, 20))
            md.set_text(text[:end])
        assert md.document.toHtml() == expected


def test_each_update_renders_only_the_open_block(theme: ChatTheme) -> None:
    """The work per update stays flat: finished blocks are written once, then only the open end again."""
    paragraph = "A sentence that keeps the paragraph going for a while. " * 3
    text = "".join(f"## Section {i}\n\n{paragraph}\n\n- point one\n- point two\n\n" for i in range(40))
    md, end, tails = MarkdownDocument(theme), 0, []
    while end < len(text):
        end = min(len(text), end + 7)
        rendered, finished = md.blocks_rendered, len(md._splitter.finished)
        md.set_text(text[:end])
        newly_finished = len(md._splitter.finished) - finished
        tail = len(md._splitter.tail)
        assert md.blocks_rendered - rendered == newly_finished + tail
        tails.append(tail)
    # The open end is the last block and at most the start of the next (a partial line): never more.
    assert max(tails) <= 2
    assert md.blocks_rendered <= len(md._splitter.finished) + sum(tails)
    assert len(md._splitter.finished) > 100


def test_an_unclosed_fence_renders_as_code_while_streaming(theme: ChatTheme) -> None:
    md = render(theme, "Here:\n\n```python\nfor i in range(3):\n    print(i")
    block = next(blocks_with(md.document, "print(i"))
    assert block.blockFormat().background().style() != 0
    md.set_text("Here:\n\n```python\nfor i in range(3):\n    print(i)\n```\n\nDone.")
    assert "Done." in md.document.toPlainText()
    assert md.code_text(0) == "for i in range(3):\n    print(i)"


def test_text_that_does_not_grow_at_its_end_is_rendered_afresh(theme: ChatTheme) -> None:
    md = render(theme, "Hello **world**")
    md.set_text("Goodbye")
    assert md.document.toPlainText() == "Goodbye"


def _fragments(block):
    iterator = block.begin()
    while not iterator.atEnd():
        fragment = iterator.fragment()
        if fragment.isValid():
            yield fragment
        iterator += 1


PIECES = [
    "# ",
    "- ",
    "* ",
    "1. ",
    "  ",
    "    ",
    "```",
    "```py",
    "~~~",
    "> ",
    "| a | b |",
    "|---|---|",
    "---",
    "text",
    "**b**",
    "*",
    "_",
    "`",
    "[a](b)",
    "\n",
    "\n",
    "\n\n",
    "\t",
    "<http://x>",
    "\\",
]


@pytest.mark.parametrize("seed", range(12))
def test_fuzzed_markdown_streams_to_the_same_document(theme: ChatTheme, seed: int) -> None:
    rnd = random.Random(seed)
    text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(20, 80)))
    md, end = MarkdownDocument(theme), 0
    while end < len(text):
        end = min(len(text), end + rnd.randint(1, 9))
        md.set_text(text[:end])
    assert md.document.toHtml() == render(theme, text).document.toHtml()
