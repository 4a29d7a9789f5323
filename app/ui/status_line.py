"""The window's status bar: what is happening now, truthfully, and the engine host's memory.

Loading shows the load's progress ("Loading SmolLM2… 40%"). A reply shows "Reading the
prompt…" until text comes (with how far the engine has read a long prompt, from its
PromptProgress events), then "Writing… about 85 tokens/s" (or "Thinking…" while a reasoning
model's folded thoughts stream), then the reply's stats. A problem shows in the theme's error
colour. A notice that came with the reply (a built-in template standing in, say) stays beside
the progress while the reply is written.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.ui.reply_pace import ReplyPace
from app.ui.theme import error_style
from engines.base import Delta, Finished, PromptProgress, Started

WRITING_UPDATE_S = 0.25  # the speed is shown again at most this often


class StatusLine(QStatusBar):
    """The status message, the memory figure, and the pace of the reply being written."""

    shown = Signal(str, bool)  # each message as it is shown, and whether it reports a problem

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel("")
        self.message.setAccessibleName("Status")
        self.memory = QLabel("")
        self.memory.setAccessibleName("Engine memory")
        self.addWidget(self.message, 1)
        self.addPermanentWidget(self.memory)
        self.pace = ReplyPace()
        self._notice = ""
        self._shown_at = 0.0

    def text(self) -> str:
        return self.message.text()

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(error_style(self.palette()) if error else "")
        self.shown.emit(text, error)

    def show_memory(self, resident_bytes: int) -> None:
        """The engine host's resident memory; 0 clears it (unknown, or nothing loaded)."""
        self.memory.setText(f"Engine memory: {resident_bytes / 1e9:.2f} GB" if resident_bytes else "")

    def show_loading(self, name: str | None, fraction: float) -> None:
        """A model is loading, this far."""
        self.show_message(f"Loading {name or 'the model'}… {round(fraction * 100)}%")

    def show_reply_event(self, event: object) -> None:
        """One event of the reply being written (Started, PromptProgress, Delta or Finished)."""
        if isinstance(event, Started):
            self.pace.start()
            self._notice = event.notice or ""
            self._show_progress("Reading the prompt…")
        elif isinstance(event, PromptProgress):
            # Rounded down: "100%" only once the whole prompt is read.
            self._show_progress(f"Reading the prompt… {min(int(event.fraction * 100), 100)}%")
        elif isinstance(event, Delta):
            first = self.pace.tokens_per_second() is None
            self.pace.add(event.text)
            now = time.monotonic()
            if first or now - self._shown_at >= WRITING_UPDATE_S:
                self._shown_at = now
                self._show_progress(self._writing(event.reasoning))
        elif isinstance(event, Finished):
            self.pace.finish(event.stats.generated_tokens)
            self._notice = ""

    def _writing(self, reasoning: bool) -> str:
        speed = self.pace.tokens_per_second()
        verb = "Thinking…" if reasoning else "Writing…"
        return f"{verb} about {speed:.0f} tokens/s" if speed is not None else verb

    def _show_progress(self, text: str) -> None:
        self.show_message(f"{text} · {self._notice}" if self._notice else text)
