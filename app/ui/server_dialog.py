"""Models → API server…: serve the OpenAI and Anthropic APIs from the window.

A switch starts and stops the server (on this computer only: 127.0.0.1), and the dialog shows
whether it runs, its address, its API key (hidden until asked for, copyable) and an example `curl`
to copy. The model the window has loaded answers on the window's own engine host.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.server.background import BackgroundServer, SharedRegistry
from app.ui.accessible import describe
from engines.host_client import EngineClient

DEFAULT_PORT = 8484


def example_curl(url: str, key: str, model: str) -> str:
    return (
        f"curl {url}/chat/completions \\\n"
        f'  -H "Authorization: Bearer {key}" -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello"}}]}}\''
    )


class ServerDialog(QDialog):
    """The switch, the port, and what a client needs to know."""

    serving_changed = Signal(str)  # the address while serving, "" once stopped

    def __init__(
        self,
        client: EngineClient,
        loaded_path: Callable[[], str | None],
        loaded_name: Callable[[], str | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("API server")
        self._client, self._loaded_path, self._loaded_name = client, loaded_path, loaded_name
        self.server = BackgroundServer()
        self.registry: SharedRegistry | None = None
        self.switch = describe(
            QCheckBox("Serve the OpenAI and Anthropic APIs on this computer"),
            "Serve the API",
            "Let programs on this computer use your local models through the OpenAI and Anthropic APIs",
        )
        self.port = describe(QSpinBox(), "Port", "The port the server listens on")
        self.port.setRange(1024, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.status = QLabel("Stopped.")
        self.status.setWordWrap(True)
        self.address = describe(QLineEdit(), "Address", "The base URL clients use")
        self.address.setReadOnly(True)
        self.key = describe(QLineEdit(), "API key", "Every request must carry this key")
        self.key.setReadOnly(True)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_key = describe(QPushButton("Show"), "Show the key", "Show or hide the API key")
        self.copy_key = describe(QPushButton("Copy"), "Copy the key", "Copy the API key to the clipboard")
        self.curl = describe(QPlainTextEdit(), "Example", "A request to try in a terminal")
        self.curl.setReadOnly(True)
        self.curl.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.curl.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.curl.setMaximumHeight(self.curl.fontMetrics().lineSpacing() * 6)
        self._example = ""  # the example with the real key: what Copy example copies
        self.copy_curl = describe(QPushButton("Copy example"), "Copy the example", "Copy the curl example")
        self._layout()
        self.switch.toggled.connect(self._switched)
        self.show_key.clicked.connect(self._toggle_key)
        self.copy_key.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.key.text()))
        self.copy_curl.clicked.connect(lambda: QGuiApplication.clipboard().setText(self._example))

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Port", self.port)
        form.addRow("Address", self.address)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.show_key)
        key_row.addWidget(self.copy_key)
        form.addRow("API key", key_row)
        column = QVBoxLayout(self)
        column.addWidget(self.switch)
        column.addWidget(self.status)
        column.addLayout(form)
        column.addWidget(QLabel("Try it:"))
        column.addWidget(self.curl)
        column.addWidget(self.copy_curl)
        column.addStretch(1)  # the parts keep together at the top of a taller dialog

    def _switched(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        from app.server.security import server_token

        token = server_token()
        registry = self.registry = SharedRegistry(self._client, self._loaded_path)
        try:
            url = self.server.start(registry, token.value, port=self.port.value())
        except OSError as err:
            self.status.setText(str(err))
            self.switch.blockSignals(True)
            self.switch.setChecked(False)
            self.switch.blockSignals(False)
            return
        self.port.setEnabled(False)
        kept = {"keyring": "kept in the system keyring", "environment": "from PARLOUR_SERVER_TOKEN"}.get(
            token.kept, "for this run only (no system keyring)"
        )
        self.status.setText(f"Serving at {url}, on this computer only. The key is {kept}.")
        self.address.setText(url)
        self.key.setText(token.value)
        self._example = example_curl(url, token.value, self._loaded_name() or "MODEL")
        self._show_example()
        self.serving_changed.emit(url)

    def stop(self) -> None:
        self.server.stop()
        self.port.setEnabled(True)
        self.status.setText("Stopped.")
        self.address.clear()
        self._example = ""
        self.curl.clear()
        self.serving_changed.emit("")

    def _toggle_key(self) -> None:
        hidden = self.key.echoMode() == QLineEdit.EchoMode.Password
        self.key.setEchoMode(QLineEdit.EchoMode.Normal if hidden else QLineEdit.EchoMode.Password)
        self.show_key.setText("Hide" if hidden else "Show")
        self._show_example()

    def _show_example(self) -> None:
        """The example as it is copied, with the key hidden while the key field hides it."""
        hidden = self.key.echoMode() == QLineEdit.EchoMode.Password
        key = self.key.text()
        self.curl.setPlainText(self._example.replace(key, "•" * 12) if hidden and key else self._example)
