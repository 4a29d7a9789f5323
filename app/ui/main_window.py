"""The main window: model picker on top, conversations on the left, the chat in the middle,
parameters on the right, a status line below. It arranges widgets and forwards what
the user does to the chat controller; the controller owns the store and the engine.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.presets import all_presets, builtin_presets, save_model_defaults
from app.store import conversations as store_conversations
from app.store.errors import StoreError
from app.store.search import search as store_search
from app.store.settings import get_setting, set_setting
from app.ui.chat_controller import ChatController
from app.ui.chat_view import ChatView
from app.ui.conversation_list_model import ConversationRow, grouped_rows
from app.ui.engine_bridge import EngineBridge
from app.ui.message_model import MessageModel, MessageRow
from app.ui.message_rows import rows_from_thread
from app.ui.model_picker import ModelPicker
from app.ui.params_panel import ParamsPanel
from app.ui.sidebar import Sidebar
from engines.base import LoadSettings
from engines.protocol import Failure, Loaded, Pong, Progress

log = logging.getLogger(__name__)
UNDO_DELETE_MS = 8000
MEMORY_POLL_MS = 5000


class MainWindow(QMainWindow):
    def __init__(self, store: Any, engine_log: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Parlour")
        self.resize(1280, 800)
        self.store = store
        self.bridge = EngineBridge(engine_log, self)
        self.chat = ChatController(store, self.bridge, self)
        self.messages = MessageModel(self)
        self._load_id: str | None = None
        self._ping_id: str | None = None
        self._loaded: dict[str, Any] | None = None
        self._pending_delete: int | None = None
        self._context_length = 0

        self.picker = ModelPicker()
        self.sidebar = Sidebar()
        self.view = ChatView()
        self.view.set_model(self.messages)
        self.params = ParamsPanel()
        self.system_prompt = QLineEdit()
        self.system_prompt.setPlaceholderText("System prompt for this chat (optional)")
        self.context_gauge = QProgressBar()
        self.context_gauge.setTextVisible(True)
        self.context_gauge.setFormat("Context: —")
        self.context_gauge.setMaximumHeight(16)
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Message (Enter sends, Shift+Enter for a new line)")
        self.input.setFixedHeight(84)
        self.input.installEventFilter(self)
        self.send_button = QPushButton("Send")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.status_text = QLabel("")
        self.memory_text = QLabel("")
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.memory_text)

        self._layout()
        self._menus()
        self._connect()
        self._restore_state()
        self.refresh_conversations()
        self.refresh_presets()
        self.params.set_params(self.chat.params)
        self.picker.refresh()
        self._memory_timer = QTimer(self)
        self._memory_timer.setInterval(MEMORY_POLL_MS)
        self._memory_timer.timeout.connect(self._poll_memory)
        self._memory_timer.start()
        self._delete_timer = QTimer(self)
        self._delete_timer.setSingleShot(True)
        self._delete_timer.timeout.connect(self._commit_delete)

    # --- layout ---------------------------------------------------------------------------------------

    def _layout(self) -> None:
        chat_column = QWidget()
        column = QVBoxLayout(chat_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.system_prompt)
        column.addWidget(self.view, 1)
        column.addWidget(self.context_gauge)
        entry = QHBoxLayout()
        entry.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        entry.addLayout(buttons)
        column.addLayout(entry)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(chat_column)
        self.splitter.addWidget(self.params)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 720, 300])
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.addWidget(self.picker)
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        new_chat = QAction("New chat", self, shortcut=QKeySequence.StandardKey.New)
        new_chat.triggered.connect(self.new_chat)
        export = QAction("Export chat…", self)
        export.triggered.connect(self.export_chat)
        quit_action = QAction("Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addActions([new_chat, export, quit_action])
        edit_menu = self.menuBar().addMenu("&Edit")
        find = QAction("Search chats", self, shortcut=QKeySequence.StandardKey.Find)
        find.triggered.connect(self.sidebar.focus_search)
        edit_menu.addAction(find)
        models_menu = self.menuBar().addMenu("&Models")
        browse = QAction("Find models on the Hub…", self)
        browse.triggered.connect(self.show_browser)
        library = QAction("Library…", self)
        library.triggered.connect(self.show_library)
        refresh = QAction("Refresh the model list", self)
        refresh.triggered.connect(self.picker.refresh)
        models_menu.addActions([browse, library, refresh])
        view_menu = self.menuBar().addMenu("&View")
        self.toggle_params = QAction("Parameters panel", self, checkable=True, checked=True)
        self.toggle_params.toggled.connect(self.params.setVisible)
        view_menu.addAction(self.toggle_params)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("About Parlour", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, activated=self.chat.stop)

    def _connect(self) -> None:
        self.send_button.clicked.connect(self.send)
        self.stop_button.clicked.connect(self.chat.stop)
        self.system_prompt.editingFinished.connect(lambda: self.chat.set_system_prompt(self.system_prompt.text()))
        self.picker.load_requested.connect(self.load_model)
        self.picker.unload_requested.connect(self.unload_model)
        self.picker.problem.connect(lambda text: self.set_status(text, True))
        self.bridge.event.connect(self._on_engine_event)
        self.sidebar.new_chat_requested.connect(self.new_chat)
        self.sidebar.conversation_chosen.connect(self.open_conversation)
        self.sidebar.search_changed.connect(self.search)
        self.sidebar.rename_requested.connect(self.rename_conversation)
        self.sidebar.delete_requested.connect(self.delete_conversation)
        self.sidebar.pin_toggled.connect(self.pin_conversation)
        self.sidebar.undo_requested.connect(self.undo_delete)
        self.params.params_changed.connect(self._on_params_changed)
        self.params.context_length_changed.connect(self._on_context_length_changed)
        self.params.preset_save_requested.connect(self.save_preset)
        self.params.preset_rename_requested.connect(self.rename_preset)
        self.params.preset_delete_requested.connect(self.delete_preset)
        self.params.show_prompt_requested.connect(self.chat.show_prompt)
        self.params.edit_template_requested.connect(self.edit_template)
        self.chat.thread_changed.connect(self._on_thread_changed)
        self.chat.reply_delta.connect(self.messages.append_text)
        self.chat.reply_finished.connect(self._on_reply_finished)
        self.chat.status.connect(self.set_status)
        self.chat.busy_changed.connect(self._on_busy)
        self.chat.conversations_changed.connect(self.refresh_conversations)
        self.chat.prompt_shown.connect(self._show_prompt)
        self.view.regenerate.connect(self.chat.regenerate)
        self.view.edit_submitted.connect(self.chat.edit)
        self.view.continue_.connect(self.chat.continue_reply)
        self.view.delete.connect(self.chat.delete)
        self.view.branch_prev.connect(lambda message_id: self.chat.switch_branch(message_id, -1))
        self.view.branch_next.connect(lambda message_id: self.chat.switch_branch(message_id, +1))

    # --- models ---------------------------------------------------------------------------------------

    def load_model(self, path: str, engine: str = "auto") -> None:
        self.chat.stop()
        self._loaded = None
        self.chat.set_model(None, None, None)
        self.send_button.setEnabled(False)
        context = self.params.context_length.value() or None
        self._load_id = self.bridge.load(path, engine, LoadSettings(context_length=context))
        self.picker.loading(0.0)
        self.set_status("Loading model…")

    def unload_model(self) -> None:
        self.chat.stop()
        self.bridge.unload()
        self._loaded = None
        self.chat.set_model(None, None, None)
        self.picker.loaded(None)
        self.set_status("Model unloaded.")

    def _on_engine_event(self, request_id: str, event: Any) -> None:
        if request_id == self._ping_id:
            self._ping_id = None
            rss = event.rss_bytes if isinstance(event, Pong) else None
            self.memory_text.setText(f"Engine memory: {rss / 1e9:.2f} GB" if rss else "")
        elif request_id == self._load_id:
            if isinstance(event, Progress):
                self.picker.loading(event.fraction)
            elif isinstance(event, Loaded):
                self._on_loaded(event)
            elif isinstance(event, Failure):
                self._load_id = None
                self.picker.loaded(None)
                self.set_status(event.message, True)

    def _on_loaded(self, event: Loaded) -> None:
        self._loaded = model = event.model.to_dict()
        engine = event.engine
        picked = self.picker.current_model()
        name = picked.name if picked is not None and str(picked.path) == model.get("path") else model.get("name")
        self.chat.set_model(model.get("path"), name, engine)
        self.chat.template_override = self._override_for(model.get("path"))
        self._context_length = int(model.get("context_length") or 0)
        self.picker.loaded(engine)
        self.send_button.setEnabled(True)
        source = (
            "your template"
            if self.chat.template_override
            else ("the model's own template" if model.get("chat_template") else "a built-in template")
        )
        self.params.set_template_status(f"Template: {source}")
        self.params.set_params(self.chat.params)
        self.set_status(f"{name} loaded · {'MLX' if engine == 'mlx' else 'llama.cpp'}")
        self._update_gauge(None)

    def _override_for(self, path: str | None) -> str | None:
        from app.store.templates import model_key, model_template

        if not path:
            return None
        try:
            from pathlib import Path

            return model_template(self.store, model_key(Path(path)))
        except StoreError:
            return None

    def _poll_memory(self) -> None:
        if self._loaded is not None and self._ping_id is None and not self.chat.busy:
            self._ping_id = self.bridge.ping()

    def show_browser(self) -> None:
        """The Hub browser, in its own window; nothing touches the network until the user searches."""
        if getattr(self, "_browser", None) is None:
            from app.ui.browser import HubBrowser

            self._browser = HubBrowser()
            self._browser.resize(1100, 720)
            self._browser.destroyed.connect(lambda *_: setattr(self, "_browser", None))
        self._browser.show()
        self._browser.raise_()

    def show_library(self) -> None:
        if getattr(self, "_library", None) is None:
            from app.ui.library_view import LibraryView

            self._library = LibraryView()
            self._library.resize(900, 600)
            self._library.listed.connect(lambda _count: self.picker.refresh())
        self._library.show()
        self._library.raise_()

    # --- conversations --------------------------------------------------------------------------------

    def refresh_conversations(self) -> None:
        if self.sidebar.search.text().strip():
            return  # the search results stay until the search is cleared
        try:
            listed = store_conversations.list_recent(self.store, limit=500)
        except StoreError as err:
            self.set_status(str(err), True)
            return
        listed = [c for c in listed if c.id != self._pending_delete]
        self.sidebar.model.set_rows(grouped_rows(listed))
        self.sidebar.set_note("" if listed else "No chats yet. Say hello below.")
        self.sidebar.select(self.chat.conversation_id)

    def search(self, text: str) -> None:
        if not text:
            self.refresh_conversations()
            return
        try:
            hits = store_search(self.store, text, limit=50)
        except StoreError as err:
            self.set_status(str(err), True)
            return
        rows = [
            ConversationRow(
                "hit",
                f"{h.conversation_title}\n{h.plain_snippet('«', '»')}",
                h.conversation_id,
                message_id=h.message_id,
                tooltip=h.plain_snippet(),
            )
            for h in hits
        ]
        self.sidebar.model.set_rows(rows)
        self.sidebar.set_note("" if hits else f"Nothing matches “{text}”.")

    def new_chat(self) -> None:
        self.chat.new_chat()
        self.system_prompt.clear()
        self.sidebar.select(None)
        self.input.setFocus()

    def open_conversation(self, conversation_id: int) -> None:
        self.chat.open_conversation(conversation_id)
        self.system_prompt.setText(self.chat.system_prompt)
        self.params.set_params(self.chat.params)

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        with contextlib.suppress(StoreError):
            store_conversations.rename_conversation(self.store, conversation_id, title)
        self.refresh_conversations()

    def pin_conversation(self, conversation_id: int, pinned: bool) -> None:
        with contextlib.suppress(StoreError):
            store_conversations.update_conversation(self.store, conversation_id, pinned=pinned)
        self.refresh_conversations()

    def delete_conversation(self, conversation_id: int) -> None:
        """Hidden at once, deleted for good only when the undo window has passed."""
        self._commit_delete()
        self._pending_delete = conversation_id
        if self.chat.conversation_id == conversation_id:
            self.new_chat()
        self.refresh_conversations()
        self.sidebar.show_undo("Chat deleted")
        self._delete_timer.start(UNDO_DELETE_MS)

    def undo_delete(self) -> None:
        self._delete_timer.stop()
        self._pending_delete = None
        self.sidebar.show_undo(None)
        self.refresh_conversations()

    def _commit_delete(self) -> None:
        if self._pending_delete is None:
            return
        try:
            # For good: the text is erased from the store's files too, off the GUI thread.
            store_conversations.delete_conversation_for_good(self.store, self._pending_delete)
        except StoreError as err:
            self.set_status(str(err), True)
        self._pending_delete = None
        self.sidebar.show_undo(None)

    def export_chat(self) -> None:
        if self.chat.conversation_id is None:
            self.set_status("Open a chat to export it.", True)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export chat", "chat.md", "Markdown (*.md);;JSON (*.json)")
        if not path:
            return
        from app.store.export import export_json, export_markdown
        from app.store.files import write_atomically

        try:
            ids = [self.chat.conversation_id]
            text = export_json(self.store, ids) if path.endswith(".json") else export_markdown(self.store, ids)
            write_atomically(path, text)
        except (StoreError, OSError) as err:
            self.set_status(f"Could not export the chat: {err}", True)
            return
        self.set_status(f"Exported to {path}")

    # --- chat -----------------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: Any) -> bool:
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
        if text and self.chat.send(text):
            self.input.clear()

    def _on_thread_changed(self, thread: Any) -> None:
        rows = rows_from_thread(thread) if thread is not None else []
        self.messages.set_thread(rows)
        if thread is not None and self.chat.busy and (not rows or rows[-1].role != "assistant"):
            self.messages.append_row(MessageRow(id=None, role="assistant", status="streaming"))
        self.sidebar.select(self.chat.conversation_id)

    def _on_reply_finished(self, reason: str, stats: dict[str, Any], error: str | None) -> None:
        status = {"error": "error", "cancelled": "done", "length": "done"}.get(reason, "done")
        self.messages.finish_last(status, {**stats, "finish_reason": reason}, error or None)
        self._update_gauge(stats)
        if self.chat.conversation_id is not None:
            self.chat.reload_thread()

    def _on_busy(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy and self._loaded is not None)

    def _update_gauge(self, stats: dict[str, Any] | None) -> None:
        if not self._context_length:
            self.context_gauge.setFormat("Context: —")
            return
        used = (stats or {}).get("prompt_tokens", 0) + (stats or {}).get("generated_tokens", 0)
        self.context_gauge.setRange(0, self._context_length)
        self.context_gauge.setValue(min(used, self._context_length))
        policy = (
            "then the oldest turns are dropped"
            if self.chat.params.context_policy == "drop_oldest"
            else ("then Parlour stops and asks")
        )
        self.context_gauge.setFormat(f"Context: {used:,} of {self._context_length:,} tokens · {policy}")

    def _show_prompt(self, event: Any) -> None:
        if isinstance(event, Failure):
            self.set_status(event.message, True)
            return
        box = QMessageBox(self)
        box.setWindowTitle("The exact prompt")
        box.setText(f"Template: {event.template_source} · {event.tokens} tokens")
        box.setDetailedText(event.text)
        box.exec()

    # --- parameters and presets ---------------------------------------------------------------------

    def _on_params_changed(self, params: Any) -> None:
        self.chat.set_params(params)
        if self.chat.model_path:
            with contextlib.suppress(StoreError):
                save_model_defaults(self.store, self.chat.model_path, params)

    def _on_context_length_changed(self, value: int) -> None:
        model = self.picker.current_model()
        if model is not None and model.info is not None:
            self.load_model(str(model.path), self.picker.engine_box.currentData())

    def refresh_presets(self) -> None:
        try:
            presets = all_presets(self.store)
        except StoreError:
            presets = dict(builtin_presets())
        self.params.set_presets(presets, set(builtin_presets()))

    def save_preset(self, name: str) -> None:
        from app.store.presets import save_preset

        if name in builtin_presets():
            self.set_status(f"“{name}” is a built-in preset; choose another name.", True)
            return
        self._preset_call(save_preset, self.store, name, self.params.params().to_dict())

    def rename_preset(self, old: str, new: str) -> None:
        from app.store.presets import rename_preset

        self._preset_call(rename_preset, self.store, old, new)

    def delete_preset(self, name: str) -> None:
        from app.store.presets import delete_preset

        self._preset_call(delete_preset, self.store, name)

    def _preset_call(self, function: Any, *args: Any) -> None:
        try:
            function(*args)
        except StoreError as err:
            self.set_status(str(err), True)
        self.refresh_presets()

    def edit_template(self) -> None:
        from pathlib import Path

        from app.store.templates import clear_model_template, model_key, set_model_template
        from app.ui.template_dialog import TemplateDialog

        if not self._loaded:
            self.set_status("Load a model to edit its chat template.", True)
            return
        path = str(self._loaded.get("path"))
        current = self.chat.template_override or self._loaded.get("chat_template") or ""
        dialog = TemplateDialog(str(self._loaded.get("name")), current, bool(self.chat.template_override), self)
        if not dialog.exec() or dialog.result_source is None:
            return
        try:
            if dialog.result_source:
                set_model_template(self.store, model_key(Path(path)), dialog.result_source)
            else:
                clear_model_template(self.store, model_key(Path(path)))
        except StoreError as err:
            self.set_status(str(err), True)
            return
        self.chat.template_override = dialog.result_source or None
        self.params.set_template_status(f"Template: {'your template' if dialog.result_source else 'the model’s own'}")

    # --- window ---------------------------------------------------------------------------------------

    def set_status(self, text: str, error: bool = False) -> None:
        self.status_text.setText(text)
        self.status_text.setStyleSheet("color: #c0392b;" if error else "")

    def show_notice(self, text: str) -> None:
        self.set_status(text, True)
        QTimer.singleShot(0, lambda: QMessageBox.information(self, "Parlour", text))

    def bring_forward(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def show_about(self) -> None:
        from engines.hardware import package_version

        versions = ", ".join(
            f"{name} {package_version(name) or '—'}"
            for name in ("mlx", "mlx-lm", "llama-cpp-python", "PySide6-Essentials", "huggingface_hub")
        )
        QMessageBox.about(
            self, "About Parlour", f"Parlour {__version__}\nPrivate, offline chat with local models.\n\n{versions}"
        )

    def _restore_state(self) -> None:
        with contextlib.suppress(StoreError, ValueError, TypeError):
            geometry = get_setting(self.store, "window.geometry")
            splitter = get_setting(self.store, "window.splitter")
            if geometry:
                self.restoreGeometry(base64.b64decode(geometry))
            if splitter:
                self.splitter.restoreState(base64.b64decode(splitter))
            self.toggle_params.setChecked(bool(get_setting(self.store, "window.params_visible", True)))

    def _save_state(self) -> None:
        with contextlib.suppress(StoreError):
            set_setting(self.store, "window.geometry", base64.b64encode(bytes(self.saveGeometry().data())).decode())
            set_setting(
                self.store, "window.splitter", base64.b64encode(bytes(self.splitter.saveState().data())).decode()
            )
            set_setting(self.store, "window.params_visible", self.toggle_params.isChecked())

    def closeEvent(self, event: Any) -> None:
        for window in (getattr(self, "_browser", None), getattr(self, "_library", None)):
            if window is not None:
                window.close()
        self._memory_timer.stop()
        self._commit_delete()
        self._save_state()
        self.chat.shutdown()
        self.bridge.shutdown()
        super().closeEvent(event)
