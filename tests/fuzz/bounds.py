"""Hard bounds for one call under fuzzing: address space (Linux) and a generous wall-clock alarm.

Neither bound is a performance test. The alarm is far above any sound run on a slow machine (a call
takes milliseconds); it only turns a hang into a failure. The memory bound is an RLIMIT_AS ceiling
set just above what the process already has, so a reader that believes a hostile length and
allocates for it fails with MemoryError here, inside the call, instead of swapping the machine.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

HARD_SECONDS = 30.0
MiB = 1024 * 1024


class HardTimeout(BaseException):
    """Raised by the alarm; a BaseException so that `except Exception` in the code under test
    cannot swallow it."""


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as stream:
            return int(stream.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def memory_ceiling(extra_bytes: int) -> Iterator[None]:
    """Fail with MemoryError when the process grows by more than `extra_bytes` of address space.

    Linux only (macOS does not enforce RLIMIT_AS); elsewhere this bounds nothing.
    """
    current = _address_space() if sys.platform.startswith("linux") else None
    if current is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    ceiling = current + extra_bytes
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    if soft != resource.RLIM_INFINITY:
        ceiling = min(ceiling, soft)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextmanager
def alarm(seconds: float = HARD_SECONDS) -> Iterator[None]:
    """Raise HardTimeout in the main thread after `seconds` (where SIGALRM exists)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise HardTimeout(f"the call ran for more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except HardTimeout as error:
        # Reported as an ordinary failure, so Hypothesis prints the example that hung.
        raise AssertionError(str(error)) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(
    call: Callable[[], T],
    allowed: type[BaseException] | tuple[type[BaseException], ...],
    memory: int | None = None,
    seconds: float = HARD_SECONDS,
) -> T | BaseException:
    """The call's result, or the allowed exception it raised (returned, not raised).

    Any other exception propagates with its own traceback, which is what the fuzz test reports.
    A MemoryError under the ceiling is re-raised as an AssertionError that says so.
    """
    try:
        with alarm(seconds):
            if memory is None:
                return call()
            try:
                with memory_ceiling(memory):
                    return call()
            except MemoryError as error:
                raise AssertionError(f"the call needed more than {memory // MiB} MiB more memory") from error
    except allowed as error:
        return error


def assert_one_sentence(error: BaseException, limit: int = 1000) -> None:
    """An error for people: one line of text, of a readable length."""
    message = str(error)
    assert message.strip(), f"{type(error).__name__} with an empty message"
    assert "\n" not in message, f"{type(error).__name__} message spans lines: {message[:300]!r}"
    assert len(message) <= limit, f"{type(error).__name__} message is {len(message)} characters: {message[:300]!r}..."
