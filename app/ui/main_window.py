"""The main window: model picker on top, conversations on the left, the chat in the middle,
parameters on the right, a status line below.

It only composes: it makes the widgets and the objects behind them (the model session, the chat
controller, the conversation list's and the parameters' presenters), lays them out, and connects
their signals. What happens lives in those objects.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLineEdit, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from app import __version__
from app.store.db import Store
from app.store.records import Conversation
from app.ui.chat_controller import ChatController
from app.ui.chat_view import ChatView
from app.ui.composer import Composer
from app.ui.context_gauge import ContextGauge
from app.ui.conversation_list_presenter import ConversationListPresenter
from app.ui.model_picker import ModelPicker
from app.ui.model_session import ModelSession
from app.ui.params_panel import ParamsPanel
from app.ui.params_presenter import ParamsPresenter
from app.ui.sidebar import Sidebar
from app.ui.status_line import StatusLine
from app.ui.window_state import restore_window_state, save_window_state
from engines.base import ModelInfo
from engines.protocol import Failure, PromptRendered


class MainWindow(QMainWindow):
    """The window's widgets, the objects behind them, and the signals between them."""

    def __init__(self, store: Store, engine_log: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Parlour")
        self.resize(1280, 800)
        self.store = store
        self.session = ModelSession(store, engine_log, self)
        self.chat = ChatController(store, self.session, self)
        self.picker = ModelPicker()
        self.sidebar = Sidebar()
        self.conversations = ConversationListPresenter(store, self.sidebar, self)
        self.view = ChatView()
        self.view.set_model(self.chat.messages)
        self.params = ParamsPanel()
        self.params_presenter = ParamsPresenter(store, self.params, self.chat, self.session, self)
        self.system_prompt = QLineEdit()
        self.system_prompt.setPlaceholderText("System prompt for this chat (optional)")
        self.context_gauge = ContextGauge()
        self.composer = Composer()
        self.status_line = StatusLine()
        self.setStatusBar(self.status_line)
        self.tool_windows: dict[str, QWidget] = {}  # "browser" and "library", once opened
        self._layout()
        self._menus()
        self._connect_models()
        self._connect_chat()
        restore_window_state(store, self, self.splitter, self.toggle_params)
        self.conversations.refresh()
        self.picker.refresh()

    def _layout(self) -> None:
        chat_column = QWidget()
        column = QVBoxLayout(chat_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.system_prompt)
        column.addWidget(self.view, 1)
        column.addWidget(self.context_gauge)
        column.addWidget(self.composer)
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
        def add(menu: Any, text: str, slot: Any, shortcut: QKeySequence.StandardKey | None = None) -> QAction:
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            menu.addAction(action)
            return action

        file_menu = self.menuBar().addMenu("&File")
        add(file_menu, "New chat", self.new_chat, QKeySequence.StandardKey.New)
        add(file_menu, "Export chat…", self.export_chat)
        add(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        add(self.menuBar().addMenu("&Edit"), "Search chats", self.sidebar.focus_search, QKeySequence.StandardKey.Find)
        models_menu = self.menuBar().addMenu("&Models")
        add(models_menu, "Find models on the Hub…", self.show_browser)
        add(models_menu, "Library…", self.show_library)
        add(models_menu, "Refresh the model list", self.picker.refresh)
        self.toggle_params = QAction("Parameters panel", self, checkable=True, checked=True)
        self.toggle_params.toggled.connect(self.params.setVisible)
        self.menuBar().addMenu("&View").addAction(self.toggle_params)
        add(self.menuBar().addMenu("&Help"), "About Parlour", self.show_about)

    def _connect_models(self) -> None:
        session, picker, status = self.session, self.picker, self.status_line
        picker.load_requested.connect(lambda path, engine: session.load(path, engine, picker.name_of(path)))
        picker.unload_requested.connect(session.unload)
        picker.problem.connect(lambda text: status.show_message(text, True))
        session.load_started.connect(lambda _path: self._show_model_state(False, "Loading model…"))
        session.progress.connect(picker.show_progress)
        session.loaded.connect(picker.show_loaded)
        session.loaded.connect(self._on_loaded)
        session.load_failed.connect(picker.show_unloaded)
        session.load_failed.connect(lambda sentence: status.show_message(sentence, True))
        session.unloaded.connect(picker.show_unloaded)
        session.unloaded.connect(lambda: self._show_model_state(False, "Model unloaded."))
        session.memory.connect(status.show_memory)

    def _connect_chat(self) -> None:
        chat, view, composer, conversations = self.chat, self.view, self.composer, self.conversations
        composer.submitted.connect(chat.send)
        composer.stop_requested.connect(chat.stop)
        chat.sent.connect(composer.clear)
        chat.busy_changed.connect(composer.set_busy)
        chat.status.connect(self.status_line.show_message)
        chat.context_used.connect(self.context_gauge.show_used)
        chat.prompt_shown.connect(self._show_prompt)
        chat.conversation_shown.connect(self._on_conversation_shown)
        chat.conversation_saved.connect(conversations.conversation_saved)
        chat.conversation_touched.connect(conversations.conversation_touched)
        conversations.conversation_hidden.connect(chat.leave_conversation)
        conversations.status.connect(self.status_line.show_message)
        self.params_presenter.status.connect(self.status_line.show_message)
        self.sidebar.new_chat_requested.connect(self.new_chat)
        self.sidebar.conversation_chosen.connect(chat.open_conversation)
        self.system_prompt.editingFinished.connect(lambda: chat.set_system_prompt(self.system_prompt.text()))
        view.regenerate.connect(chat.regenerate)
        view.edit_submitted.connect(chat.edit)
        view.continue_.connect(chat.continue_reply)
        view.delete.connect(chat.delete)
        view.branch_prev.connect(lambda message_id: chat.switch_branch(message_id, -1))
        view.branch_next.connect(lambda message_id: chat.switch_branch(message_id, +1))

    # --- what the objects report ----------------------------------------------------------------------

    def _show_model_state(self, ready: bool, text: str) -> None:
        self.composer.set_ready(ready)
        self.context_gauge.show_used(0, self.session.context_length, self.chat.params.context_policy)
        self.status_line.show_message(text)

    def _on_loaded(self, info: ModelInfo, engine: str) -> None:
        self._show_model_state(True, f"{self.session.name} loaded · {self.session.engine_name}")

    def _on_conversation_shown(self, conversation: Conversation | None) -> None:
        self.system_prompt.setText(self.chat.system_prompt)
        self.conversations.set_current(conversation)

    def _show_prompt(self, answer: PromptRendered | Failure) -> None:
        if isinstance(answer, Failure):
            self.status_line.show_message(answer.message, True)
            return
        box = QMessageBox(self)
        box.setWindowTitle("The exact prompt")
        box.setText(f"Template: {answer.template_source} · {answer.tokens} tokens")
        box.setDetailedText(answer.text)
        box.exec()

    # --- menu actions ---------------------------------------------------------------------------------

    def new_chat(self) -> None:
        self.chat.new_chat()
        self.composer.focus()

    def export_chat(self) -> None:
        if self.chat.conversation_id is None:
            self.status_line.show_message("Open a chat to export it.", True)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export chat", "chat.md", "Markdown (*.md);;JSON (*.json)")
        if path:
            self.conversations.export(self.chat.conversation_id, path)

    def show_browser(self) -> None:
        """The Hub browser, in its own window; nothing touches the network until the user searches."""
        from app.ui.browser import HubBrowser

        self._show_window("browser", lambda: HubBrowser(), (1100, 720))

    def show_library(self) -> None:
        from app.ui.library_view import LibraryView

        def make() -> QWidget:
            library = LibraryView()
            library.listed.connect(lambda _count: self.picker.refresh())
            return library

        self._show_window("library", make, (900, 600))

    def _show_window(self, name: str, make: Any, size: tuple[int, int]) -> None:
        window = self.tool_windows.get(name)
        if window is None:
            window = self.tool_windows[name] = make()
            window.resize(*size)
            window.destroyed.connect(lambda *_: self.tool_windows.pop(name, None))
        window.show()
        window.raise_()

    def show_about(self) -> None:
        from engines.hardware import package_version

        names = ("mlx", "mlx-lm", "llama-cpp-python", "PySide6-Essentials", "huggingface_hub")
        versions = ", ".join(f"{name} {package_version(name) or '—'}" for name in names)
        text = f"Parlour {__version__}\nPrivate, offline chat with local models.\n\n{versions}"
        QMessageBox.about(self, "About Parlour", text)

    # --- the window -----------------------------------------------------------------------------------

    def show_notice(self, text: str) -> None:
        self.status_line.show_message(text, True)
        QTimer.singleShot(0, lambda: QMessageBox.information(self, "Parlour", text))

    def bring_forward(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        for window in list(self.tool_windows.values()):
            window.close()
        self.conversations.commit_delete()
        save_window_state(self.store, self, self.splitter, self.toggle_params)
        self.chat.shutdown()
        self.session.shutdown()
        super().closeEvent(event)
