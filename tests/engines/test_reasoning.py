"""Thinking is separated from the answer, with markers split across tokens."""

from __future__ import annotations

from engines.reasoning import ReasoningSplitter


def split(pieces: list[str], prompt: str = "") -> tuple[str, str]:
    splitter = ReasoningSplitter(prompt)
    out = [p for piece in pieces for p in splitter.feed(piece)] + list(splitter.flush())
    return "".join(t for t, r in out if r), "".join(t for t, r in out if not r)


def test_think_block_is_reasoning_and_the_rest_is_the_answer() -> None:
    reasoning, answer = split(["<thi", "nk>\nLet me see", ": 2+2", "=4.\n</th", "ink>\n\nThe answer is 4."])
    assert reasoning == "\nLet me see: 2+2=4.\n"
    assert answer == "The answer is 4."


def test_prompt_that_opened_the_block_starts_inside_it() -> None:
    reasoning, answer = split(["Thinking hard", "</think>", "Done."], prompt="<|Assistant|><think>\n")
    assert reasoning == "Thinking hard" and answer == "Done."


def test_plain_reply_is_untouched() -> None:
    assert split(["  Hello", " <b>world</b>"]) == ("", "  Hello <b>world</b>")


def test_think_tag_after_the_answer_began_is_just_text() -> None:
    assert split(["Use the ", "<think>", " tag"]) == ("", "Use the <think> tag")


def test_unclosed_think_block_stays_reasoning() -> None:
    assert split(["<think>still going"]) == ("still going", "")
