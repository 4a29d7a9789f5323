"""The main window: a toolbar with the model picker on top, conversations on the left, the chat in
the middle (in a centred column, the composer under it), parameters on the right (collapsed until
opened), a status line below.

It only composes: it makes the widgets and the objects behind them (the model session, the chat
controller, the conversation list's and the parameters' presenters, the context counter, the
window's actions), lays them out, and connects their signals. What happens lives in those objects.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QSplitter, QToolBar, QWidget

from app import __version__
from app.library.downloads import DownloadQueue
from app.store.db import Store
from app.store.records import Conversation
from app.ui.chat_controller import ChatController
from app.ui.chat_pane import ChatPane
from app.ui.chat_view import ChatView
from app.ui.composer import Composer
from app.ui.context_counter import ContextCounter
from app.ui.context_gauge import ContextGauge
from app.ui.conversation_list_presenter import ConversationListPresenter
from app.ui.model_picker import ModelPicker
from app.ui.model_session import ModelSession
from app.ui.params_panel import ParamsPanel
from app.ui.params_presenter import ParamsPresenter
from app.ui.sidebar import Sidebar
from app.ui.status_line import StatusLine
from app.ui.theme import follow_system_theme
from app.ui.tool_approval_bar import ToolApprovalBar
from app.ui.tool_session import ToolSession
from app.ui.window_actions import WindowActions
from app.ui.window_state import restore_window_state, save_window_state
from engines.base import ModelInfo
from engines.protocol import Failure, PromptRendered

PARAMS_MAX_WIDTH = 420


class MainWindow(QMainWindow):
    """The window's widgets, the objects behind them, and the signals between them."""

    def __init__(self, store: Store, engine_log: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Parlour")
        self.resize(1280, 800)
        self.store = store
        self.session = ModelSession(store, engine_log, self)
        self.tool_session = ToolSession(self)  # MCP servers, started while tools are switched on
        self.chat = ChatController(store, self.session, self, self.tool_session)
        self.tool_approval = ToolApprovalBar()
        self.picker = ModelPicker(self.session)
        self.sidebar = Sidebar()
        self.conversations = ConversationListPresenter(store, self.sidebar, self)
        self.view = ChatView()
        self.view.set_model(self.chat.messages)
        self.params = ParamsPanel()
        self.params.setMaximumWidth(PARAMS_MAX_WIDTH)  # opening it leaves the chat most of the window
        self.params_presenter = ParamsPresenter(store, self.params, self.chat, self.session, self)
        self.system_prompt = self.params.system_prompt
        self.context_gauge = ContextGauge()
        self.composer = Composer()
        self.counter = ContextCounter(self.session, self._counted_messages, lambda: self.chat.busy, self)
        self.status_line = StatusLine()
        self.setStatusBar(self.status_line)
        self.tool_windows: dict[str, QWidget] = {}  # "browser", "library" and "shortcuts", once opened
        self.downloads = DownloadQueue()  # one queue for the welcome page and the Hub browser
        self.actions = WindowActions(self)
        self.toggle_params = self.actions.toggle_params
        self._layout()
        self._connect_models()
        self._connect_chat()
        self._connect_counter()
        restore_window_state(store, self, self.splitter)
        self.actions.restore()
        follow_system_theme()
        self.conversations.refresh()
        self.picker.refresh()

    def _layout(self) -> None:
        self.toolbar = QToolBar("Toolbar")
        self.toolbar.setObjectName("toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setAccessibleName("Toolbar")
        self.actions.fill_toolbar(self.toolbar, self.picker)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.actions.fill_menus(self.menuBar())
        self.pane = ChatPane(self.view, [self.tool_approval, self.composer, self.context_gauge], self._welcome_page())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.pane)
        self.splitter.addWidget(self.params)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([260, 720, 320])
        self.setCentralWidget(self.splitter)
        self.setTabOrder(self.sidebar.list, self.view)
        self.setTabOrder(self.view, self.composer.input)

    def _welcome_page(self) -> QWidget:
        """The first-run page shown while no conversation is open: what Parlour is, prompts, better models."""
        from app.ui.welcome_view import WelcomeView

        self.welcome = WelcomeView(self.downloads)
        self.welcome.prompt_chosen.connect(self.ask)
        self.welcome.browse_requested.connect(self.show_browser)
        self.welcome.model_downloaded.connect(lambda _folder: self.picker.refresh())
        self.welcome.use_requested.connect(lambda path, name: self.session.load(path, "auto", name))
        self.session.loaded.connect(lambda *_: self.welcome.set_model(self.session.name))
        self.session.unloaded.connect(lambda: self.welcome.set_model(None))
        return self.welcome

    def _connect_models(self) -> None:
        session, picker, status = self.session, self.picker, self.status_line
        picker.load_requested.connect(lambda path, engine: session.load(path, engine, picker.name_of(path)))
        picker.unload_requested.connect(session.unload)
        picker.problem.connect(lambda text: status.show_message(text, True))
        session.load_started.connect(lambda path: self._show_model_state(False, None))
        session.progress.connect(picker.show_progress)
        session.progress.connect(lambda fraction: status.show_loading(session._load_name, fraction))
        session.loaded.connect(picker.show_loaded)
        session.loaded.connect(self._on_loaded)
        session.load_failed.connect(picker.show_unloaded)
        session.load_failed.connect(lambda sentence: status.show_message(sentence, True))
        session.unloaded.connect(picker.show_unloaded)
        session.unloaded.connect(lambda: self._show_model_state(False, "Model unloaded."))
        session.memory.connect(status.show_memory)

    def _connect_chat(self) -> None:
        chat, view, composer, conversations = self.chat, self.view, self.composer, self.conversations
        composer.submitted.connect(lambda text: chat.send(text, composer.attachments()))
        composer.stop_requested.connect(chat.stop)
        chat.sent.connect(composer.clear)
        chat.busy_changed.connect(composer.set_busy)
        chat.status.connect(self.status_line.show_message)
        chat.reply_event.connect(self.status_line.show_reply_event)
        chat.context_used.connect(self.context_gauge.show_used)
        chat.prompt_shown.connect(self._show_prompt)
        chat.conversation_shown.connect(self._on_conversation_shown)
        chat.conversation_saved.connect(conversations.conversation_saved)
        chat.conversation_touched.connect(conversations.conversation_touched)
        conversations.conversation_hidden.connect(chat.leave_conversation)
        conversations.status.connect(self.status_line.show_message)
        self.params_presenter.status.connect(self.status_line.show_message)
        self.params.show_prompt_requested.connect(chat.show_prompt)
        self.sidebar.conversation_chosen.connect(self.open_conversation)
        self.system_prompt.editingFinished.connect(lambda: chat.set_system_prompt(self.system_prompt.text()))
        chat.tool_rounds.approval_needed.connect(self.tool_approval.ask)
        chat.tool_rounds.approval_needed.connect(lambda *_: self.status_line.show_message("A tool call waits for you."))
        self.tool_approval.answered.connect(chat.tool_rounds.answer)
        chat.busy_changed.connect(lambda busy: busy or self.tool_approval.setVisible(False))
        self.tool_session.ready.connect(self.status_line.show_message)
        self.tool_session.failed.connect(lambda text: self.status_line.show_message(text, True))
        view.regenerate.connect(chat.regenerate)
        view.edit_submitted.connect(chat.edit)
        view.continue_.connect(chat.continue_reply)
        view.delete.connect(chat.delete)
        view.branch_prev.connect(lambda message_id: chat.switch_branch(message_id, -1))
        view.branch_next.connect(lambda message_id: chat.switch_branch(message_id, +1))

    def _connect_counter(self) -> None:
        """The gauge shows the open conversation and the draft, counted again whenever they change."""
        counter, chat = self.counter, self.chat
        counter.counted.connect(self._show_context)
        self.composer.input.textChanged.connect(counter.schedule)
        chat.messages.modelReset.connect(counter.schedule)
        chat.messages.rowsInserted.connect(counter.schedule)
        chat.reply_finished.connect(counter.schedule)
        self.system_prompt.editingFinished.connect(counter.schedule)
        self.session.loaded.connect(counter.schedule)

    def _counted_messages(self) -> list[Any]:
        """What the next request would send: the conversation, and the draft as the next message."""
        messages = self.chat.engine_messages()
        draft = self.composer.text().strip()
        return [*messages, {"role": "user", "content": draft}] if draft else messages

    # --- what the objects report ----------------------------------------------------------------------

    def _show_context(self, tokens: int) -> None:
        self.context_gauge.show_used(tokens, self.session.context_length, self.chat.params.context_policy)

    def _show_model_state(self, ready: bool, text: str | None) -> None:
        self.composer.set_ready(ready)
        self._show_context(0)
        if text is not None:
            self.status_line.show_message(text)

    def _on_loaded(self, info: ModelInfo, engine: str) -> None:
        self._show_model_state(True, f"{self.session.name} loaded · {self.session.engine_name}")

    def _on_conversation_shown(self, conversation: Conversation | None) -> None:
        self.system_prompt.setText(self.chat.system_prompt)
        self.conversations.set_current(conversation)
        self.pane.show_chat(conversation is not None)
        self.counter.schedule()

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

    def ask(self, prompt: str) -> None:
        """Send a prompt as the first message of a new chat (an example prompt was clicked)."""
        if not self.session.is_loaded or self.chat.busy:
            self.status_line.show_message("Wait for the model to load, then ask again.", True)
            return
        self.chat.new_chat()
        self.chat.send(prompt)

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

        def make() -> QWidget:
            browser = HubBrowser(queue=self.downloads)
            browser.downloads.finished.connect(self.picker.refresh)  # a new model is listed at once
            return browser

        self._show_window("browser", make, (1100, 720))

    def show_library(self) -> None:
        from app.ui.library_view import LibraryView

        def make() -> QWidget:
            library = LibraryView()
            library.listed.connect(lambda _count: self.picker.refresh())
            library.find_models_requested.connect(self.show_browser)
            return library

        self._show_window("library", make, (900, 600))

    def show_server(self) -> None:
        """The API server's switch; it keeps serving while its dialog is closed, until the window closes."""
        from app.ui.server_dialog import ServerDialog

        def make() -> QWidget:
            session = self.session
            dialog = ServerDialog(
                session.bridge.client,
                lambda: session.info.path if session.info is not None else None,
                lambda: session.name,
                self,
            )
            dialog.serving_changed.connect(
                lambda url: self.status_line.show_message(
                    f"Serving the API at {url}." if url else "API server stopped."
                )
            )
            return dialog

        self._show_window("server", make, (620, 420))

    def show_add_remote(self) -> None:
        from app.ui.remote_dialog import RemoteDialog

        def make() -> QWidget:
            dialog = RemoteDialog(self)
            dialog.added.connect(lambda _name: self.picker.refresh())
            return dialog

        self._show_window("remote", make, (520, 220))

    def open_conversation(self, conversation_id: int) -> None:
        """A chat opens in the chat pane; a comparison in the Compare view."""
        from app.store.conversations import get_conversation
        from app.store.errors import StoreError

        try:
            kind = get_conversation(self.store, conversation_id).kind
        except StoreError as err:
            self.status_line.show_message(str(err), True)
            return
        if kind == "comparison":
            self.show_compare(conversation_id)
        else:
            self.chat.open_conversation(conversation_id)

    def comparable_models(self) -> list[Any]:
        """The usable models the picker lists (local on either engine, and remote), as ComparedModels."""
        from app.store.comparisons import ComparedModel

        return [ComparedModel(m.name, str(m.path), m.info.engine) for m in self.picker.models if m.info is not None]

    def show_compare(self, conversation_id: int | None = None) -> None:
        """The Compare view; with an ID, that kept comparison."""
        from app.ui.compare_window import CompareWindow

        def make() -> QWidget:
            compare = CompareWindow(self.store, self.comparable_models, lambda: self.chat.params)
            compare.conversation_saved.connect(self.conversations.conversation_saved)
            compare.continue_requested.connect(self._continue_compared)
            return compare

        self._show_window("compare", make, (1280, 820))
        if conversation_id is not None:
            self.tool_windows["compare"].open_comparison(conversation_id)  # type: ignore[attr-defined]

    def _continue_compared(self, chat_id: int, model: Any) -> None:
        """A column of a comparison goes on as a chat: open it, with its model loaded."""
        self.conversations.refresh()
        self.chat.open_conversation(chat_id)
        if self.session.path != model.path:
            engine = model.engine if model.engine in ("llamacpp", "mlx") else "auto"
            self.session.load(model.path, engine, model.name)
        self.bring_forward()

    def show_evals(self) -> None:
        """Evaluation sets: make and edit them, run them over models, and read the scoreboards."""
        from app.ui.eval_window import EvalWindow

        def models() -> list[tuple[str, str]]:
            return [(model.name, model.path) for model in self.comparable_models()]

        self._show_window("evals", lambda: EvalWindow(self.store, models), (1200, 800))

    def show_tools(self) -> None:
        """The MCP servers in mcp.json, their tools switched on and off, servers added and removed."""
        from app.ui.tools_window import ToolsWindow

        def make() -> QWidget:
            window = ToolsWindow(self)
            window.changed.connect(self.tool_session.reload)  # the chat's tools follow the file
            return window

        self._show_window("tools", make, (820, 560))

    def show_shortcuts(self) -> None:
        from app.ui.shortcuts_dialog import ShortcutsDialog

        self._show_window("shortcuts", lambda: ShortcutsDialog(self.actions.shortcut_list(), self), (560, 560))

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
        server = self.tool_windows.get("server")
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
        for window in list(self.tool_windows.values()):
            window.close()
        self.conversations.commit_delete()
        save_window_state(self.store, self, self.splitter)
        self.actions.save()
        self.chat.shutdown()
        self.tool_session.close()
        self.session.shutdown()
        super().closeEvent(event)
