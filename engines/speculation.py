"""Speculative decoding, the part no engine owns: guessing the next tokens and sizing the guesses.

A drafter proposes a few tokens that may come next; the engine evaluates them in one batch and
samples each position with the reply's own sampler, keeping drafts for as long as the sampled token
equals the draft. Every kept token is one the model would have produced by itself, so a greedy reply
is the same with or without drafting; only the number of model calls changes.

Two drafters:
- `PromptLookup` needs no second model: when the text so far ends with a few tokens that occurred
  before (in the prompt or the reply), the tokens that followed them there are the guess. It pays off
  when a reply repeats its input (editing, refactoring, quoting), and costs a dictionary lookup per
  token when it does not, since nothing is drafted without a match.
- A draft model (a small model of the same vocabulary, engine-specific) guesses greedily.

`DraftLength` grows the guesses while they are all kept and shrinks them after a rejection, because
on a CPU a batch costs nearly as much per token as single steps: a long rejected draft is time lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# The n-grams looked up, longest first: longer ones guess better, shorter ones more often.
LOOKUP_NGRAM_MAX = 4
LOOKUP_NGRAM_MIN = 2
FIRST_DRAFT_LENGTH = 4
MAX_PAUSE = 64  # the most steps drafting rests after misses in a row


class Drafter(Protocol):
    def draft(self, tokens: Sequence[int], limit: int) -> list[int]:
        """Up to `limit` tokens that may follow `tokens` (the prompt and the reply so far)."""
        ...


class PromptLookup:
    """Drafts from the last occurrence of the longest n-gram the tokens end with.

    The index maps each n-gram to where the tokens after its latest earlier occurrence start; it is
    kept up to date as tokens are added, so a draft costs a few dictionary lookups, not a scan.
    """

    def __init__(self, ngram_max: int = LOOKUP_NGRAM_MAX, ngram_min: int = LOOKUP_NGRAM_MIN) -> None:
        self.ngram_max, self.ngram_min = ngram_max, ngram_min
        self._tokens: list[int] = []
        self._next_after: dict[tuple[int, ...], int] = {}

    def _extend(self, tokens: Sequence[int]) -> None:
        """Index `tokens`; what was indexed before must be a prefix of them, else the index starts over
        (another reply, or an edited history)."""
        known = len(self._tokens)
        if known > len(tokens) or list(tokens[:known]) != self._tokens:
            self._tokens, self._next_after, known = [], {}, 0
        # Position p is the continuation of the n-grams that end just before it.
        for position in range(max(known, 1), len(tokens)):
            for n in range(self.ngram_min, min(self.ngram_max, position) + 1):
                self._next_after[tuple(tokens[position - n : position])] = position
        self._tokens = list(tokens)

    def draft(self, tokens: Sequence[int], limit: int) -> list[int]:
        if limit <= 0:
            return []
        self._extend(tokens)
        for n in range(self.ngram_max, self.ngram_min - 1, -1):
            if len(tokens) <= n:
                continue
            start = self._next_after.get(tuple(tokens[-n:]))
            if start is not None and start < len(tokens):
                return list(tokens[start : start + limit])
        return []


class DraftLength:
    """How many tokens to draft at the next step.

    Doubled after a draft kept whole, cut to what was kept (plus one) after a partial one. A draft
    rejected outright pauses drafting for a few steps, longer after each miss in a row: on a CPU a
    batch of two costs nearly two single steps, so guessing where guesses fail is a slowdown.
    """

    def __init__(self, most: int, first: int = FIRST_DRAFT_LENGTH) -> None:
        self.most = max(1, most)
        self.current = min(self.most, first)
        self._misses = 0
        self._paused = 0

    def next(self) -> int:
        """The draft length for this step: 0 while paused."""
        if self._paused:
            self._paused -= 1
            return 0
        return self.current

    def update(self, drafted: int, accepted: int) -> None:
        if drafted == 0:
            return
        if accepted == 0:
            self._misses += 1
            self._paused = min(MAX_PAUSE, 1 << self._misses)
        else:
            self._misses = 0
        self.current = min(self.most, self.current * 2) if accepted == drafted else max(1, accepted + 1)


@dataclass
class DraftScore:
    """Draft tokens proposed and kept during one reply, for its stats."""

    drafted: int = 0
    accepted: int = 0

    def add(self, drafted: int, accepted: int) -> None:
        self.drafted += drafted
        self.accepted += accepted


class FirstOf:
    """Drafts with the first drafter that has a guess: prompt lookup before a draft model, since a
    lookup is free and, when it matches, usually right."""

    def __init__(self, drafters: Sequence[Drafter]) -> None:
        self.drafters = list(drafters)

    def draft(self, tokens: Sequence[int], limit: int) -> list[int]:
        for drafter in self.drafters:
            guess = drafter.draft(tokens, limit)
            if guess:
                return guess
        return []
