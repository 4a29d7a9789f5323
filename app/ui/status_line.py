"""The window's status bar: the last thing that happened (a problem in the theme's error colour)
on the left, the engine host's memory on the right."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.ui.theme import error_style


class StatusLine(QStatusBar):
    """The status message and the engine's memory figure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel("")
        self.memory = QLabel("")
        self.addWidget(self.message, 1)
        self.addPermanentWidget(self.memory)

    def text(self) -> str:
        return self.message.text()

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(error_style(self.palette()) if error else "")

    def show_memory(self, resident_bytes: int) -> None:
        """The engine host's resident memory; 0 clears it (unknown, or nothing loaded)."""
        self.memory.setText(f"Engine memory: {resident_bytes / 1e9:.2f} GB" if resident_bytes else "")
