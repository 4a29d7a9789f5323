"""The block splitter: finished blocks are final, streaming gives the same blocks as the whole text."""

from __future__ import annotations

import random

import pytest

from app.ui.markdown_blocks import CODE_CHUNK_LINES, LIST_CHUNK_ITEMS, BlockSplitter
from app.ui.markdown_inline import Span, parse_inline
from app.ui.markdown_list import fence_code, list_items
from tests.ui.markdown_samples import REPLY, long_code_reply, long_list_reply


def whole(text: str) -> list:
    splitter = BlockSplitter()
    splitter.feed(text)
    return splitter.blocks


def test_reply_splits_into_the_expected_blocks() -> None:
    kinds = [block.kind for block in whole(REPLY)]
    assert kinds == ["heading", "paragraph", "heading", "list", "table", "code", "quote", "rule", "paragraph"]
    code = next(block for block in whole(REPLY) if block.kind == "code")
    assert code.language == "python" and code.closed and code.lines[0].startswith("def greet")


@pytest.mark.parametrize("text", [REPLY, long_code_reply(95), long_list_reply(30)], ids=["mixed", "code", "list"])
def test_streamed_in_random_pieces_gives_the_blocks_of_the_whole_text(text: str) -> None:
    for seed in range(5):
        rnd = random.Random(seed)
        splitter, handed_out, end = BlockSplitter(), [], 0
        while end < len(text):
            end = min(len(text), end + rnd.randint(1, 15))
            before = list(splitter.finished)
            handed_out += splitter.feed(text[:end])
            assert splitter.finished[: len(before)] == before  # finished blocks never change
        assert handed_out == splitter.finished
        assert splitter.blocks == whole(text)


def test_only_complete_lines_finish_a_block() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("First paragraph.\n") == []
    assert [b.kind for b in splitter.tail] == ["paragraph"]
    assert splitter.feed("First paragraph.\n\nSec") != []  # the blank line ended it
    assert [b.lines for b in splitter.tail] == [("Sec",)]
    splitter = BlockSplitter()
    splitter.feed("- one\n- two\n\n-")  # "-" may become an item or a rule: the list stays open
    assert splitter.finished == []


def test_an_unclosed_fence_streams_as_code() -> None:
    splitter = BlockSplitter()
    splitter.feed("Look:\n\n```python\ndef f():\n    retu")
    code = splitter.tail[-1]
    assert code.kind == "code" and not code.closed
    assert code.lines == ("def f():", "    retu")
    assert fence_code(splitter.blocks, 0) == "def f():\n    retu"


def test_long_code_and_lists_are_cut_into_chunks() -> None:
    blocks = whole(long_code_reply(2 * CODE_CHUNK_LINES + 5))
    chunks = [b for b in blocks if b.kind == "code"]
    assert [len(b.lines) for b in chunks] == [CODE_CHUNK_LINES, CODE_CHUNK_LINES, 5]
    assert [b.first_chunk for b in chunks] == [True, False, False] and chunks[-1].closed
    splitter = BlockSplitter()
    splitter.feed(long_code_reply(2 * CODE_CHUNK_LINES + 5))
    assert fence_code(splitter.blocks, 0).count("\n") == 2 * CODE_CHUNK_LINES + 4  # Copy gets the whole block

    lists = [b for b in whole(long_list_reply(LIST_CHUNK_ITEMS * 2 + 1)) if b.kind == "list"]
    assert [b.item_offset for b in lists] == [0, LIST_CHUNK_ITEMS, 2 * LIST_CHUNK_ITEMS]


def test_list_items_levels_numbers_and_nested_code() -> None:
    items = list_items(next(b for b in whole(REPLY) if b.kind == "list"))
    assert [(i.level, i.ordered, i.text) for i in items if not i.is_code][:4] == [
        (0, False, "first item"),
        (0, False, "second item with `code`"),
        (1, False, "nested item"),
        (0, False, "third item"),
    ]
    code = next(i for i in items if i.is_code)
    assert (code.language, code.code_lines, code.fence) == ("bash", ("echo nested",), 0)


def test_inline_spans() -> None:
    spans = parse_inline("a **b** *c* `d*e` [f](https://x.org) ~~g~~ snake_case **open")
    assert Span("b", bold=True) in spans
    assert Span("c", italic=True) in spans
    assert Span("d*e", code=True) in spans
    assert Span("f", href="https://x.org") in spans
    assert Span("g", strike=True) in spans
    assert spans[-1].text.endswith("snake_case **open")  # no partner: literal, as mid-stream
