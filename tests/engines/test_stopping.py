"""Stop strings are matched across token boundaries and never shown."""

from __future__ import annotations

from engines.stopping import StopMatcher


def feed_all(matcher: StopMatcher, pieces: list[str]) -> str:
    out = "".join(matcher.feed(p) for p in pieces)
    return out + matcher.flush()


def test_stop_string_split_across_tokens_is_hidden() -> None:
    matcher = StopMatcher(["###"])
    assert feed_all(matcher, ["Hello", " world#", "#", "# and more"]) == "Hello world"
    assert matcher.stopped


def test_partial_match_that_fails_is_released() -> None:
    matcher = StopMatcher(["STOP"])
    shown = [matcher.feed(p) for p in ["a ST", "ORM"]]
    assert shown[0] == "a "  # "ST" is held back while it might begin STOP
    assert shown[1] == "STORM"
    assert matcher.flush() == "" and not matcher.stopped


def test_held_text_is_flushed_at_the_end() -> None:
    matcher = StopMatcher(["</answer>"])
    assert feed_all(matcher, ["42 </ans"]) == "42 </ans"


def test_earliest_of_several_stops_wins() -> None:
    matcher = StopMatcher(["END", "\n\n"])
    assert feed_all(matcher, ["one\n\ntwo END"]) == "one"


def test_no_stops_passes_text_through() -> None:
    matcher = StopMatcher([])
    assert matcher.feed("abc") == "abc"
