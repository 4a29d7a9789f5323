"""Longest-prefix prompt reuse with a byte budget, for switching between conversations.

Every turn re-renders the whole conversation; what the engine already computed for
the longest shared token prefix is reused and only the rest is prefilled. Inside one
conversation the live KV cache does this (it is trimmed on edit or regenerate). For
switching, the live state is saved here before another one is restored: an LRU of
(tokens, state) kept under a byte budget. Entries belong to one loaded model with
one set of load settings, because the cache lives inside that engine instance.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    limit = min(len(a), len(b))
    for i in range(limit):
        if a[i] != b[i]:
            return i
    return limit


@dataclass
class SavedState:
    tokens: tuple[int, ...]
    state: Any
    nbytes: int


class StateCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, ...], SavedState] = OrderedDict()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def best_match(self, tokens: Sequence[int]) -> tuple[int, SavedState | None]:
        """The saved state sharing the longest prefix with `tokens`, and that prefix's length."""
        best_len, best = 0, None
        for entry in self._entries.values():
            shared = common_prefix(entry.tokens, tokens)
            if shared > best_len:
                best_len, best = shared, entry
        if best is not None:
            self._entries.move_to_end(best.tokens)
        return best_len, best

    def put(self, tokens: Sequence[int], state: Any, nbytes: int) -> None:
        key = tuple(tokens)
        if not key or nbytes > self.max_bytes:
            return
        # A saved state whose tokens are a prefix of this one is now redundant.
        for other in [k for k in self._entries if len(k) <= len(key) and key[: len(k)] == k]:
            self.nbytes -= self._entries.pop(other).nbytes
        self._entries[key] = SavedState(key, state, nbytes)
        self.nbytes += nbytes
        while self.nbytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self.nbytes -= evicted.nbytes

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0
