"""How much of the model's context window the last reply used, and what happens when it fills."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QProgressBar, QWidget

from engines.base import ModelInfo

POLICIES = {"drop_oldest": "then the oldest turns are dropped", "stop": "then Parlour stops and asks"}


class ContextGauge(QProgressBar):
    """The loaded model's context length and the tokens the last reply used of it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextVisible(True)
        self.setMaximumHeight(16)
        self._capacity = 0
        self.show_used(0, "drop_oldest")

    def show_model(self, info: ModelInfo, *_: Any) -> None:
        """A model is loaded: its context is empty."""
        self._capacity = int(info.context_length or 0)
        self.show_used(0, "drop_oldest")

    def show_no_model(self, *_: Any) -> None:
        self._capacity = 0
        self.show_used(0, "drop_oldest")

    def show_used(self, tokens: int, policy: str) -> None:
        if not self._capacity:
            self.setRange(0, 1)
            self.setValue(0)
            self.setFormat("Context: —")
            return
        self.setRange(0, self._capacity)
        self.setValue(min(tokens, self._capacity))
        self.setFormat(f"Context: {tokens:,} of {self._capacity:,} tokens · {POLICIES.get(policy, policy)}")
