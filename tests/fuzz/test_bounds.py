"""The fuzz tests' own bounds must be able to fail, or the properties that rely on them prove nothing."""

from __future__ import annotations

import sys

import pytest

from tests.fuzz.bounds import MiB, alarm, assert_one_sentence, outcome


def test_the_alarm_ends_a_call_that_hangs() -> None:
    with pytest.raises(AssertionError, match="ran for more than 0.2 s"), alarm(0.2):
        while True:
            pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux only")
def test_the_memory_ceiling_stops_a_call_that_allocates_too_much() -> None:
    with pytest.raises(AssertionError, match="more than 64 MiB"):
        outcome(lambda: bytearray(512 * MiB), ValueError, memory=64 * MiB)
    assert len(outcome(lambda: bytearray(8 * MiB), ValueError, memory=64 * MiB)) == 8 * MiB


def test_allowed_errors_are_returned_and_others_raised() -> None:
    assert isinstance(outcome(lambda: int("x"), ValueError), ValueError)
    with pytest.raises(ZeroDivisionError):
        outcome(lambda: 1 / 0, ValueError)


@pytest.mark.parametrize("message", ["", "two\nlines", "x" * 1001])
def test_an_error_for_people_is_one_short_line(message: str) -> None:
    with pytest.raises(AssertionError):
        assert_one_sentence(ValueError(message))
