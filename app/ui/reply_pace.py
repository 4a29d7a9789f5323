"""How fast the reply being written comes, in tokens per second, while it streams. No Qt.

The engine's text arrives in pieces that the host merges (several tokens to a piece on a fast
machine), so the pieces cannot be counted as tokens. The pace counts characters instead and turns
them into tokens with the characters-per-token of the replies that finished before it (their stats
give both), starting from a typical four; the figure is an estimate until the reply's own stats
replace it at the end.
"""

from __future__ import annotations

import time

TYPICAL_CHARS_PER_TOKEN = 4.0
MIN_SECONDS = 0.3  # before this much writing, a speed is mostly noise


class ReplyPace:
    """Characters written since the first piece of text, when that came, and the model's characters per token."""

    def __init__(self) -> None:
        self.chars_per_token = TYPICAL_CHARS_PER_TOKEN
        self._first_at: float | None = None
        self._chars = 0  # after the first piece: the first marks the start of the clock
        self._total = 0  # every character of this reply, for calibrating at its end

    def start(self) -> None:
        self._first_at = None
        self._chars = self._total = 0

    def add(self, text: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._total += len(text)
        if self._first_at is None:
            self._first_at = now
        else:
            self._chars += len(text)

    def tokens_per_second(self, now: float | None = None) -> float | None:
        """The estimated speed so far; None until there is enough to tell."""
        now = time.monotonic() if now is None else now
        if self._first_at is None or now - self._first_at < MIN_SECONDS:
            return None
        return self._chars / self.chars_per_token / (now - self._first_at)

    def finish(self, generated_tokens: int) -> None:
        """The reply ended with this many tokens: learn this model's characters per token from it."""
        if generated_tokens >= 16 and self._total:
            measured = self._total / generated_tokens
            self.chars_per_token = 0.5 * self.chars_per_token + 0.5 * measured
