"""The model picker on top of the window: local models with engine, size and quantization,
an engine choice, load progress and unload. Models are listed on a worker thread
(run_in_background); the model session says what is loaded."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.ui.background import run_in_background
from app.ui.model_session import ENGINE_NAMES
from engines.base import ModelInfo
from engines.inspect import human_size

ENGINE_CHOICES = [("Engine: auto", "auto"), ("Engine: llama.cpp", "llamacpp"), ("Engine: MLX", "mlx")]


def _list_models() -> list[Any]:
    from app.library.catalog import list_local_models

    return list_local_models()


def describe(model: Any) -> str:
    if model.info is None:
        return f"{model.name} (unusable)"
    engine = ENGINE_NAMES.get(model.info.engine, model.info.engine)
    quant = f" {model.info.quantization}" if model.info.quantization else ""
    return f"{model.name} · {engine}{quant} · {human_size(model.info.file_size)}"


class ModelPicker(QWidget):
    """The listed local models and the engine choice; it asks for loads and shows how they go."""

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

    def refresh(self) -> None:
        """List the local models again, on a worker thread."""
        run_in_background(self, _list_models, self.set_models, self._listing_failed)

    def _listing_failed(self, error: Exception) -> None:
        self.set_models([])
        self.problem.emit(str(error))

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

    def name_of(self, path: str) -> str | None:
        """The name the list gives the model at `path`."""
        return next((model.name for model in self.models if str(model.path) == path), None)

    def _chosen(self, *_: Any) -> None:
        model = self.current_model()
        if model is None:
            return
        if model.info is None:
            self.problem.emit(model.problem or "This model cannot be used.")
            return
        # Imported here, not at the top: it brings importlib.metadata, which the first paint does not need.
        from engines.hardware import is_apple_silicon

        engine = self.engine_box.currentData()
        if (engine == "mlx" or model.info.engine == "mlx") and not is_apple_silicon():
            self.problem.emit("MLX runs on the CPU on this machine: it works, but about 10x slower than llama.cpp.")
        self.load_requested.emit(str(model.path), engine)

    def show_progress(self, fraction: float) -> None:
        self.progress.setVisible(True)
        self.progress.setValue(int(fraction * 100))
        self.engine_label.setText("Loading…")

    def show_loaded(self, info: ModelInfo, engine: str) -> None:
        self.progress.setVisible(False)
        self.unload_button.setEnabled(True)
        self.engine_label.setText(f"Engine: {ENGINE_NAMES.get(engine, engine)}")

    def show_unloaded(self, *_: Any) -> None:
        """Nothing loaded (unloaded, or a load failed)."""
        self.progress.setVisible(False)
        self.unload_button.setEnabled(False)
        self.engine_label.setText("No model loaded")
