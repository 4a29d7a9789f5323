"""The window's commands: one QAction each, with its shortcut, icon and tooltip, shown in the menus
and on the toolbar, and listed in the Help window's keyboard shortcuts.

`WindowActions` makes the actions and the small commands that act on the chat from the keyboard
(regenerate the latest reply, edit your last message, copy the latest reply, zoom the chat's text,
show or hide the side panels). Which panel shows and the text size are kept in the settings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QSizePolicy, QToolBar, QToolButton, QWidget

from app.store import settings
from app.store.errors import StoreError
from app.store.settings import Setting
from app.ui.icons import action_icon, icon_button

PICKER_MAX_WIDTH = 720  # the model list, its engine and Unload: no wider than the chat's column
TEXT_SIZES = (7.0, 32.0)  # the smallest and largest chat text, in points
Key = QKeySequence.StandardKey
# Keys handled by the widgets themselves, listed in the Help window with the actions' shortcuts.
WIDGET_KEYS = (
    ("Send the message", "Enter"),
    ("Start a new line in the message", "Shift+Enter"),
    ("Stop the reply being written", "Esc"),
    ("Save an edited message and send it", "Ctrl+Enter"),
    ("Cancel editing a message", "Esc"),
    ("Move between the parts of the window", "Tab, Shift+Tab"),
    ("Scroll the chat (when it has the focus)", "Page Up, Page Down"),
)


def key_sequences(keys: list[Any]) -> list[QKeySequence]:
    """The sequences for these keys, less the empty ones (a standard key this platform does not bind,
    such as Quit without a desktop) and the repeats (Ctrl+Q is also macOS's standard Quit)."""
    sequences: dict[str, QKeySequence] = {}
    for key in keys:
        sequence = QKeySequence(key)
        if not sequence.isEmpty():
            sequences.setdefault(sequence.toString(), sequence)
    return list(sequences.values())


class WindowActions(QObject):
    """The window's actions, and the keyboard commands on the chat behind some of them."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window  # the MainWindow: its chat, view, composer, sidebar, panels and slots
        self.all: list[QAction] = []
        w = window
        self.new_chat = self._make("New chat", w.new_chat, Key.New, "square-pen")
        self.search = self._make("Search chats", self.search_chats, Key.Find, "search")
        self.export = self._make("Export chat…", w.export_chat)
        self.quit = self._make("Quit", w.close, [Key.Quit, "Ctrl+Q"])
        self.regenerate = self._make("Regenerate the latest reply", self.regenerate_latest, "Ctrl+R")
        self.edit_last = self._make("Edit your last message", self.edit_last_message, "Ctrl+Shift+E")
        self.copy_reply = self._make("Copy the latest reply", self.copy_latest_reply, "Ctrl+Shift+C")
        self.focus_composer = self._make("Go to the message box", w.composer.focus, "Ctrl+L")
        self.show_prompt = self._make("View the exact prompt…", w.chat.show_prompt)
        self.toggle_sidebar = self._toggle("Chats list", w.sidebar, "Ctrl+B", "panel-left")
        self.toggle_params = self._toggle("Parameters panel", w.params, "Ctrl+Shift+P", "sliders-horizontal")
        self.zoom_in = self._make("Larger text", lambda: self.zoom(+1), [Key.ZoomIn, "Ctrl+="])
        self.zoom_out = self._make("Smaller text", lambda: self.zoom(-1), Key.ZoomOut)
        self.zoom_reset = self._make("Actual size", lambda: self.set_text_size(0.0), "Ctrl+0")
        self.browser = self._make("Find models on the Hub…", w.show_browser)
        self.api_server = self._make("API server…", w.show_server)
        self.add_remote = self._make("Add a remote endpoint…", w.show_add_remote)
        self.library = self._make("Library…", w.show_library)
        self.compare = self._make("Compare models…", w.show_compare, "Ctrl+Shift+M")
        self.evals = self._make("Evaluation sets…", w.show_evals)
        self.tools = self._make("Tools (MCP servers)…", w.show_tools)
        self.documents = self._make("Documents…", self.show_documents, icon="book-open")
        self.use_tools = self._make("Use tools in chats", lambda: None)
        self.use_tools.setCheckable(True)  # off until asked: starting servers runs programs
        self.use_tools.toggled.connect(w.tool_session.set_enabled)
        self.refresh_models = self._make("Refresh the model list", w.picker.refresh)
        self.shortcuts = self._make("Keyboard shortcuts", w.show_shortcuts, ["Ctrl+/", Key.HelpContents], "keyboard")
        self.about = self._make("About Parlour", w.show_about)
        for action in self.all:
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            w.addAction(action)  # shortcuts work with the menu bar hidden (a native one on macOS, say)
        self._connect_documents()

    def _make(self, text: str, slot: Callable[[], object], keys: Any = None, icon: str | None = None) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(action_icon(icon))
        if keys is not None:
            action.setShortcuts(key_sequences(keys if isinstance(keys, list) else [keys]))
            action.setToolTip(f"{text} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        action.triggered.connect(lambda _checked=False: slot())
        self.all.append(action)
        return action

    def _toggle(self, text: str, panel: QWidget, keys: str, icon: str) -> QAction:
        action = self._make(text, lambda: None, keys, icon)
        action.setCheckable(True)
        action.setChecked(True)
        action.toggled.connect(panel.setVisible)
        return action

    # --- menus and toolbar ----------------------------------------------------------------------------

    def fill_menus(self, bar: QMenuBar) -> None:
        menus = {
            "&File": [self.new_chat, self.export, None, self.quit],
            "&Edit": [self.search, None, self.copy_reply, self.edit_last, self.regenerate, self.show_prompt],
            "&View": [self.toggle_sidebar, self.toggle_params, None, self.zoom_in, self.zoom_out, self.zoom_reset],
            "&Models": [
                self.browser,
                self.library,
                self.refresh_models,
                None,
                self.compare,
                self.evals,
                None,
                self.tools,
                self.documents,
                self.use_tools,
                self.add_remote,
                self.api_server,
            ],
            "&Help": [self.shortcuts, self.about],
        }
        for title, actions in menus.items():
            menu = bar.addMenu(title)
            for action in actions:
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)

    def fill_toolbar(self, toolbar: QToolBar, picker: QWidget) -> None:
        """Chats list, new chat, search | the model picker | parameters panel, models."""
        side = toolbar.fontMetrics().height()
        toolbar.setIconSize(QSize(side, side))
        for action in (self.toggle_sidebar, self.new_chat, self.search):
            toolbar.addAction(action)
        toolbar.addSeparator()
        picker.setMaximumWidth(PICKER_MAX_WIDTH)
        toolbar.addWidget(picker)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)  # the panel and model buttons sit at the right-hand edge
        toolbar.addAction(self.toggle_params)
        models = icon_button("Models", "Find models on the Hub, or see the ones on this computer", "package")
        models.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        models.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(models)
        for action in (self.browser, self.library, self.refresh_models, None, self.compare, self.evals):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        models.setMenu(menu)
        toolbar.addWidget(models)
        for action in toolbar.actions():
            button = toolbar.widgetForAction(action)
            if isinstance(button, QToolButton) and not button.accessibleName():
                button.setAccessibleName(action.text())
                button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
        if extension is not None:
            extension.setAccessibleName("More tools")

    def shortcut_list(self) -> list[tuple[str, str]]:
        """(what it does, its keys) for every shortcut, for the Help window."""
        native = QKeySequence.SequenceFormat.NativeText
        listed = [
            (self._described(action), ", ".join(key.toString(native) for key in action.shortcuts()))
            for action in self.all
            if action.shortcuts()
        ]
        return listed + list(WIDGET_KEYS)

    @staticmethod
    def _described(action: QAction) -> str:
        """What an action does, as a sentence: a panel's toggle says it shows or hides the panel."""
        text = action.text().rstrip("…")
        return f"Show or hide the {text[0].lower()}{text[1:]}" if action.isCheckable() else text

    # --- documents ------------------------------------------------------------------------------------

    def _connect_documents(self) -> None:
        """The composer's files and collections, the chat's documents, and the Documents window."""
        w = self.window
        documents, button = w.chat.documents, w.composer.documents_button
        w.composer.problem.connect(lambda text: w.status_line.show_message(text, True))
        button.chosen.connect(documents.choose)
        button.manage_requested.connect(self.show_documents)
        documents.collections_changed.connect(button.show_chosen)
        button.show_chosen(documents.collections)

    def show_documents(self) -> None:
        """The document collections: their folders, what was indexed and what could not be read."""
        from app.ui.documents_window import DocumentsWindow

        window = self.window
        window._show_window("documents", lambda: DocumentsWindow(window.chat.documents.updates, window), (900, 620))

    # --- commands on the chat ---------------------------------------------------------------------------

    def _latest(self, role: str) -> Any:
        messages = self.window.chat.messages
        for position in range(messages.rowCount() - 1, -1, -1):
            row = messages.row_at(position)
            if row.role == role and row.id is not None:
                return row
        return None

    def search_chats(self) -> None:
        self.toggle_sidebar.setChecked(True)
        self.window.sidebar.focus_search()

    def regenerate_latest(self) -> None:
        reply = self._latest("assistant")
        if reply is not None and not self.window.chat.busy:
            self.window.chat.regenerate(reply.id)

    def edit_last_message(self) -> None:
        mine = self._latest("user")
        if mine is not None and not self.window.chat.busy:
            self.window.view.edit_message(mine.id)

    def copy_latest_reply(self) -> None:
        reply = self._latest("assistant")
        if reply is not None:
            QGuiApplication.clipboard().setText(reply.content)
            self.window.status_line.show_message("The latest reply is on the clipboard.")

    def zoom(self, step: int) -> None:
        self.set_text_size(self.window.view.text_size() + step)

    def set_text_size(self, points: float) -> None:
        """The chat's text size (0: the window's own), kept for the next start."""
        if points:
            points = min(max(points, TEXT_SIZES[0]), TEXT_SIZES[1])
        self.window.view.set_text_size(points)
        with contextlib.suppress(StoreError):
            settings.put(self.window.store, Setting.CHAT_TEXT_SIZE, float(points))

    def restore(self) -> None:
        """The panels and text size as they were left (the parameters panel starts collapsed)."""
        store = self.window.store
        with contextlib.suppress(StoreError):
            self.toggle_sidebar.setChecked(settings.get(store, Setting.WINDOW_SIDEBAR_VISIBLE))
            self.toggle_params.setChecked(settings.get(store, Setting.WINDOW_PARAMS_VISIBLE))
            size = settings.get(store, Setting.CHAT_TEXT_SIZE)
            if size:
                self.window.view.set_text_size(min(max(size, TEXT_SIZES[0]), TEXT_SIZES[1]))

    def save(self) -> None:
        store = self.window.store
        with contextlib.suppress(StoreError):
            settings.put(store, Setting.WINDOW_SIDEBAR_VISIBLE, self.toggle_sidebar.isChecked())
            settings.put(store, Setting.WINDOW_PARAMS_VISIBLE, self.toggle_params.isChecked())
