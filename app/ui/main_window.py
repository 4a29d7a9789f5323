"""The main window, first version: pick a local model, chat with streaming replies.

Everything slow happens elsewhere: models are listed on a worker thread, the model
runs in the engine host, and deltas are coalesced and appended at most ~30 times a
second, touching only the end of the transcript.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.ui.engine_bridge import EngineBridge
from engines.base import GenerationParams
from engines.hardware import is_apple_silicon

FLUSH_INTERVAL_MS = 33
ENGINE_CHOICES = [("Engine: auto", "auto"), ("Engine: llama.cpp", "llamacpp"), ("Engine: MLX", "mlx")]


class _ModelLister(QObject):
    listed = Signal(object)

    def start(self) -> None:
        threading.Thread(target=self._run, name="list-models", daemon=True).start()

    def _run(self) -> None:
        from app.library.catalog import list_local_models

        try:
            models = list_local_models()
        except Exception:  # listing must never take the window down
            models = []
        # RuntimeError: the window closed before the listing finished.
        with contextlib.suppress(RuntimeError):
            self.listed.emit(models)


class MainWindow(QMainWindow):
    def __init__(self, engine_log: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Parlour")
        self.resize(900, 700)
        self.bridge = EngineBridge(engine_log, self)
        self.bridge.message.connect(self._on_engine_message)
        self.models: list[Any] = []
        self.history: list[dict[str, str]] = []
        self._reply_parts: list[str] = []
        self._pending = ""
        self._load_id: str | None = None
        self._reply_id: str | None = None
        self._loaded_path: str | None = None

        self.model_box = QComboBox()
        self.model_box.setPlaceholderText("Looking for models…")
        self.model_box.activated.connect(self._on_model_chosen)
        self.engine_box = QComboBox()
        for label, value in ENGINE_CHOICES:
            self.engine_box.addItem(label, value)
        self.engine_box.activated.connect(self._on_model_chosen)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.transcript = QTextBrowser()
        self.transcript.setOpenExternalLinks(False)
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Message (Enter sends, Shift+Enter for a new line)")
        self.input.setFixedHeight(80)
        self.input.installEventFilter(self)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.status = QLabel("Starting…")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(self.model_box, 1)
        top.addWidget(self.engine_box)
        bottom = QHBoxLayout()
        bottom.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        bottom.addLayout(buttons)
        layout = QVBoxLayout()
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.transcript, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.status)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)

        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.stop)
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush)
        self._lister = _ModelLister(self)
        self._lister.listed.connect(self._on_models_listed)
        self._lister.start()

    # --- models -----------------------------------------------------------------------------------------

    def _on_models_listed(self, models: list[Any]) -> None:
        self.models = models
        self.model_box.clear()
        for model in models:
            label = model.name if model.info else f"{model.name} (unusable)"
            self.model_box.addItem(label, str(model.path))
        usable = [i for i, m in enumerate(models) if m.info is not None]
        if not usable:
            self.set_status("No models found; the starter model comes with `make run`.", error=True)
            return
        self.model_box.setCurrentIndex(usable[0])
        self._on_model_chosen()

    def _on_model_chosen(self, *_: Any) -> None:
        index = self.model_box.currentIndex()
        if index < 0 or index >= len(self.models):
            return
        model = self.models[index]
        if model.info is None:
            self.set_status(model.problem or "This model cannot be used.", error=True)
            return
        engine = self.engine_box.currentData()
        if engine == "mlx" and not is_apple_silicon():
            self.set_status("MLX runs on the CPU on this machine: it works, but about 10x slower than llama.cpp.")
        self.load_model(str(model.path), engine)

    def load_model(self, path: str, engine: str = "auto") -> None:
        self.stop()
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.send_button.setEnabled(False)
        self._loaded_path = None
        self._load_id = self.bridge.load(path, engine)
        self.set_status("Loading model…")

    # --- chat -------------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: Any) -> bool:
        from PySide6.QtCore import QEvent

        if (
            watched is self.input
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not (event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        ):
            self.send()
            return True
        return super().eventFilter(watched, event)

    def send(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or self._reply_id is not None:
            return
        if self._loaded_path is None:
            self.set_status("Choose a model and wait for it to load first.", error=True)
            return
        self.input.clear()
        self.history.append({"role": "user", "content": text})
        self._append_block(f"<b>You</b><br>{_escape(text)}")
        self._append_block("<b>Assistant</b>")
        self._append_block("")
        self._reply_parts = []
        self._reply_id = self.bridge.generate(list(self.history), GenerationParams())
        self.stop_button.setEnabled(True)
        self.send_button.setEnabled(False)
        self._flush_timer.start()
        self.set_status("Thinking…")

    def stop(self) -> None:
        if self._reply_id is not None:
            self.bridge.cancel(self._reply_id)

    def _append_block(self, html: str) -> None:
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not self.transcript.document().isEmpty():
            cursor.insertBlock()
        cursor.insertHtml(html)

    def _flush(self) -> None:
        """Append what arrived since the last tick; only the end of the document changes."""
        if not self._pending:
            return
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(self._pending)
        self._pending = ""
        bar = self.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _on_engine_message(self, request_id: str, message: dict[str, Any]) -> None:
        event = message.get("event")
        if request_id == self._load_id:
            self._on_load_message(event, message)
        elif request_id == self._reply_id:
            self._on_reply_message(event, message)

    def _on_load_message(self, event: Any, message: dict[str, Any]) -> None:
        if event == "progress":
            self.progress.setValue(int(float(message.get("fraction", 0)) * 100))
            self.set_status(str(message.get("message", "Loading…")))
        elif event == "loaded":
            self.progress.setVisible(False)
            model = message.get("model", {})
            self._loaded_path = model.get("path")
            self.send_button.setEnabled(True)
            engine = {"llamacpp": "llama.cpp", "mlx": "MLX"}.get(message.get("engine", ""), "?")
            self.set_status(f"{model.get('name')} loaded · {engine}")
        elif event == "error":
            self.progress.setVisible(False)
            self._load_id = None
            self.set_status(str(message.get("message")), error=True)

    def _on_reply_message(self, event: Any, message: dict[str, Any]) -> None:
        if event == "delta":
            text = str(message.get("text", ""))
            self._pending += text
            self._reply_parts.append(text)
        elif event == "finished":
            self._flush()
            self._flush_timer.stop()
            self._reply_id = None
            self.stop_button.setEnabled(False)
            self.send_button.setEnabled(self._loaded_path is not None)
            reply = "".join(self._reply_parts)
            if reply:
                self.history.append({"role": "assistant", "content": reply})
            reason = message.get("finish_reason")
            stats = message.get("stats") or {}
            if reason == "error":
                error = str(message.get("error") or "The reply failed.")
                self._append_block(f"<i>⚠ {_escape(error.split(' Its last output:')[0])}</i>")
                self.set_status(error, error=True)
            else:
                tps = stats.get("generation_tps") or 0.0
                note = {"cancelled": " · stopped", "length": " · hit the length limit"}.get(str(reason), "")
                self.set_status(f"{stats.get('generated_tokens', 0)} tokens · {tps:.1f} tokens/s{note}")

    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c0392b;" if error else "")

    def closeEvent(self, event: Any) -> None:
        self._flush_timer.stop()
        self.bridge.shutdown()
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
