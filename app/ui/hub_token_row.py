"""The Hub browser's token row: a button that asks for a Hugging Face token, and where it is kept.

The token is read and saved off the GUI thread (a system keyring may hang); `token` is what the
browser's requests use, None until one is known.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLabel, QLineEdit, QPushButton, QWidget

from app.library.hub_token import HubToken
from app.ui.accessible import describe
from app.ui.background import run_in_background


class HubTokenRow(QWidget):
    """The token button and its one-line status."""

    def __init__(self, store: HubToken, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.token: str | None = None
        self.button = describe(
            QPushButton("Hugging Face token…"),
            "Hugging Face token",
            "Needed only for gated models; kept in the system keyring",
        )
        self.status = QLabel("")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.status, 1)
        self.button.clicked.connect(self._ask)
        run_in_background(self, self.store.get, self._loaded, lambda _error: None)

    def _loaded(self, token: str | None) -> None:
        self.token = token
        self.status.setText(self.store.notice or ("Token set" if token else ""))

    def _ask(self) -> None:
        text, ok = QInputDialog.getText(
            self, "Hugging Face token", "Token (for gated models; kept in the keyring):", QLineEdit.EchoMode.Password
        )
        if ok:
            self.set_token(text)

    def set_token(self, token: str) -> None:
        """Keep the token (keyring, or this session only) off the GUI thread; it may hang."""
        self.token = token.strip() or None
        self.status.setText("Saving…")

        def saved(where: str) -> None:
            done = {"keyring": "Token saved in the system keyring.", "none": "Token removed."}
            self.status.setText(done.get(where, self.store.notice or ""))

        def failed(error: Exception) -> None:
            self.status.setText(str(error))

        run_in_background(self, lambda: self.store.set(token), saved, failed)
