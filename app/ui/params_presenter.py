"""What the parameters panel edits, put to use.

`ParamsPresenter` owns the panel's link to everything else: new parameters go to the chat
controller and become the loaded model's defaults; presets are saved, renamed and deleted in the
store; a new context length reloads the model; the chat template is edited in its dialog and
saved through the model session. The panel only edits values and reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.presets import all_presets, builtin_presets, save_model_defaults
from app.store import presets as store_presets
from app.store.db import Store
from app.store.errors import StoreError
from app.ui.chat_controller import ChatController
from app.ui.model_session import ModelSession
from app.ui.params_panel import ParamsPanel
from engines.base import GenerationParams


class ParamsPresenter(QObject):
    """The presets listed in the panel, and where the panel's changes go."""

    status = Signal(str, bool)  # text, is_error

    def __init__(
        self,
        store: Store,
        panel: ParamsPanel,
        chat: ChatController,
        session: ModelSession,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store, self.panel, self.chat, self.session = store, panel, chat, session
        panel.params_changed.connect(self.apply_params)
        panel.context_length_changed.connect(self.change_context_length)
        panel.preset_save_requested.connect(self.save_preset)
        panel.preset_rename_requested.connect(self.rename_preset)
        panel.preset_delete_requested.connect(self.delete_preset)
        panel.show_prompt_requested.connect(chat.show_prompt)
        panel.edit_template_requested.connect(self.edit_template)
        chat.params_replaced.connect(panel.set_params)
        session.loaded.connect(self._show_template)
        session.template_changed.connect(self._show_template)
        self.refresh_presets()
        panel.set_params(chat.params)

    def apply_params(self, params: GenerationParams) -> None:
        """The person changed a value: the chat uses it, and it becomes the model's default."""
        self.chat.set_params(params)
        if self.session.path:
            try:
                save_model_defaults(self.store, self.session.path, params)
            except StoreError as err:
                self.status.emit(str(err), True)

    def change_context_length(self, tokens: int) -> None:
        """0 is the model's own; a loaded model is loaded again with the new length."""
        self.session.context_setting = tokens or None
        if self.session.is_loaded:
            self.session.reload()

    # --- presets --------------------------------------------------------------------------------------

    def refresh_presets(self) -> None:
        try:
            presets = all_presets(self.store)
        except StoreError:
            presets = dict(builtin_presets())
        self.panel.set_presets(presets, set(builtin_presets()))

    def save_preset(self, name: str) -> None:
        if name in builtin_presets():
            self.status.emit(f"“{name}” is a built-in preset; choose another name.", True)
            return
        self._preset_call(store_presets.save_preset, name, self.panel.params().to_dict())

    def rename_preset(self, old: str, new: str) -> None:
        self._preset_call(store_presets.rename_preset, old, new)

    def delete_preset(self, name: str) -> None:
        self._preset_call(store_presets.delete_preset, name)

    def _preset_call(self, change: Callable[..., Any], *args: Any) -> None:
        try:
            change(self.store, *args)
        except StoreError as err:
            self.status.emit(str(err), True)
        self.refresh_presets()

    # --- the chat template ----------------------------------------------------------------------------

    def _show_template(self, *_: Any) -> None:
        self.panel.set_template_status(f"Template: {self.session.template_source()}")

    def edit_template(self) -> None:
        from app.ui.template_dialog import TemplateDialog

        info = self.session.info
        if info is None:
            self.status.emit("Load a model to edit its chat template.", True)
            return
        current = self.session.template_override or info.chat_template or ""
        name, is_override = self.session.name or info.name, bool(self.session.template_override)
        dialog = TemplateDialog(name, current, is_override, self.panel.window())
        if not dialog.exec() or dialog.result_source is None:
            return
        try:
            self.session.set_template_override(dialog.result_source)
        except StoreError as err:
            self.status.emit(str(err), True)
