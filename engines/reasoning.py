"""Separate a reasoning model's thinking from its answer, as text streams in.

Text between the model's think markers becomes the reply's reasoning part, so the
UI can fold it. Markers split across tokens are held back until they are whole,
and a prompt that already opened the thinking block (DeepSeek-R1 distills end the
generation prompt with "<think>") starts the reply inside it.
"""

from __future__ import annotations

from collections.abc import Iterator

THINK_MARKERS: tuple[tuple[str, str], ...] = (("<think>", "</think>"), ("<|begin_of_thought|>", "<|end_of_thought|>"))


def _partial_tail(text: str, marker: str) -> int:
    """Length of the longest tail of `text` that is a proper prefix of `marker`."""
    for length in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:length]):
            return length
    return 0


class ReasoningSplitter:
    def __init__(self, prompt: str = "", markers: tuple[str, str] | None = None) -> None:
        tail = prompt.rstrip()
        chosen = markers
        if chosen is None:
            chosen = next((pair for pair in THINK_MARKERS if tail.endswith(pair[0])), THINK_MARKERS[0])
        self.open, self.close = chosen
        self.thinking = tail.endswith(self.open)
        self._seen_answer = False
        self._strip_next = False  # the answer after a think block starts without its blank lines
        self._pending = ""

    def feed(self, text: str) -> Iterator[tuple[str, bool]]:
        """Yield (text, is_reasoning) pieces that are safe to show now."""
        self._pending += text
        while self._pending:
            # A think block only opens before any answer text; a later "<think>" is just text.
            if not self.thinking and self._seen_answer:
                out, self._pending = self._pending, ""
                yield from self._emit(out)
                return
            marker = self.close if self.thinking else self.open
            index = self._pending.find(marker)
            if index >= 0:
                before = self._pending[:index]
                self._pending = self._pending[index + len(marker) :]
                if before:
                    yield from self._emit(before)
                if self.thinking:
                    self._strip_next = True
                self.thinking = not self.thinking
                continue
            hold = _partial_tail(self._pending, marker)
            out = self._pending[: len(self._pending) - hold]
            self._pending = self._pending[len(self._pending) - hold :]
            if out:
                yield from self._emit(out)
            return

    def _emit(self, text: str) -> Iterator[tuple[str, bool]]:
        if self.thinking:
            yield text, True
            return
        if self._strip_next:
            text = text.lstrip()
            if not text:
                return
            self._strip_next = False
        self._seen_answer = True
        yield text, False

    def flush(self) -> Iterator[tuple[str, bool]]:
        out, self._pending = self._pending, ""
        if out:
            yield from self._emit(out)
