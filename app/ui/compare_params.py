"""The Compare view's shared settings: temperature, reply length and seed, the same for every model.

They start from the chat's parameters (the rest of those, top-p and the like, are taken as they are) and
can be changed until the first prompt is sent; a kept comparison shows the ones it was run with.
"""

from __future__ import annotations

import random
from dataclasses import replace

from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from app.ui.accessible import describe
from engines.base import GenerationParams

MAX_SEED = 2**31 - 1


class CompareParams(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.temperature.setToolTip("0 is greedy: each model's most likely reply, the same every time")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 32768)
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setToolTip("One seed for every model: a sampled reply differs by model, never by the draw")
        self.note = QLabel("")
        self.note.setObjectName("compareParameters")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for text, field in (("Temperature", self.temperature), ("Max tokens", self.max_tokens), ("Seed", self.seed)):
            label = QLabel(text)
            label.setBuddy(field)
            describe(field, text, f"{text}, the same for every model in this comparison")
            layout.addWidget(label)
            layout.addWidget(field)
        layout.addWidget(self.note, 1)
        self._base = GenerationParams()

    def show_params(self, params: GenerationParams, locked: bool) -> None:
        """Show these settings; `locked` once the comparison has its first prompt."""
        self._base = params
        self.temperature.setValue(params.temperature)
        self.max_tokens.setValue(params.max_tokens)
        self.seed.setValue(params.seed if params.seed is not None else random.randrange(MAX_SEED))
        for field in (self.temperature, self.max_tokens, self.seed):
            field.setEnabled(not locked)
        self.note.setText(
            "The same for every model"
            + (" (as this comparison was run)" if locked else "; top-p and the rest as in the chat")
        )

    def params(self) -> GenerationParams:
        """The chat's parameters with the settings shown here."""
        return replace(
            self._base, temperature=self.temperature.value(), max_tokens=self.max_tokens.value(), seed=self.seed.value()
        )
