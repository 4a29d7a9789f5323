"""Models → Add a remote endpoint…: a name, an OpenAI-compatible base URL and an API key.

Adding asks the endpoint for its models (off the GUI thread; the one network call, made because the
person asked) and keeps the key in the system keyring. Its models then join the model list, marked
as leaving this computer. A failure is one sentence under the fields, and nothing is kept.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.ui.accessible import describe
from app.ui.background import run_in_background
from app.ui.theme import error_style


class RemoteDialog(QDialog):
    added = Signal(str)  # the endpoint's name, once it and its models are kept

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a remote endpoint")
        self.name = describe(QLineEdit(), "Name", "A short name for the server, e.g. gpu-box")
        self.url = describe(QLineEdit(), "Base URL", "Its OpenAI-compatible address, e.g. http://10.0.0.5:8000/v1")
        self.url.setPlaceholderText("http://10.0.0.5:8000/v1")
        self.key = describe(QLineEdit(), "API key", "Kept only in the system keyring; leave empty if it needs none")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.note = QLabel("What you send to a remote model leaves this computer.")
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.add_button.setText("Add")
        describe(self.add_button, "Add", "Ask the server for its models and keep it")
        describe(self.buttons.button(QDialogButtonBox.StandardButton.Cancel), "Cancel", "Close without adding")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Base URL", self.url)
        form.addRow("API key", self.key)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.note)
        column.addStretch(1)  # the buttons at the foot, the note under the fields
        column.addWidget(self.buttons)
        self.buttons.accepted.connect(self.add)
        self.buttons.rejected.connect(self.reject)

    def add(self) -> None:
        from app.library.remotes import add_endpoint

        name, url, key = self.name.text(), self.url.text(), self.key.text().strip() or None
        self.add_button.setEnabled(False)
        self._say("Asking it for its models…", False)
        run_in_background(self, lambda: add_endpoint(name, url, key), self._added, self._failed)

    def _added(self, endpoint: object) -> None:
        self.add_button.setEnabled(True)
        models = getattr(endpoint, "models", ())
        count = f"{len(models)} model{'' if len(models) == 1 else 's'}"
        self._say(f"Added {getattr(endpoint, 'name', '')}: {count}.", False)
        self.added.emit(getattr(endpoint, "name", ""))
        self.key.clear()

    def _failed(self, error: Exception) -> None:
        self.add_button.setEnabled(True)
        self._say(str(error), True)

    def _say(self, text: str, problem: bool) -> None:
        self.note.setText(text)
        self.note.setStyleSheet(error_style(self.palette()) if problem else "")
