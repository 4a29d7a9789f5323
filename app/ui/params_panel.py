"""The parameters panel: the chat's system prompt, sampling sliders with number fields, seed, stop
strings, context length, presets, and the chat template in effect.

It only edits values and emits them; the parameters presenter puts them to use (the chat
controller saves them with the conversation and sends them with each request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.ui.accessible import describe, name_form_fields
from app.ui.response_format_field import ResponseFormatField
from app.ui.theme import error_style
from engines.base import GenerationParams, InvalidRequestError


@dataclass(frozen=True)
class SliderSpec:
    name: str
    label: str
    minimum: float
    maximum: float
    step: float
    decimals: int
    tip: str


SLIDERS = (
    SliderSpec("temperature", "Temperature", 0.0, 2.0, 0.05, 2, "0 always picks the likeliest token"),
    SliderSpec("top_p", "Top P", 0.05, 1.0, 0.01, 2, "keep the smallest set of tokens with this much probability"),
    SliderSpec("top_k", "Top K", 0, 200, 1, 0, "sample among the k likeliest tokens; 0 is off"),
    SliderSpec("min_p", "Min P", 0.0, 0.5, 0.01, 2, "drop tokens below this share of the likeliest"),
    SliderSpec("repeat_penalty", "Repeat penalty", 0.8, 2.0, 0.01, 2, "discourage repeating recent tokens"),
    SliderSpec("max_tokens", "Max tokens", 1, 8192, 1, 0, "the longest reply, in tokens"),
)


class _SliderField(QWidget):
    """A slider and a number field that stay in step."""

    changed = Signal()

    def __init__(self, spec: SliderSpec) -> None:
        super().__init__()
        self.spec = spec
        self._scale = 10**spec.decimals
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(spec.minimum * self._scale), int(spec.maximum * self._scale))
        if spec.decimals:
            self.number: QDoubleSpinBox | QSpinBox = QDoubleSpinBox()
            self.number.setDecimals(spec.decimals)
            self.number.setSingleStep(spec.step)
        else:
            self.number = QSpinBox()
        self.number.setRange(spec.minimum, spec.maximum)  # type: ignore[arg-type]
        self.number.setToolTip(spec.tip)
        self.slider.setToolTip(spec.tip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.number)
        self.slider.valueChanged.connect(self._from_slider)
        self.number.valueChanged.connect(self._from_number)

    def _from_slider(self, raw: int) -> None:
        value = raw / self._scale
        if abs(self.number.value() - value) > 1e-9:
            self.number.setValue(value if self.spec.decimals else int(value))
        self.changed.emit()

    def _from_number(self, value: float) -> None:
        raw = round(value * self._scale)
        if self.slider.value() != raw:
            self.slider.blockSignals(True)
            self.slider.setValue(raw)
            self.slider.blockSignals(False)
        self.changed.emit()

    def value(self) -> float:
        return float(self.number.value())

    def set_value(self, value: float) -> None:
        self.number.setValue(value if self.spec.decimals else int(value))


class ParamsPanel(QWidget):
    """The fields for one set of generation parameters, the preset list, and the template line."""

    params_changed = Signal(object)  # GenerationParams
    context_length_changed = Signal(int)  # 0 means the model's default; the model is loaded again
    preset_save_requested = Signal(str)
    preset_rename_requested = Signal(str, str)
    preset_delete_requested = Signal(str)
    show_prompt_requested = Signal()
    edit_template_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._updating = False
        self._builtin_names: set[str] = set()
        self._presets: dict[str, dict[str, Any]] = {}
        form = QFormLayout()
        self.system_prompt = QLineEdit()
        self.system_prompt.setPlaceholderText("For this chat (optional)")
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setAccessibleDescription("Instructions the model reads before this chat's messages")
        form.addRow("System prompt", self.system_prompt)
        self._add_presets(form)
        self.fields: dict[str, _SliderField] = {}
        for spec in SLIDERS:
            field = _SliderField(spec)
            field.changed.connect(self._emit_params)
            self.fields[spec.name] = field
            form.addRow(spec.label, field)
        self._add_seed_and_stop(form)
        self.response_format = ResponseFormatField()
        self.response_format.changed.connect(self._emit_params)
        form.addRow("Response format", self.response_format)
        self._add_context(form)
        name_form_fields(form)
        self.template_label = QLabel("Template: —")
        self.template_label.setWordWrap(True)
        template_buttons = QHBoxLayout()
        self.show_prompt_button = describe(
            QPushButton("View prompt"), "View prompt", "The exact text the model reads for this chat, as tokens"
        )
        self.edit_template_button = describe(
            QPushButton("Template…"), "Template", "Edit the chat template used for this model"
        )
        self.show_prompt_button.clicked.connect(self.show_prompt_requested)
        self.edit_template_button.clicked.connect(self.edit_template_requested)
        template_buttons.addWidget(self.show_prompt_button)
        template_buttons.addWidget(self.edit_template_button)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(error_style(self.palette()))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.template_label)
        layout.addLayout(template_buttons)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        self.set_params(GenerationParams())

    def _add_presets(self, form: QFormLayout) -> None:
        self.preset_box = QComboBox()
        self.preset_box.activated.connect(self._on_preset_chosen)
        self.preset_box.setToolTip("A saved set of these values")
        preset_buttons = QHBoxLayout()
        self.save_preset_button = describe(QPushButton("Save as…"), "Save preset", "Keep these values as a preset")
        self.rename_preset_button = describe(QPushButton("Rename…"), "Rename preset", "Rename the chosen preset")
        self.delete_preset_button = describe(QPushButton("Delete"), "Delete preset", "Delete the chosen preset")
        for button in (self.save_preset_button, self.rename_preset_button, self.delete_preset_button):
            preset_buttons.addWidget(button)
        self.save_preset_button.clicked.connect(self._ask_save_preset)
        self.rename_preset_button.clicked.connect(self._ask_rename_preset)
        self.delete_preset_button.clicked.connect(self._delete_preset)
        form.addRow("Preset", self.preset_box)
        form.addRow("", _row(preset_buttons))

    def _add_seed_and_stop(self, form: QFormLayout) -> None:
        self.fixed_seed = describe(
            QCheckBox("Fixed seed"), "Fixed seed", "Use the same seed every time, so a reply can be made again"
        )
        self.seed = describe(QSpinBox(), "Seed", "The seed used while Fixed seed is on")
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setEnabled(False)
        self.fixed_seed.toggled.connect(self.seed.setEnabled)
        self.fixed_seed.toggled.connect(self._emit_params)
        self.seed.valueChanged.connect(self._emit_params)
        form.addRow(self.fixed_seed, self.seed)
        self.stop_strings = QLineEdit()
        self.stop_strings.setPlaceholderText("comma-separated, e.g. ###, User:")
        self.stop_strings.editingFinished.connect(self._emit_params)
        form.addRow("Stop strings", self.stop_strings)

    def _add_context(self, form: QFormLayout) -> None:
        self.context_policy = QComboBox()
        self.context_policy.addItem("Drop the oldest turns", "drop_oldest")
        self.context_policy.addItem("Stop and tell me", "stop")
        self.context_policy.activated.connect(self._emit_params)
        self.context_policy.setToolTip("What Parlour does when a chat no longer fits the model's context")
        form.addRow("When the context fills", self.context_policy)
        self.context_length = QSpinBox()
        self.context_length.setRange(0, 1_048_576)
        self.context_length.setSingleStep(1024)
        self.context_length.setSpecialValueText("Model default")
        self.context_length.setToolTip("How many tokens the model can hold; changing it reloads the model.")
        self.context_length.editingFinished.connect(
            lambda: self.context_length_changed.emit(int(self.context_length.value()))
        )
        form.addRow("Context length (reloads the model)", self.context_length)

    # --- values -------------------------------------------------------------------------------------------

    def params(self) -> GenerationParams:
        values: dict[str, Any] = {name: field.value() for name, field in self.fields.items()}
        values["top_k"] = int(values["top_k"])
        values["max_tokens"] = int(values["max_tokens"])
        values["seed"] = int(self.seed.value()) if self.fixed_seed.isChecked() else None
        values["stop"] = tuple(s.strip() for s in self.stop_strings.text().split(",") if s.strip())
        values["context_policy"] = self.context_policy.currentData()
        values["response_format"] = self.response_format.value()
        return GenerationParams(**values)

    def set_params(self, params: GenerationParams) -> None:
        self._updating = True
        try:
            for name, field in self.fields.items():
                field.set_value(getattr(params, name))
            self.fixed_seed.setChecked(params.seed is not None)
            self.seed.setValue(params.seed or 0)
            self.stop_strings.setText(", ".join(params.stop))
            self.context_policy.setCurrentIndex(max(0, self.context_policy.findData(params.context_policy)))
            self.response_format.set_value(params.response_format)
        finally:
            self._updating = False
        self._select_matching_preset(params)

    def set_context_length(self, value: int | None) -> None:
        self.context_length.setValue(value or 0)

    def set_template_status(self, text: str) -> None:
        self.template_label.setText(text)

    def _emit_params(self, *_: Any) -> None:
        if self._updating:
            return
        try:
            params = self.params()
        except InvalidRequestError as err:
            self.problem.setText(str(err))
            return
        self.problem.setText("")
        self._select_matching_preset(params)
        self.params_changed.emit(params)

    # --- presets ------------------------------------------------------------------------------------------

    def set_presets(self, presets: dict[str, dict[str, Any]], builtin_names: set[str]) -> None:
        self._presets = presets
        self._builtin_names = builtin_names
        self.preset_box.blockSignals(True)
        self.preset_box.clear()
        self.preset_box.addItem("Custom", None)
        for name in presets:
            self.preset_box.addItem(name, name)
        self.preset_box.blockSignals(False)
        self._select_matching_preset(self.params())

    def _select_matching_preset(self, params: GenerationParams) -> None:
        current = params.to_dict()
        match = next(
            (name for name, values in self._presets.items() if all(current.get(k) == v for k, v in values.items())),
            None,
        )
        index = self.preset_box.findData(match) if match else 0
        self.preset_box.setCurrentIndex(max(0, index))
        user_preset = bool(match) and match not in self._builtin_names
        self.rename_preset_button.setEnabled(user_preset)
        self.delete_preset_button.setEnabled(user_preset)

    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_box.itemData(index)
        if not name or name not in self._presets:
            return
        self.set_params(GenerationParams.from_dict({**self.params().to_dict(), **self._presets[name]}))
        self._emit_params()

    def _ask_save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name for these settings:")
        if ok and name.strip():
            self.preset_save_requested.emit(name.strip())

    def _ask_rename_preset(self) -> None:
        old = self.preset_box.currentData()
        if not old:
            return
        name, ok = QInputDialog.getText(self, "Rename preset", "New name:", text=old)
        if ok and name.strip() and name.strip() != old:
            self.preset_rename_requested.emit(old, name.strip())

    def _delete_preset(self) -> None:
        name = self.preset_box.currentData()
        if name and name not in self._builtin_names:
            self.preset_delete_requested.emit(name)


def _row(layout: QHBoxLayout) -> QWidget:
    holder = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    holder.setLayout(layout)
    return holder
