"""How much of the model's context window the last reply used, and what happens when it fills."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar, QWidget

POLICIES = {"drop_oldest": "then the oldest turns are dropped", "stop": "then Parlour stops and asks"}


class ContextGauge(QProgressBar):
    """A bar and a line of text; it keeps nothing but what it shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextVisible(True)
        self.setMaximumHeight(16)
        self.show_used(0, 0, "drop_oldest")

    def show_used(self, tokens: int, capacity: int, policy: str) -> None:
        """`tokens` of the loaded model's `capacity` in use (0: no model loaded)."""
        if not capacity:
            self.setRange(0, 1)
            self.setValue(0)
            self.setFormat("Context: —")
            return
        self.setRange(0, capacity)
        self.setValue(min(tokens, capacity))
        self.setFormat(f"Context: {tokens:,} of {capacity:,} tokens · {POLICIES.get(policy, policy)}")
