"""How much of the model's context window the open conversation takes, and what happens when it fills."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar, QWidget

POLICIES = {"drop_oldest": "then the oldest turns are dropped", "stop": "then Parlour stops and asks"}


class ContextGauge(QProgressBar):
    """A thin bar and a line of text; it keeps nothing but what it shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextVisible(True)
        self.setMaximumHeight(self.fontMetrics().height() + 4)
        self.setAccessibleName("Context used")
        self.show_used(0, 0, "drop_oldest")

    def show_used(self, tokens: int, capacity: int, policy: str) -> None:
        """`tokens` of the loaded model's `capacity` in use (0: no model loaded)."""
        if not capacity:
            self.setRange(0, 1)
            self.setValue(0)
            self.setFormat("Context: —")
            self.setToolTip("Load a model to see how much of its context this chat takes.")
            self.setAccessibleDescription(self.toolTip())
            return
        self.setRange(0, capacity)
        self.setValue(min(tokens, capacity))
        self.setFormat(f"Context: {tokens:,} of {capacity:,} tokens")
        self.setToolTip(
            f"This chat and your draft take {tokens:,} of the model's {capacity:,} tokens; when it is "
            f"full, {POLICIES.get(policy, policy).removeprefix('then ')}."
        )
        self.setAccessibleDescription(self.toolTip())
