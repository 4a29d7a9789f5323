"""Model picker → Load settings for this model…: how one model is loaded, kept with the model.

The fields start from what is kept for the model (app.store.load_settings) over the defaults. As they
change, a line says what the load would take in memory (app.library.load_choice.memory_line, from the
fit estimate), and a combination the engine cannot run (a quantized KV cache with flash attention
off, a number out of range) shows the engine's own sentence in red, with Save off. Save keeps only
what differs from the defaults and, when this model is the one loaded, loads it again; Reset to
defaults forgets what was kept. The model's shape, this machine's memory and the models that could
draft for it are read once, on a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.library.fit import MemoryBudget, ModelShape
from app.store.db import Store
from app.store.errors import StoreError
from app.store.load_settings import DEFAULTS
from app.store.templates import model_key
from app.ui.accessible import describe
from app.ui.background import run_in_background
from app.ui.model_session import ModelSession
from app.ui.theme import error_style
from engines.base import KV_CACHE_TYPES, EngineError

LLAMACPP_ONLY = "llama.cpp only: MLX decides this by itself."
KV_LABELS = {
    "llamacpp": {"f16": "f16 (full size)", "q8_0": "q8_0 (about half)", "q4_0": "q4_0 (about a quarter)"},
    "mlx": {"f16": "16-bit (full size)", "q8_0": "8-bit (about half)", "q4_0": "4-bit (about a quarter)"},
}
AUTOMATIC = "Automatic"
MAX_CONTEXT_FIELD = 1 << 24  # engines.context.MAX_CONTEXT: past it, the engine's sentence says so


@dataclass(frozen=True)
class ModelFacts:
    """What the estimate and the draft list need, read once off the GUI thread."""

    shape: ModelShape | None
    weights: int
    budget: MemoryBudget
    drafts: list[tuple[str, str]]  # (listed name, path) of the models that could draft for this one


def read_facts(path: str, model_format: str) -> ModelFacts:
    """On a worker thread: the model's shape and weights, free memory, and the local models of its format."""
    from app.library.catalog import list_local_models
    from app.library.fit import local_model_shape, machine_budget

    shape, weights = local_model_shape(path)
    own = model_key(Path(path))
    drafts = [
        (m.name, str(m.path))
        for m in list_local_models()
        if m.info is not None and m.info.format == model_format and model_key(m.path) != own
    ]
    return ModelFacts(shape, weights, machine_budget(), drafts)


class LayersBox(QSpinBox):
    """GPU layers: Automatic at its lowest value, All at -1, else a number of layers."""

    def textFromValue(self, value: int) -> str:  # noqa: N802  (Qt's name)
        return "All" if value == -1 else super().textFromValue(value)

    def valueFromText(self, text: str) -> int:  # noqa: N802  (Qt's name)
        return -1 if text.strip().lower() == "all" else super().valueFromText(text)

    def validate(self, text: str, position: int) -> object:
        # The text goes back with the state: Qt shows what validate returns.
        word = text.strip().lower()
        if word and "all".startswith(word):
            return (QValidator.State.Acceptable if word == "all" else QValidator.State.Intermediate), text, position
        return super().validate(text, position)


def number_box(low: int, high: int, step: int = 1, special: str | None = None, box: QSpinBox | None = None) -> QSpinBox:
    """A spin box from `low` to `high`; `special` names its lowest value (Automatic, the model's own)."""
    box = box if box is not None else QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)
    return box


class LoadSettingsDialog(QDialog):
    """One model's load settings, checked and estimated as they change; Save keeps them, Reset forgets them."""

    ready = Signal()  # the model's shape, the free memory and the draft models are known
    saved = Signal(dict)  # the overrides now kept ({} after Reset)

    def __init__(self, model: Any, store: Store, session: ModelSession | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.model, self.store, self.session = model, store, session
        self.engine: str = model.info.engine
        self.facts: ModelFacts | None = None
        self.setWindowTitle(f"Load settings · {model.name}")
        self._make_fields()
        self._make_buttons()
        self._lay_out()
        self._show_values(self._stored())
        for box in self.findChildren(QSpinBox):
            box.valueChanged.connect(self._changed)
        for combo in self.findChildren(QComboBox):
            combo.currentIndexChanged.connect(self._changed)
        for check in self.findChildren(QCheckBox):
            check.toggled.connect(self._changed)
        if self.engine == "mlx":
            for field in (self.gpu_layers, self.flash_attention, self.batch_size, self.memory_map, self.memory_lock):
                field.setEnabled(False)
                field.setToolTip(LLAMACPP_ONLY)
                field.setAccessibleDescription(f"{field.accessibleDescription()} ({LLAMACPP_ONLY})")
        self._changed()
        info = model.info
        run_in_background(self, lambda: read_facts(str(model.path), info.format), self._facts_read, self._no_facts)

    # --- the fields ---------------------------------------------------------------------------------------

    def _make_fields(self) -> None:
        own = self.model.info.context_length
        own_text = f"The model's own ({own:,})" if own else "The model's own"
        self.context_length = describe(
            number_box(0, MAX_CONTEXT_FIELD, 1024, own_text),
            "Context length",
            "How many tokens of conversation the model holds; the model's own is capped to what free memory holds",
        )
        self.context_length.setSuffix(" tokens")
        self.context_length.setGroupSeparatorShown(True)
        self.gpu_layers = describe(
            number_box(-2, 100_000, 1, AUTOMATIC, LayersBox()),
            "GPU layers",
            "How many of the model's layers run on the GPU: Automatic (all where there is a GPU), All, or a number",
        )
        self.flash_attention = describe(
            self._combo([(AUTOMATIC, None), ("On", True), ("Off", False)]),
            "Flash attention",
            "Faster attention in less memory; Automatic turns it on exactly when the KV cache is quantized",
        )
        labels = KV_LABELS.get(self.engine, KV_LABELS["llamacpp"])
        self.kv_cache_type = describe(
            self._combo([(labels[kind], kind) for kind in KV_CACHE_TYPES]),
            "KV cache",
            "How the conversation's keys and values are kept: smaller types fit longer contexts in less memory",
        )
        self.threads = describe(
            number_box(0, 1024, 1, AUTOMATIC), "Threads", "CPU threads; Automatic picks by how busy this machine is"
        )
        self.batch_size = describe(
            number_box(0, 8192, 32, f"{AUTOMATIC} (512)"),
            "Batch size",
            "Tokens of the prompt read at once, 32 to 8,192; larger can read long prompts faster",
        )
        self.memory_map = describe(
            QCheckBox("Map the weights from disk"),
            "Memory map",
            "Read the weights through a memory map, so loading is quick and unused parts stay on disk",
        )
        self.memory_lock = describe(
            QCheckBox("Keep the weights in memory"),
            "Memory lock",
            "Never let the system page the weights out (needs the memory to spare)",
        )
        self._make_drafting_fields()

    def _make_drafting_fields(self) -> None:
        self.prompt_lookup = describe(
            self._combo([(f"{AUTOMATIC} (where it pays off)", None), ("On", True), ("Off", False)]),
            "Prompt lookup",
            "Speculative decoding: guess the next words from text already in the conversation, which the model "
            "then checks; replies that repeat the prompt come faster and are the same",
        )
        self.draft_model = describe(
            self._combo([("None", None)]),
            "Draft model",
            "A smaller model of the same kind and vocabulary that guesses tokens for this one to check",
        )
        self.max_draft_tokens = describe(
            number_box(1, 64), "Draft tokens", "The most guessed tokens the model checks at once, 1 to 64"
        )

    @staticmethod
    def _combo(choices: list[tuple[str, Any]]) -> QComboBox:
        combo = QComboBox()
        for label, value in choices:
            combo.addItem(label, value)
        return combo

    def _make_buttons(self) -> None:
        buttons = self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        describe(self.save_button, "Save", "Keep these settings for this model, and load it again if it is loaded")
        self.reset_button = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        self.reset_button.setText("Reset to defaults")
        describe(self.reset_button, "Reset to defaults", "Forget this model's settings and use the defaults")
        describe(buttons.button(QDialogButtonBox.StandardButton.Cancel), "Cancel", "Close without saving")
        self.save_button.clicked.connect(self.save)
        self.reset_button.clicked.connect(self.reset)
        buttons.rejected.connect(self.reject)

    def _lay_out(self) -> None:
        greyed = " The settings in grey are llama.cpp's; MLX decides those itself." if self.engine == "mlx" else ""
        intro = QLabel(
            f"How {self.model.name} is loaded, in this window and by parlour chat. "
            f"Saving loads it again if it is loaded.{greyed}"
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        for label, field in (
            ("Context length", self.context_length),
            ("KV cache", self.kv_cache_type),
            ("Flash attention", self.flash_attention),
            ("GPU layers", self.gpu_layers),
            ("Threads", self.threads),
            ("Batch size", self.batch_size),
            ("Memory", self.memory_map),
            ("", self.memory_lock),
            ("Prompt lookup", self.prompt_lookup),
            ("Draft model", self.draft_model),
            ("Draft tokens", self.max_draft_tokens),
        ):
            form.addRow(label, field)
        self.estimate = QLabel("Reading the model's size…")
        self.estimate.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(error_style(self.palette()))
        self.problem.hide()
        column = QVBoxLayout(self)
        column.addWidget(intro)
        column.addLayout(form)
        column.addWidget(self.estimate)
        column.addWidget(self.problem)
        column.addStretch(1)
        column.addWidget(self.buttons)
        self.setMinimumWidth(520)

    # --- values -------------------------------------------------------------------------------------------

    def _stored(self) -> dict[str, Any]:
        from app.library.load_choice import model_overrides

        return {**DEFAULTS, **model_overrides(self.model.path, self.store)}

    def _show_values(self, values: dict[str, Any]) -> None:
        self.context_length.setValue(values["context_length"] or 0)
        self.gpu_layers.setValue(-2 if values["gpu_layers"] is None else values["gpu_layers"])
        self.threads.setValue(values["threads"] or 0)
        self.batch_size.setValue(values["batch_size"] or 0)
        self.max_draft_tokens.setValue(values["max_draft_tokens"])
        for check, name in ((self.memory_map, "memory_map"), (self.memory_lock, "memory_lock")):
            check.setChecked(values[name])
        self._choose(self.prompt_lookup, values["prompt_lookup"])
        self._choose(self.flash_attention, values["flash_attention"])
        self._choose(self.kv_cache_type, values["kv_cache_type"])
        draft = values["draft_model"]
        if draft is not None and self.draft_model.findData(draft) < 0:
            self.draft_model.addItem(Path(draft).name, draft)  # kept before the list of models is read
        self._choose(self.draft_model, draft)

    @staticmethod
    def _choose(combo: QComboBox, value: Any) -> None:
        # findData takes False for None and 0 for False: None and booleans are matched by identity.
        def same(data: Any) -> bool:
            return data is value if value is None or isinstance(value, bool) else data == value

        combo.setCurrentIndex(next((i for i in range(combo.count()) if same(combo.itemData(i))), 0))

    def values(self) -> dict[str, Any]:
        """The per-model load settings the fields hold (LoadSettings' field names and values)."""
        gpu = self.gpu_layers.value()
        return {
            "context_length": self.context_length.value() or None,
            "gpu_layers": None if gpu == -2 else gpu,
            "threads": self.threads.value() or None,
            "kv_cache_type": self.kv_cache_type.currentData(),
            "flash_attention": self.flash_attention.currentData(),
            "batch_size": self.batch_size.value() or None,
            "memory_map": self.memory_map.isChecked(),
            "memory_lock": self.memory_lock.isChecked(),
            "prompt_lookup": self.prompt_lookup.currentData(),
            "draft_model": self.draft_model.currentData(),
            "max_draft_tokens": self.max_draft_tokens.value(),
        }

    def _changed(self, *_: Any) -> None:
        """Check the fields as the engine would, and say what they cost in memory."""
        from app.library.load_choice import check_load_settings, memory_line

        try:
            settings = check_load_settings(self.values(), self.engine, self.model.info.context_length)
        except EngineError as err:
            self._refuse(str(err))
            return
        self._refuse(None)
        # Draft tokens matter only while something drafts.
        self.max_draft_tokens.setEnabled(settings.prompt_lookup is not False or settings.draft_model is not None)
        if self.facts is not None:
            facts = self.facts
            line = memory_line(
                self.engine, facts.shape, facts.weights, self.model.info.context_length, settings, facts.budget
            )
            self.estimate.setText(line)

    def _refuse(self, sentence: str | None) -> None:
        self.problem.setText(sentence or "")
        self.problem.setVisible(sentence is not None)
        self.save_button.setEnabled(sentence is None)

    # --- what was read off the GUI thread -----------------------------------------------------------------

    def _facts_read(self, facts: ModelFacts) -> None:
        self.facts = facts
        chosen = self.draft_model.currentData()
        listed = {model_key(Path(path)): (name, path) for name, path in facts.drafts}
        if chosen is not None and model_key(Path(chosen)) not in listed:
            listed[model_key(Path(chosen))] = (Path(chosen).name, chosen)  # chosen by path, not in the library
        self.draft_model.blockSignals(True)  # the choice stays what it was: nothing to check again
        self.draft_model.clear()
        self.draft_model.addItem("None", None)
        for name, path in listed.values():
            self.draft_model.addItem(name, path)
        keys = list(listed)
        self.draft_model.setCurrentIndex(keys.index(model_key(Path(chosen))) + 1 if chosen is not None else 0)
        self.draft_model.blockSignals(False)
        self._changed()
        self.ready.emit()

    def _no_facts(self, error: Exception) -> None:
        self.estimate.setText(f"Parlour could not read what this model needs: {error}")
        self.ready.emit()

    # --- save and reset -----------------------------------------------------------------------------------

    def save(self) -> None:
        from app.store.load_settings import save_load_settings, stored_load_settings

        try:
            before = stored_load_settings(self.store, self.model.path)
            kept = save_load_settings(self.store, self.model.path, self.values())
        except (StoreError, EngineError) as err:
            self._refuse(str(err))
            return
        self._finish(kept, changed=kept != before)

    def reset(self) -> None:
        from app.store.load_settings import clear_load_settings, stored_load_settings

        try:
            before = stored_load_settings(self.store, self.model.path)
            clear_load_settings(self.store, self.model.path)
        except StoreError as err:
            self._refuse(str(err))
            return
        self._show_values(DEFAULTS)
        self._finish({}, changed=bool(before))

    def _finish(self, kept: dict[str, Any], changed: bool) -> None:
        """Load the model again when it is the one loaded and its settings changed, then close."""
        if changed and self.session is not None and self.session.has_loaded(str(self.model.path)):
            self.session.reload()
        self.saved.emit(kept)
        self.accept()
