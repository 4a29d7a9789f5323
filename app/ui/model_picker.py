"""The model picker in the window's toolbar: local models with engine, size and quantization,
the engine choice and each model's load settings (in a settings menu), which engine runs the loaded
model, and unload. Models are listed on a worker thread (run_in_background); the model session says
what is loaded."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QComboBox, QDialog, QHBoxLayout, QLabel, QMenu, QPushButton, QToolButton, QWidget

from app.ui.background import run_in_background
from app.ui.icons import icon_button
from app.ui.model_session import ENGINE_NAMES, ModelSession
from engines.base import ModelInfo
from engines.inspect import human_size

ENGINE_CHOICES = [
    ("Engine: automatic (GGUF on llama.cpp, MLX folders on MLX)", "auto"),
    ("Engine: llama.cpp", "llamacpp"),
    ("Engine: MLX", "mlx"),
]


def _list_models() -> list[Any]:
    """The local models, then the models of the remote endpoints the person added (as listed when added)."""
    from app.library.catalog import list_local_models
    from app.library.remotes import remote_models

    return [*list_local_models(), *remote_models()]


def describe(model: Any) -> str:
    if model.info is None:
        return f"{model.name} (unusable)"
    if model.info.engine == "remote":
        return f"{model.name} · remote: leaves this computer"
    engine = ENGINE_NAMES.get(model.info.engine, model.info.engine)
    quant = f" {model.info.quantization}" if model.info.quantization else ""
    return f"{model.name} · {engine}{quant} · {human_size(model.info.file_size)}"


class ModelPicker(QWidget):
    """The listed local models and the engine choice; it asks for loads and shows how they go.

    The engine choice (automatic, llama.cpp or MLX) and the chosen model's load settings live in the
    settings button's menu; the one indicator beside the list says which engine runs the loaded model.
    """

    load_requested = Signal(str, str)  # path, engine choice
    unload_requested = Signal()
    listed = Signal(int)  # after each listing: how many models
    problem = Signal(str)

    def __init__(self, session: ModelSession | None = None) -> None:
        super().__init__()
        self.session = session  # where load settings are kept, and who loads a model again after a change
        self.load_settings_dialog: QDialog | None = None  # the last one opened
        self.models: list[Any] = []
        self._loaded_path: str | None = None  # what the session has loaded, as the list names it
        self._listed_before = False  # the first listing loads the first usable model; later ones never load
        self.box = QComboBox()
        self.box.setPlaceholderText("Looking for models…")
        self.box.setMinimumContentsLength(24)
        self.box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.box.setAccessibleName("Model")
        self.box.setAccessibleDescription("The model that writes the replies; choosing one loads it.")
        self.box.activated.connect(self._chosen)
        self.engine_choice = QActionGroup(self)
        self.settings_button = icon_button(
            "Engine and load settings", "Which engine runs the model, and how it is loaded", "settings-2"
        )
        self.settings_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.settings_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.settings_button)
        for label, value in ENGINE_CHOICES:
            action = menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(value == "auto")
            action.setData(value)
            self.engine_choice.addAction(action)
        self.engine_choice.triggered.connect(lambda _action: self._chosen())
        menu.addSeparator()
        self.load_settings_action = menu.addAction("Load settings for this model…")
        self.load_settings_action.triggered.connect(self.open_load_settings)
        self.settings_button.setMenu(menu)
        self.engine_label = QLabel("No model loaded")
        self.engine_label.setAccessibleName("Engine in use")
        self.unload_button = QPushButton("Unload")
        self.unload_button.setAccessibleName("Unload the model")
        self.unload_button.setToolTip("Free the memory the model holds")
        self.unload_button.setEnabled(False)
        self.unload_button.clicked.connect(self.unload_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box, 1)
        layout.addWidget(self.engine_label)
        layout.addWidget(self.settings_button)
        layout.addWidget(self.unload_button)

    @property
    def engine(self) -> str:
        """The engine chosen in the settings menu: auto, llamacpp or mlx."""
        checked = self.engine_choice.checkedAction()
        return str(checked.data()) if checked is not None else "auto"

    def refresh(self) -> None:
        """List the local models again, on a worker thread."""
        run_in_background(self, _list_models, self.set_models, self._listing_failed)

    def _listing_failed(self, error: Exception) -> None:
        self.set_models([])
        self.problem.emit(str(error))

    def set_models(self, models: list[Any]) -> None:
        """List these models. Only the first listing loads one (the first usable): a later listing (a model
        downloaded, the library refreshed) keeps what is loaded and shows it chosen."""
        first, self._listed_before = not self._listed_before, True
        self.models = models
        self._fill(models, first)
        self.listed.emit(len(models))

    def _fill(self, models: list[Any], first: bool) -> None:
        self.box.clear()
        for model in models:
            self.box.addItem(describe(model), str(model.path))
        loaded = self.box.findData(self._loaded_path) if self._loaded_path else -1
        if loaded >= 0:
            self.box.setCurrentIndex(loaded)
            return
        usable = [i for i, m in enumerate(models) if m.info is not None]
        if not usable:
            self.problem.emit("No models found; the starter model comes with `make run`.")
            return
        self.box.setCurrentIndex(usable[0])
        if first:
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

        engine = self.engine
        if (engine == "mlx" or model.info.engine == "mlx") and not is_apple_silicon():
            self.problem.emit("MLX runs on the CPU on this machine: it works, but about 10x slower than llama.cpp.")
        self.load_requested.emit(str(model.path), engine)

    def open_load_settings(self) -> QDialog | None:
        """The load settings of the model chosen in the list, in their dialog (not waited for)."""
        model = self.current_model()
        if self.session is None or model is None:
            return None
        if model.info is None or model.info.engine == "remote":
            what = "A remote model's server decides how it is loaded." if model.info else model.problem
            self.problem.emit(what or "This model cannot be used.")
            return None
        from app.ui.load_settings_dialog import LoadSettingsDialog

        dialog = LoadSettingsDialog(model, self.session.store, self.session, self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.load_settings_dialog = dialog
        dialog.open()
        return dialog

    def show_progress(self, fraction: float) -> None:
        """A model is loading (the status line shows how far)."""
        self.unload_button.setEnabled(False)
        self.engine_label.setText("Loading…")

    def show_loaded(self, info: ModelInfo, engine: str) -> None:
        self._loaded_path = info.path
        shown = self.box.findData(info.path)
        if shown >= 0:
            self.box.setCurrentIndex(shown)  # loaded from elsewhere (the welcome page): the list agrees
        self.unload_button.setEnabled(True)
        self.engine_label.setText(ENGINE_NAMES.get(engine, engine))
        self.engine_label.setToolTip(f"This model runs on {ENGINE_NAMES.get(engine, engine)}")

    def show_unloaded(self, *_: Any) -> None:
        """Nothing loaded (unloaded, or a load failed)."""
        self._loaded_path = None
        self.unload_button.setEnabled(False)
        self.engine_label.setText("No model loaded")
        self.engine_label.setToolTip("")
