"""Stop strings matched across token boundaries, never shown to the user.

Text that could be the start of a stop string is held back until the next token
shows it is not; when a stop string completes, everything before it is released
and the rest is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Add generated text; return what can be shown now."""
        if self.stopped:
            return ""
        if not self.stops:
            return text
        self._pending += text
        cut = min((i for i in (self._pending.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        hold = self._partial_suffix_length()
        out = self._pending[: len(self._pending) - hold]
        self._pending = self._pending[len(self._pending) - hold :]
        return out

    def flush(self) -> str:
        """The reply ended without a stop string: release what was held back."""
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out

    def _partial_suffix_length(self) -> int:
        """Length of the longest tail of pending text that begins some stop string."""
        best = 0
        for stop in self.stops:
            for length in range(min(len(stop) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(stop[:length]):
                    best = length
                    break
        return best
