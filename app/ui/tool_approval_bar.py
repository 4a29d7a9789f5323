"""The card above the message box that asks before a tool runs: which tool, from which server, with which
arguments, and Run, Deny, or Always allow this tool in this chat. Nothing runs until one is pressed."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.tools.approval import Answer
from app.ui.accessible import describe
from engines.tool_calls import ToolCall

ARGUMENTS_SHOWN = 600  # characters of the arguments on the card; the tooltip has them all


class ToolApprovalBar(QFrame):
    answered = Signal(object)  # Answer

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolApproval")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Tool call waiting for your answer")
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.arguments = QLabel("")
        self.arguments.setWordWrap(True)
        self.arguments.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run = describe(QPushButton("Run"), "Run", "Run this tool call once")
        self.deny = describe(QPushButton("Deny"), "Deny", "Do not run it; the model is told you said no")
        self.always = describe(
            QPushButton("Always allow in this chat"),
            "Always allow in this chat",
            "Run it, and run this tool without asking for the rest of this chat",
        )
        self.run.clicked.connect(lambda: self._answer(Answer.RUN))
        self.deny.clicked.connect(lambda: self._answer(Answer.DENY))
        self.always.clicked.connect(lambda: self._answer(Answer.ALWAYS))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.deny, self.always, self.run):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.arguments)
        layout.addLayout(buttons)
        self.setVisible(False)

    def ask(self, call: ToolCall, server: str) -> None:
        # The names come from the model and the server: escaped, so neither can shape the card.
        self.title.setText(
            f"The model wants to run <b>{html.escape(call.name)}</b> from the tool server <b>{html.escape(server)}</b>."
        )
        text = json.dumps(call.arguments, ensure_ascii=False, indent=1)
        self.arguments.setText(text if len(text) <= ARGUMENTS_SHOWN else text[:ARGUMENTS_SHOWN] + " …")
        self.arguments.setToolTip(text)
        self.setVisible(True)
        self.run.setFocus()

    def _answer(self, answer: Answer) -> None:
        self.setVisible(False)
        self.answered.emit(answer)
