"""The model picker on top of the window: local models with engine, size and quantization,
an engine choice, load progress and unload. Models are listed on a worker thread."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from engines.hardware import is_apple_silicon
from engines.inspect import human_size

ENGINE_CHOICES = [("Engine: auto", "auto"), ("Engine: llama.cpp", "llamacpp"), ("Engine: MLX", "mlx")]
ENGINE_NAMES = {"llamacpp": "llama.cpp", "mlx": "MLX"}


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


def describe(model: Any) -> str:
    if model.info is None:
        return f"{model.name} (unusable)"
    engine = ENGINE_NAMES.get(model.info.engine, model.info.engine)
    quant = f" {model.info.quantization}" if model.info.quantization else ""
    return f"{model.name} · {engine}{quant} · {human_size(model.info.file_size)}"


class ModelPicker(QWidget):
    load_requested = Signal(str, str)  # path, engine choice
    unload_requested = Signal()
    problem = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.models: list[Any] = []
        self.box = QComboBox()
        self.box.setPlaceholderText("Looking for models…")
        self.box.setMinimumWidth(320)
        self.box.activated.connect(self._chosen)
        self.engine_box = QComboBox()
        for label, value in ENGINE_CHOICES:
            self.engine_box.addItem(label, value)
        self.engine_box.activated.connect(self._chosen)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.unload_button = QPushButton("Unload")
        self.unload_button.setEnabled(False)
        self.unload_button.clicked.connect(self.unload_requested)
        self.engine_label = QLabel("")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box, 1)
        layout.addWidget(self.engine_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.engine_label)
        layout.addWidget(self.unload_button)
        self._lister = _ModelLister(self)
        self._lister.listed.connect(self.set_models)

    def refresh(self) -> None:
        self._lister.start()

    def set_models(self, models: list[Any]) -> None:
        self.models = models
        self.box.clear()
        for model in models:
            self.box.addItem(describe(model), str(model.path))
        usable = [i for i, m in enumerate(models) if m.info is not None]
        if not usable:
            self.problem.emit("No models found; the starter model comes with `make run`.")
            return
        self.box.setCurrentIndex(usable[0])
        self._chosen()

    def current_model(self) -> Any:
        index = self.box.currentIndex()
        return self.models[index] if 0 <= index < len(self.models) else None

    def _chosen(self, *_: Any) -> None:
        model = self.current_model()
        if model is None:
            return
        if model.info is None:
            self.problem.emit(model.problem or "This model cannot be used.")
            return
        engine = self.engine_box.currentData()
        if (engine == "mlx" or model.info.engine == "mlx") and not is_apple_silicon():
            self.problem.emit("MLX runs on the CPU on this machine: it works, but about 10x slower than llama.cpp.")
        self.load_requested.emit(str(model.path), engine)

    def loading(self, fraction: float | None) -> None:
        self.progress.setVisible(fraction is not None)
        if fraction is not None:
            self.progress.setValue(int(fraction * 100))
            self.engine_label.setText("Loading…")

    def loaded(self, engine: str | None) -> None:
        self.progress.setVisible(False)
        self.unload_button.setEnabled(engine is not None)
        self.engine_label.setText(f"Engine: {ENGINE_NAMES.get(engine or '', '—')}" if engine else "No model loaded")
