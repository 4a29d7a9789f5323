"""passages_of: passage size, overlap, where cuts fall, what each passage keeps of its section; passage_snippet."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.documents.chunking import (
    MAX_TOKEN_CHARS,
    OVERLAP_WORDS,
    PASSAGE_WORDS,
    passage_snippet,
    passages_of,
)
from app.documents.passages import Passage, Section

SOURCE = "/home/someone/notes.md"


def _words(text: str) -> list[str]:
    return text.split()


def _numbered(count: int) -> str:
    return " ".join(f"w{n}" for n in range(count))


def test_defaults_are_about_120_words_with_20_shared() -> None:
    assert (PASSAGE_WORDS, OVERLAP_WORDS) == (120, 20)
    passages = list(passages_of([Section(_numbered(1000))], SOURCE))
    assert all(len(_words(p.text)) <= PASSAGE_WORDS for p in passages)
    assert all(len(_words(p.text)) >= PASSAGE_WORDS // 2 for p in passages[:-1])


def test_consecutive_passages_share_the_overlap_and_cover_everything() -> None:
    passages = list(passages_of([Section(_numbered(250))], SOURCE, words=50, overlap=10))
    assert [len(_words(p.text)) for p in passages] == [50, 50, 50, 50, 50, 50]
    for before, after in itertools.pairwise(passages):
        assert _words(before.text)[-10:] == _words(after.text)[:10]
    seen = {word for p in passages for word in _words(p.text)}
    assert seen == set(_words(_numbered(250)))


def test_no_overlap_means_passages_that_partition_the_text() -> None:
    passages = list(passages_of([Section(_numbered(95))], SOURCE, words=30, overlap=0))
    assert [w for p in passages for w in _words(p.text)] == _words(_numbered(95))


def test_cuts_fall_at_sentence_ends_where_they_can() -> None:
    sentence = "This sentence has exactly eight words in it."
    passages = list(passages_of([Section(" ".join([sentence] * 30))], SOURCE, words=30, overlap=5))
    assert len(passages) > 5
    for passage in passages[:-1]:
        assert passage.text.endswith("in it."), passage.text


def test_a_paragraph_end_beats_a_later_sentence_end() -> None:
    first = "One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen."
    second = "Next paragraph starts here. It goes on for a while with more words to fill the window."
    passages = list(passages_of([Section(f"{first}\n\n{second}")], SOURCE, words=25, overlap=0))
    assert passages[0].text == first
    assert passages[1].text == second


def test_line_breaks_are_kept_and_preferred_in_code() -> None:
    code = "\n".join(f"    value_{n} = compute({n}, flag=True)" for n in range(40))
    passages = list(passages_of([Section(code)], SOURCE, words=25, overlap=0))
    for passage in passages:
        assert all(
            re.fullmatch(r"(    )?value_\d+ = compute\(\d+, flag=True\)", line) for line in passage.text.split("\n")
        )


def test_passages_keep_their_section_and_number_across_the_document() -> None:
    sections = [
        Section(_numbered(30), page=1),
        Section("Short page.", page=2),
        Section(_numbered(30), heading="Budget"),
        Section("   \n  "),  # nothing in it: no passage
    ]
    passages = list(passages_of(sections, SOURCE, words=20, overlap=5))
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    assert [(p.page, p.heading) for p in passages] == [
        (1, None),
        (1, None),
        (2, None),
        (None, "Budget"),
        (None, "Budget"),
    ]
    assert passages[2].text == "Short page."
    assert all(p.source == SOURCE and p.score == 0.0 for p in passages)
    # Never across a boundary: every passage lies inside its own section.
    texts = {1: sections[0].text, 2: sections[1].text, None: sections[2].text}
    assert all(p.text in texts[p.page] for p in passages)


def test_one_enormous_word_is_cut_into_bounded_passages() -> None:
    blob = "x" * 100_000
    passages = list(passages_of([Section(blob)], SOURCE, words=10, overlap=2))
    assert all(len(p.text) <= 10 * MAX_TOKEN_CHARS for p in passages)
    assert "".join(p.text for p in passages).count("x") >= 100_000


def test_a_long_url_counts_as_several_words_but_is_not_cut_when_it_need_not_be() -> None:
    url = "https://example.org/" + "segment/" * 20  # 180 characters, 12 "words"
    text = f"See {url} for details. " + _numbered(5)
    passages = list(passages_of([Section(text)], SOURCE, words=20, overlap=0))
    assert url in passages[0].text


def test_chinese_text_is_counted_by_characters() -> None:
    text = "这是一个没有空格的句子。" * 30  # 360 characters, no spaces
    passages = list(passages_of([Section(text)], SOURCE, words=50, overlap=5))
    assert len(passages) >= 7
    assert all(len(p.text) <= 50 for p in passages)
    assert all(p.text.endswith("。") for p in passages)


def test_empty_input_gives_no_passages() -> None:
    assert list(passages_of([], SOURCE)) == []
    assert list(passages_of([Section("")], SOURCE)) == []


def test_single_words_and_short_sections() -> None:
    assert list(passages_of([Section("Hello")], SOURCE)) == [Passage(source=SOURCE, text="Hello")]
    assert [p.text for p in passages_of([Section("a b c")], SOURCE, words=1, overlap=0)] == ["a", "b", "c"]


def test_it_streams_an_endless_document() -> None:
    def endless() -> Iterator[Section]:
        for page in itertools.count(1):
            yield Section(_numbered(300), page=page)

    first = list(itertools.islice(passages_of(endless(), SOURCE), 10))
    assert [p.ordinal for p in first] == list(range(10))
    assert first[-1].page is not None and first[-1].page > 1


@pytest.mark.parametrize(("words", "overlap"), [(0, 0), (10, 10), (10, -1), (5, 20)])
def test_impossible_sizes_are_refused_at_once(words: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        passages_of([Section("text")], SOURCE, words=words, overlap=overlap)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("ab. \n\t。中"), max_size=600),
    words=st.integers(min_value=1, max_value=40),
    overlap_share=st.floats(min_value=0, max_value=0.9),
)
def test_every_word_lands_in_a_bounded_passage(text: str, words: int, overlap_share: float) -> None:
    def letters(value: str) -> str:
        return "".join(value.split())

    # Without overlap the passages are the text, cut: nothing lost, nothing twice, in order.
    cut = list(passages_of([Section(text)], SOURCE, words=words, overlap=0))
    assert "".join(letters(p.text) for p in cut) == letters(text)
    # With it, each passage is still a bounded piece of the text, and together they reach both ends.
    overlap = min(words - 1, int(words * overlap_share))
    passages = list(passages_of([Section(text)], SOURCE, words=words, overlap=overlap))
    for passage in passages:
        assert passage.text and passage.text == passage.text.strip() and passage.text in text
        assert len(letters(passage.text)) <= words * MAX_TOKEN_CHARS
    if letters(text):
        assert text.strip().startswith(passages[0].text) and text.strip().endswith(passages[-1].text)
    else:
        assert passages == []


def test_snippet_is_the_start_cut_at_a_word() -> None:
    text = "The committee met on Tuesday.\nIt agreed the budget, after a long   discussion about paper."
    assert passage_snippet(text, chars=200) == (
        "The committee met on Tuesday. It agreed the budget, after a long discussion about paper."
    )
    snippet = passage_snippet(text, chars=40)
    assert snippet == "The committee met on Tuesday. It agreed…" and len(snippet) <= 40
    assert passage_snippet("x" * 500, chars=20) == "x" * 19 + "…"
    assert passage_snippet("") == ""
