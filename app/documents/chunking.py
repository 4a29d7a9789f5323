"""Sections cut into Passages: small enough for a prompt, overlapping so no sentence is lost at a cut.

A passage is about PASSAGE_WORDS words (roughly 150-200 tokens of English) and shares its first OVERLAP_WORDS
with the end of the one before, so an answer that straddles a cut is still found whole in one of them. Cuts
prefer a paragraph end, then a sentence end, then a line end, looking back over the second half of the window;
a passage never crosses a section, so it keeps its page and heading. Passages keep the text as written (line
breaks and indentation inside them), which matters for source code.

"Words" are runs of non-space characters, with two exceptions so that the size of a passage tracks its size in
tokens: each Chinese or Japanese character counts as a word (those scripts have no spaces), and a run longer
than MAX_TOKEN_CHARS (a URL, a base64 blob) counts as several. Everything streams: one section at a time, and
within it only the current window of words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from app.documents.passages import Passage, Section

PASSAGE_WORDS = 120
OVERLAP_WORDS = 20
MAX_TOKEN_CHARS = 16

# CJK radicals, punctuation, kana, bopomofo, ideographs, compatibility ideographs, fullwidth forms.
_CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]{{1,{MAX_TOKEN_CHARS}}}")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]»」』]*$")
_PARAGRAPH_GAP = re.compile(r"\n[^\S\n]*\n")

Span = tuple[int, int]  # a word's start and end in its section's text


def passages_of(
    sections: Iterable[Section], source: str, words: int = PASSAGE_WORDS, overlap: int = OVERLAP_WORDS
) -> Iterator[Passage]:
    """The sections' passages in order, `ordinal` counting from 0 across the document."""
    if words < 1 or not 0 <= overlap < words:
        raise ValueError(f"a passage needs at least one word and an overlap smaller than it (got {words}, {overlap})")
    return _passages(sections, source, words, overlap)


def _passages(sections: Iterable[Section], source: str, words: int, overlap: int) -> Iterator[Passage]:
    ordinal = 0
    for section in sections:
        for text in _section_passages(section.text, words, overlap):
            yield Passage(source=source, text=text, ordinal=ordinal, page=section.page, heading=section.heading)
            ordinal += 1


def _section_passages(text: str, words: int, overlap: int) -> Iterator[str]:
    window: list[Span] = []
    covered = 0  # how many words at the window's start the last passage already had (the overlap)
    for match in _TOKEN.finditer(text):
        window.append(match.span())
        if len(window) <= words:
            continue
        # A full window and one word past it (to judge the last gap): cut a passage off its front.
        end = _best_cut(text, window, words, covered)
        yield text[window[0][0] : window[end][1]]
        start = _overlap_start(text, window, end, overlap)
        del window[:start]
        covered = end + 1 - start
    if len(window) > covered:
        yield text[window[0][0] : window[-1][1]]


def _best_cut(text: str, window: list[Span], words: int, covered: int) -> int:
    """The index of the passage's last word: the best break in the window's second half, the latest of equals."""
    best, best_grade = words - 1, _break_after(text, window[words - 1], window[words])
    for index in range(words - 2, max(covered, words // 2 - 1) - 1, -1):
        grade = _break_after(text, window[index], window[index + 1])
        if grade > best_grade:
            best, best_grade = index, grade
    return best


def _overlap_start(text: str, window: list[Span], end: int, overlap: int) -> int:
    """Where the next passage starts: `overlap` words back from the cut, moved on past any part-word."""
    start = max(1, end + 1 - overlap)
    while start <= end and _break_after(text, window[start - 1], window[start]) < 0:
        start += 1
    return start


def _break_after(text: str, left: Span, right: Span) -> int:
    """How good a place to cut between two words: 3 paragraph, 2 sentence, 1 line, 0 word, -1 inside a word."""
    gap = text[left[1] : right[0]]
    sentence = _SENTENCE_END.search(text, left[0], left[1]) is not None
    if gap and _PARAGRAPH_GAP.search(gap):
        return 3
    if sentence:
        return 2
    if "\n" in gap:
        return 1
    if gap or _CJK_CHAR.match(text, left[1] - 1) or _CJK_CHAR.match(text, right[0]):
        return 0
    return -1


def passage_snippet(text: str, chars: int = 160) -> str:
    """The start of a passage on one line, at most `chars` characters, cut at a word with "…" where cut."""
    flat = " ".join(text.split())
    if len(flat) <= chars:
        return flat
    room = max(1, chars - 1)  # leave room for the ellipsis
    cut = flat.rfind(" ", 0, room + 1)
    if cut < room // 2:  # one long word, or a script without spaces: cut inside it
        cut = room
    return flat[:cut].rstrip() + "…"
