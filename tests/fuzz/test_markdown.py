"""Fuzzing the Markdown renderer: it never raises, and streaming gives the document of the whole text.

A reply arrives in pieces of any size; whatever the cuts, the document after the last piece must be
the one rendered from the whole reply at once (and so must the blocks, and each fence's code).
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ui.chat_theme import ChatTheme
from app.ui.markdown import MarkdownDocument
from app.ui.markdown_blocks import BlockSplitter
from app.ui.markdown_inline import parse_inline, plain_text
from tests.fuzz.bounds import alarm
from tests.fuzz.markdown_strategies import chunkings, documents, inline
from tests.fuzz.profiles import SEEDS, fuzz_settings

SEED_FILES = sorted((SEEDS / "markdown").glob("*.md"))


@pytest.fixture(scope="module")
def theme(qapp) -> ChatTheme:
    return ChatTheme.from_palette(qapp.palette(), qapp.font())


def rendered(theme: ChatTheme, pieces: Iterator[str]) -> MarkdownDocument:
    md = MarkdownDocument(theme)
    for text in pieces:
        md.set_text(text)
    return md


def fences(md: MarkdownDocument) -> list[str]:
    codes, index = [], 0
    while (code := md.code_text(index)) is not None:
        codes.append(code)
        index += 1
    return codes


def check_streaming(theme: ChatTheme, text: str, cuts: list[int]) -> None:
    with alarm():
        whole = rendered(theme, iter([text]))
        streamed = rendered(theme, (text[:cut] for cut in cuts))
    assert streamed.text == text
    assert streamed.document.toHtml() == whole.document.toHtml()
    assert fences(streamed) == fences(whole)


@fuzz_settings(examples=70, long_examples=5_000)
@given(data=st.data())
def test_streamed_markdown_renders_as_the_whole(theme: ChatTheme, data: st.DataObject) -> None:
    text = data.draw(documents(), label="text")
    cuts = data.draw(chunkings(len(text)), label="cuts")
    check_streaming(theme, text, cuts)


@fuzz_settings(examples=200, long_examples=20_000)
@given(data=st.data())
def test_streamed_blocks_are_final_and_equal_the_whole(data: st.DataObject) -> None:
    """The block splitter alone (no Qt): cheap, so it runs many more examples."""
    text = data.draw(documents(), label="text")
    cuts = data.draw(chunkings(len(text)), label="cuts")
    with alarm():
        splitter, handed_out = BlockSplitter(), []
        for cut in cuts:
            before = list(splitter.finished)
            handed_out += splitter.feed(text[:cut])
            assert splitter.finished[: len(before)] == before, "a finished block changed"
        whole = BlockSplitter()
        whole.feed(text)
    assert handed_out == splitter.finished
    assert splitter.blocks == whole.blocks


@fuzz_settings(examples=500, long_examples=20_000)
@given(text=st.one_of(inline(30), st.text()))
def test_inline_markup_never_raises(text: str) -> None:
    with alarm():
        spans = parse_inline(text)
    assert isinstance(plain_text(spans), str)


@fuzz_settings(examples=40)
@given(before=documents(), after=documents())
def test_a_text_that_changes_rather_than_grows_renders_afresh(theme: ChatTheme, before: str, after: str) -> None:
    with alarm():
        md = rendered(theme, iter([before, after]))
        fresh = rendered(theme, iter([after]))
    assert md.document.toHtml() == fresh.document.toHtml()


@pytest.mark.parametrize("seed", SEED_FILES, ids=[p.name for p in SEED_FILES])
def test_seed_documents_stream_as_the_whole(theme: ChatTheme, seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    for chunk in (1, 7, 64):
        check_streaming(theme, text, [*range(chunk, len(text), chunk), len(text)])
    rnd = random.Random(seed.name)
    cuts, position = [], 0
    while position < len(text):
        position = min(len(text), position + rnd.randint(1, 30))
        cuts.append(position)
    check_streaming(theme, text, cuts)


DEEP_CASES = {
    "quotes 1,000 deep": "> " * 1000 + "deep",
    "list 300 levels deep": "\n".join("  " * i + "- item" for i in range(300)),
    "2,000 asterisks in a paragraph": "a" + "*" * 2000 + "a",
    "2,000 underscores in a paragraph": "a" + "_" * 2000 + "a",
    "brackets 600 deep": "[" * 600 + "x" + "](" * 600,
    "backticks 10,000": "`" * 10_000,
    "table 200 columns": "|" + "a|" * 200 + "\n|" + "-|" * 200 + "\n|" + "1|" * 200,
    "one 200,000-character line": "word " * 40_000,
    "CRLF line ends": "# Title\r\n\r\ntext\r\n- item\r\n```py\r\ncode\r\n```\r\n| a |\r\n|---|\r\n",
    "CR line ends only": "# Title\r\rtext\r- item\r```\rcode\r```\r",
}


@pytest.mark.parametrize("case", DEEP_CASES, ids=list(DEEP_CASES))
def test_extreme_documents_stream_as_the_whole(theme: ChatTheme, case: str) -> None:
    text = DEEP_CASES[case]
    check_streaming(theme, text, [*range(997, len(text), 997), len(text)])


def _cpu_seconds(call: Callable[[], object], repeat: int) -> float:
    """The least CPU time (this process only, so other load matters little) over a few runs."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.process_time()
            call()
            best = min(best, time.process_time() - start)
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize("unit", ["[", "![", "[x](", "`", "~~", "**a", "<", "\\", "a*"])
def test_inline_parsing_grows_linearly(unit: str) -> None:
    """Four times the text may cost about four times the work, not sixteen: a reply of 40,000
    "[" once took over a minute to show. A ratio measured in one run, so any machine's speed does."""
    count = 1000 // len(unit)
    with alarm():
        small = _cpu_seconds(lambda: parse_inline(unit * count), repeat=3)
        large = _cpu_seconds(lambda: parse_inline(unit * count * 4), repeat=1)
    assert large <= 10 * max(small, 0.002), f"{unit!r} x {count}: {small:.4f} s, x {count * 4}: {large:.4f} s"
