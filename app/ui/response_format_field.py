"""The parameters panel's "Response format": free text, any JSON object, JSON matching a schema, text matching
a regular expression, or one of a list. The schema, pattern or list is typed in the box under the choice
and used when the person presses Use (a half-typed schema is not sent to the model on every key).

Its shape is checked here (engines/response_format.py); whether the engine's grammar library can compile it
is the engine's sentence when the reply starts.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from app.ui.accessible import describe
from engines.base import InvalidRequestError
from engines.response_format import response_format_problem

CHOICES = (
    ("Free text", None),
    ("JSON object", "json_object"),
    ("JSON Schema", "json_schema"),
    ("Pattern", "regex"),
    ("One of a list", "choice"),
)
HINTS = {
    "json_schema": '{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}',
    "regex": "[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "choice": "One choice per line",
}


class ResponseFormatField(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for label, kind in CHOICES:
            self.kind.addItem(label, kind)
        describe(self.kind, "Response format", "Hold the reply to a shape: JSON, a pattern or one of a list")
        self.kind.setToolTip("Hold the reply to a shape: the model can write nothing else")
        self.text = QPlainTextEdit()
        describe(self.text, "Schema, pattern or choices", "The JSON Schema, the pattern, or the choices one per line")
        self.text.setMaximumHeight(90)
        self.use = describe(QPushButton("Use"), "Use", "Use this schema, pattern or list for the next replies")
        self.use.setToolTip("Use this schema, pattern or list for the next replies")
        row = QHBoxLayout()
        row.addWidget(self.kind, 1)
        row.addWidget(self.use)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.text)
        self.kind.activated.connect(self._kind_chosen)
        self.use.clicked.connect(self.changed)
        self._show_kind()

    def _kind_chosen(self, *_: Any) -> None:
        self._show_kind()
        if self.kind.currentData() in (None, "json_object"):
            self.changed.emit()  # nothing more to type

    def _show_kind(self) -> None:
        kind = self.kind.currentData()
        needs_text = kind in HINTS
        self.text.setVisible(needs_text)
        self.use.setVisible(needs_text)
        self.text.setPlaceholderText(HINTS.get(kind, ""))

    def value(self) -> dict[str, Any] | None:
        """The chosen format; InvalidRequestError with a sentence when what is typed is not one."""
        kind = self.kind.currentData()
        typed = self.text.toPlainText().strip()
        if kind is None:
            return None
        if kind == "json_object":
            return {"type": "json_object"}
        if kind == "json_schema":
            try:
                fmt: dict[str, Any] = {"type": kind, "schema": json.loads(typed or "null")}
            except (ValueError, RecursionError) as err:
                raise InvalidRequestError(f"The JSON Schema is not valid JSON ({err}).") from None
        elif kind == "regex":
            fmt = {"type": kind, "pattern": typed}
        else:
            fmt = {"type": kind, "choices": [line.strip() for line in typed.splitlines() if line.strip()]}
        problem = response_format_problem(fmt)
        if problem:
            raise InvalidRequestError(problem[0].upper() + problem[1:] + ".")
        return fmt

    def set_value(self, fmt: dict[str, Any] | None) -> None:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        index = self.kind.findData(kind) if kind else 0
        self.kind.setCurrentIndex(max(index, 0))
        if kind == "json_schema":
            self.text.setPlainText(json.dumps(fmt["schema"], indent=1))  # type: ignore[index]
        elif kind == "regex":
            self.text.setPlainText(fmt["pattern"])  # type: ignore[index]
        elif kind == "choice":
            self.text.setPlainText("\n".join(fmt["choices"]))  # type: ignore[index]
        else:
            self.text.clear()
        self._show_kind()
