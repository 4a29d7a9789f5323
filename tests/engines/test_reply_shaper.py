"""ReplyShaper: stop strings held back while they might still match, thinking split from the answer."""

from __future__ import annotations

from engines.base import Delta, GenerationParams
from engines.prompting import ReplyShaper


def shaped(pieces: list[str], stop: tuple[str, ...] = (), prompt: str = "") -> tuple[list[Delta], bool]:
    shaper = ReplyShaper(GenerationParams(stop=stop), prompt)
    out: list[Delta] = []
    for piece in pieces:
        out += shaper.feed(piece)
    out += shaper.finish()
    return out, shaper.stopped


def text(deltas: list[Delta], reasoning: bool = False) -> str:
    return "".join(d.text for d in deltas if d.reasoning is reasoning)


def test_plain_text_passes_through() -> None:
    deltas, stopped = shaped(["Hello", ", ", "world."])
    assert text(deltas) == "Hello, world." and not stopped


def test_a_stop_string_split_across_pieces_ends_the_reply_unseen() -> None:
    deltas, stopped = shaped(["The answer is 4.", "\nUs", "er: and", " more"], stop=("\nUser:",))
    assert stopped and text(deltas) == "The answer is 4."


def test_a_partial_stop_string_that_does_not_complete_is_released() -> None:
    deltas, stopped = shaped(["a\nUs", "ually b"], stop=("\nUser:",))
    assert not stopped and text(deltas) == "a\nUsually b"
    held, _ = shaped(["a\nUs"], stop=("\nUser:",))
    assert text(held) == "a\nUs"  # at the end of the reply what was held back is shown


def test_thinking_is_separated_from_the_answer() -> None:
    deltas, _ = shaped(["<think>Let me ", "count.</think>", "It is 4."])
    assert text(deltas, reasoning=True) == "Let me count."
    assert text(deltas) == "It is 4."


def test_a_prompt_that_opened_the_thinking_block_makes_the_reply_start_inside_it() -> None:
    deltas, _ = shaped(["hmm</think>", "Four."], prompt="<|im_start|>assistant\n<think>\n")
    assert text(deltas, reasoning=True) == "hmm" and text(deltas) == "Four."


def test_a_stop_string_inside_the_answer_still_stops_after_thinking() -> None:
    deltas, stopped = shaped(["<think>x</think>", "yes STOP no"], stop=("STOP",))
    assert stopped and text(deltas) == "yes " and text(deltas, reasoning=True) == "x"
