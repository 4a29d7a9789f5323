"""Tool servers → Add a server…: a name, then a command line to run or a URL to reach, and its
environment variables (for a command) or headers (for a URL) as KEY=VALUE lines.

The values go to the system keyring through `add_server` (mcp.json keeps a placeholder in their
place), which can wait on a keyring that asks to be unlocked, so saving runs off the GUI thread. A
form that cannot be saved shows one sentence under the fields and nothing is kept.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.tools.errors import McpConfigError
from app.tools.mcp_config import add_server
from app.ui.accessible import describe, name_form_fields
from app.ui.background import run_in_background
from app.ui.theme import error_style

KEYRING_NOTE = "Values are kept in the system keyring, not in mcp.json."


def command_words(line: str) -> list[str] | None:
    """The program and its arguments, split as a shell would (with ~ for the home folder); None for an empty line."""
    try:
        words = shlex.split(line)
    except ValueError:
        raise McpConfigError("The command line has a quote that is not closed; close it or remove it.") from None
    return [os.path.expanduser(word) for word in words] or None


def key_values(text: str) -> dict[str, str]:
    """KEY=VALUE lines (blank lines skipped) as a mapping. The values are secrets: never in a sentence."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, equals, value = line.partition("=")
        if not equals:
            raise McpConfigError(f"Line {number} of the variables has no '='; write each one as NAME=value.")
        if not key.strip():
            raise McpConfigError(f"Line {number} of the variables has no name before its '='; write NAME=value.")
        values[key.strip()] = value.strip()
    return values


def server_fields(name: str, command_line: str, url: str, variables: str) -> dict[str, Any]:
    """The keyword arguments of `add_server` for what was typed, or McpConfigError (one sentence)."""
    words = command_words(command_line)
    values = key_values(variables)
    fields: dict[str, Any] = {"name": name}
    if words is not None:
        fields.update(command=words[0], args=words[1:], env=values)
    if url.strip():
        fields.update(url=url.strip(), headers=values)
    return fields


def sentence_of(change: Callable[[], object]) -> str | None:
    """Make a change to mcp.json (on a pool thread): None once made, or the sentence saying why not."""
    try:
        change()
    except McpConfigError as err:
        return str(err)
    return None


class ServerForm(QDialog):
    added = Signal(str)  # the server's name, once it is in mcp.json

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a tool server")
        self.setMinimumWidth(560)
        self.name = describe(QLineEdit(), "Name", "A short name, e.g. files; a server of the same name is replaced")
        self.command = describe(
            QLineEdit(), "Command", "The program to run and its arguments, as you would type them in a terminal"
        )
        self.command.setPlaceholderText("npx -y @modelcontextprotocol/server-filesystem ~/Documents")
        self.url = describe(QLineEdit(), "URL", "Or the address of a server reached over HTTP")
        self.url.setPlaceholderText("https://example.com/mcp")
        self.variables = describe(
            QPlainTextEdit(),
            "Variables",
            "Environment variables for a command, or headers for a URL: one NAME=value a line",
        )
        self.variables.setPlaceholderText(
            "API_KEY=…\none NAME=value a line: environment variables, or headers for a URL"
        )
        self.variables.setTabChangesFocus(True)
        self.variables.setFixedHeight(self.fontMetrics().lineSpacing() * 5)
        self.note = QLabel(f"Give a command or a URL, not both. {KEYRING_NOTE}")
        self.note.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.add_button.setText("Add")
        describe(self.add_button, "Add", "Keep the server in mcp.json and list its tools")
        describe(self.buttons.button(QDialogButtonBox.StandardButton.Cancel), "Cancel", "Close without adding")
        self._lay_out()
        self.buttons.accepted.connect(self.add)
        self.buttons.rejected.connect(self.reject)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Command", self.command)
        form.addRow("or URL", self.url)
        form.addRow("Variables", self.variables)
        name_form_fields(form)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.note)
        column.addWidget(self.status)
        column.addStretch(1)
        column.addWidget(self.buttons)

    def add(self) -> None:
        try:
            fields = server_fields(self.name.text(), self.command.text(), self.url.text(), self.variables.toPlainText())
        except McpConfigError as err:
            self._say(str(err), True)
            return
        self.add_button.setEnabled(False)
        self._say("Saving…", False)
        name = fields["name"].strip()
        run_in_background(
            self, lambda: sentence_of(lambda: add_server(**fields)), lambda said: self._saved(name, said), self._failed
        )

    def _saved(self, name: str, sentence: str | None) -> None:
        if sentence is not None:
            self._failed(McpConfigError(sentence))
            return
        self.add_button.setEnabled(True)
        self.variables.clear()  # the secrets leave the screen once kept
        self.added.emit(name)
        self.accept()

    def _failed(self, error: Exception) -> None:
        self.add_button.setEnabled(True)
        self._say(str(error), True)

    def _say(self, text: str, problem: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(error_style(self.palette()) if problem else "")
