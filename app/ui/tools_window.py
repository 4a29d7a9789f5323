"""Tool servers: the MCP servers in mcp.json, each with its tools to switch on and off.

Each server is listed at once with what it runs (its command line or its URL). To learn its tools,
the window starts the servers on a pool thread (a `ServerCheck`: `ToolServers` from the current
configuration, its tools and problems, then closed), so the window never waits on a server; one
that hangs at start is bounded by ToolServers' start timeout, and closing the window stops the check.
A server that could not start shows its sentence under its name.

Ticking a tool saves it in mcp.json at once, as do adding (ServerForm) and removing a server; each
saved change emits `changed`. A damaged mcp.json is one sentence at the foot of the window.
"""

from __future__ import annotations

import dataclasses
import shlex
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.tools import mcp_config
from app.tools.errors import McpConfigError
from app.tools.mcp_config import McpConfig, ServerConfig, StdioServer
from app.ui.accessible import describe
from app.ui.background import run_in_background
from app.ui.theme import error_colour, error_style, readable_muted
from app.ui.tools_server_form import ServerForm, sentence_of

if TYPE_CHECKING:
    from app.tools.mcp_client import ToolInfo, ToolServers

SERVER_ROLE = Qt.ItemDataRole.UserRole
TOOL_ROLE = Qt.ItemDataRole.UserRole + 1
INTRO = (
    "Tool servers (MCP) give models tools to call. Parlour starts each one here to list its tools; "
    "untick a tool to keep it from models."
)


def ask_to_remove(parent: QWidget, question: str) -> bool:
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
    return QMessageBox.question(parent, "Remove tool server", question, buttons) == QMessageBox.StandardButton.Yes


def open_folder(folder: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def server_line(server: ServerConfig) -> str:
    """What a server runs, as a person would type it: `command args…`, or its URL."""
    if isinstance(server, StdioServer):
        return shlex.join([server.command, *server.args])
    return server.url


@dataclasses.dataclass(frozen=True)
class Listed:
    """What the window knows of one server's tools: those it offers, or why it did not start."""

    tools: tuple[ToolInfo, ...] = ()
    problem: str | None = None


class ServerCheck:
    """Starts some servers once, on a pool thread, to list their tools, then stops them.

    `cancel()` (from the GUI thread) stops them early, on a thread of its own, as stopping can take
    seconds."""

    def __init__(self, config: McpConfig) -> None:
        self.config = config
        self.names = frozenset(server.name for server in config.servers)
        self._lock = threading.Lock()
        self._servers: ToolServers | None = None
        self._cancelled = False

    def run(self) -> dict[str, Listed]:
        from app.tools.mcp_client import ToolServers  # loads the MCP SDK: here, off the GUI thread

        servers = ToolServers(self.config)
        with self._lock:
            if self._cancelled:
                return {}
            self._servers = servers
        try:
            servers.start()
            tools, problems = servers.tools(include_disabled=True), servers.problems()
        except Exception:
            if self._cancelled:  # closed under it: nobody is waiting for the answer
                return {}
            raise
        finally:
            servers.close()
        return {name: Listed(tuple(t for t in tools if t.server == name), problems.get(name)) for name in self.names}

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            servers = self._servers
        if servers is not None:
            threading.Thread(target=servers.close, name="mcp-check-stop", daemon=True).start()


class ToolsWindow(QWidget):
    changed = Signal()  # after any change saved in mcp.json

    def __init__(self, parent: QWidget | None = None, confirm: Callable[[QWidget, str], bool] = ask_to_remove) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Tool servers")
        self.resize(860, 560)
        self.confirm = confirm
        self.form: QWidget | None = None
        self.config = McpConfig()
        self.listed: dict[str, Listed] = {}  # by server name, once checked
        self.checks: dict[str, ServerCheck] = {}  # by server name, while being checked
        self.intro = QLabel(INTRO)
        self.intro.setWordWrap(True)
        self.tree = describe(QTreeWidget(), "Tool servers", "The servers in mcp.json and their tools")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Server and its tools", "Runs, or what the tool does"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 240)
        self.add_button = describe(QPushButton("Add a server…"), "Add a server", "Add a tool server to mcp.json")
        self.remove_button = describe(QPushButton("Remove"), "Remove", "Remove the chosen server from mcp.json")
        self.check_button = describe(
            QPushButton("Check again"), "Check again", "Read mcp.json again and start its servers to list their tools"
        )
        self.path = describe(QLineEdit(), "mcp.json", "Where the list of tool servers is kept")
        self.path.setReadOnly(True)
        self.folder_button = describe(QPushButton("Open folder"), "Open folder", "Show the folder that holds mcp.json")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._lay_out()
        self.add_button.clicked.connect(self.show_form)
        self.remove_button.clicked.connect(self.remove_chosen)
        self.check_button.clicked.connect(self.reload)
        self.folder_button.clicked.connect(lambda: open_folder(Path(self.path.text()).parent))
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.currentItemChanged.connect(lambda *_: self._enable_remove())
        self._enable_remove()

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.check_button)
        file_row = QHBoxLayout()
        file_row.addWidget(QLabel("mcp.json"))
        file_row.addWidget(self.path, 1)
        file_row.addWidget(self.folder_button)
        column = QVBoxLayout(self)
        column.addWidget(self.intro)
        column.addWidget(self.tree, 1)
        column.addLayout(buttons)
        column.addLayout(file_row)
        column.addWidget(self.status)

    # Reading mcp.json and checking its servers

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():  # opened (again), not restored from the dock: the file may have changed
            self.reload()

    def reload(self) -> None:
        """Read mcp.json again and check every server in it."""
        self.path.setText(str(mcp_config.config_path()))
        self._cancel_checks()
        self.listed.clear()
        if self._load():
            self._check([server.name for server in self.config.servers])

    def _load(self) -> bool:
        """Read mcp.json; a file that cannot be used empties the list and says why."""
        try:
            self.config = mcp_config.load_config()
        except McpConfigError as err:
            self.config = McpConfig()
            self._rebuild()
            self._say(str(err), True)
            return False
        return True

    def _check(self, names: Collection[str]) -> None:
        servers = tuple(server for server in self.config.servers if server.name in names)
        if servers:
            check = ServerCheck(dataclasses.replace(self.config, servers=servers))
            for name in check.names:
                self.listed.pop(name, None)
                self.checks[name] = check
            run_in_background(self, check.run, lambda got: self._checked(check, got), lambda e: self._failed(check, e))
        self._rebuild()
        self._say_how_it_stands()

    def _checked(self, check: ServerCheck, listed: dict[str, Listed]) -> None:
        for name in self._settle(check):
            self.listed[name] = listed.get(name, Listed())
        self._rebuild()
        self._say_how_it_stands()

    def _failed(self, check: ServerCheck, error: Exception) -> None:
        self._checked(check, {name: Listed(problem=str(error)) for name in check.names})

    def _settle(self, check: ServerCheck) -> list[str]:
        """The servers `check` still speaks for (a later check or a removal replaces it), no longer checking."""
        names = [name for name in check.names if self.checks.get(name) is check]
        for name in names:
            del self.checks[name]
        return names

    def _forget_check(self, name: str) -> None:
        """Stop checking one server; its check is stopped once no other server waits on it."""
        check = self.checks.pop(name, None)
        if check is not None and all(other is not check for other in self.checks.values()):
            check.cancel()

    def _cancel_checks(self) -> None:
        for check in set(self.checks.values()):
            check.cancel()
        self.checks.clear()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._cancel_checks()  # no server keeps running for a window nobody sees
        super().closeEvent(event)

    # Showing

    def _rebuild(self) -> None:
        chosen = self.chosen_server()
        scrolled = self.tree.verticalScrollBar().value()
        self.tree.blockSignals(True)
        self.tree.clear()
        for server in self.config.servers:
            item = QTreeWidgetItem(self.tree, [server.name, server_line(server)])
            item.setData(0, SERVER_ROLE, server.name)
            item.setToolTip(1, server_line(server))
            bold = item.font(0)
            bold.setBold(True)
            item.setFont(0, bold)
            self._add_children(item, server.name)
            item.setExpanded(True)
            if server.name == chosen:
                self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        self.tree.verticalScrollBar().setValue(scrolled)
        self._enable_remove()

    def _add_children(self, item: QTreeWidgetItem, name: str) -> None:
        listed = self.listed.get(name)
        if name in self.checks or listed is None:
            self._add_note(item, "Starting it to list its tools…", False)
        elif listed.problem is not None:
            self._add_note(item, listed.problem, True)
        elif not listed.tools:
            self._add_note(item, "It offers no tools.", False)
        for tool in () if listed is None or name in self.checks else listed.tools:
            child = QTreeWidgetItem(item, [tool.name, " ".join(tool.description.split())])
            child.setData(0, SERVER_ROLE, name)
            child.setData(0, TOOL_ROLE, tool.name)
            child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            enabled = self.config.is_enabled(name, tool.name)
            child.setCheckState(0, Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)
            for column in (0, 1):
                child.setToolTip(column, tool.description or "No description.")

    def _add_note(self, item: QTreeWidgetItem, text: str, problem: bool) -> None:
        note = QTreeWidgetItem(item, [text])
        note.setData(0, SERVER_ROLE, item.data(0, SERVER_ROLE))
        note.setToolTip(0, text)
        note.setFirstColumnSpanned(True)
        note.setForeground(0, error_colour(self.palette()) if problem else readable_muted(self.palette()))

    def _say_how_it_stands(self) -> None:
        if self.checks:
            self._say("Checking servers…", False)
            return
        servers = len(self.config.servers)
        if not servers:
            self._say("No tool servers yet: add one, or copy an mcp.json from another app to the path below.", False)
            return
        broken = sum(1 for listed in self.listed.values() if listed.problem is not None)
        tools = sum(len(listed.tools) for listed in self.listed.values())
        text = f"{_count(servers, 'server')}, {_count(tools, 'tool')}."
        if broken:
            text += f" {_count(broken, 'server')} could not start."
        self._say(text, False)

    def _say(self, text: str, problem: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(error_style(self.palette()) if problem else "")

    # Changing mcp.json

    def tool_item(self, server: str, tool: str) -> QTreeWidgetItem | None:
        """The row of one tool, with its checkbox (None while it is not listed)."""
        for item in self._server_items():
            for child in (item.child(row) for row in range(item.childCount())):
                if child is not None and child.data(0, SERVER_ROLE) == server and child.data(0, TOOL_ROLE) == tool:
                    return child
        return None

    def _server_items(self) -> list[QTreeWidgetItem]:
        items = (self.tree.topLevelItem(index) for index in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        tool = item.data(0, TOOL_ROLE)
        if column != 0 or tool is None:
            return
        server, enabled = item.data(0, SERVER_ROLE), item.checkState(0) == Qt.CheckState.Checked
        if enabled == self.config.is_enabled(server, tool):
            return
        try:
            self.config = mcp_config.set_tool_enabled(server, tool, enabled)
        except McpConfigError as err:
            self.tree.blockSignals(True)
            item.setCheckState(0, Qt.CheckState.Unchecked if enabled else Qt.CheckState.Checked)
            self.tree.blockSignals(False)
            self._say(str(err), True)
            return
        self._say(f"{tool} on {server} is switched {'on' if enabled else 'off'}.", False)
        self.changed.emit()

    def show_form(self) -> None:
        form = ServerForm(self)
        form.added.connect(self._added)
        form.finished.connect(form.deleteLater)
        self.form = form
        form.open()

    def _added(self, name: str) -> None:
        self.changed.emit()
        if not self._load():
            return
        self._forget_check(name)  # a server replaced under the same name is checked afresh
        self._check([name])
        for item in self._server_items():
            if item.data(0, SERVER_ROLE) == name:
                self.tree.setCurrentItem(item)

    def chosen_server(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, SERVER_ROLE)

    def _enable_remove(self) -> None:
        self.remove_button.setEnabled(self.chosen_server() is not None)

    def remove_chosen(self) -> None:
        name = self.chosen_server()
        if name is None:
            return
        question = f"Remove the tool server '{name}' from mcp.json? Its secrets leave the system keyring too."
        if not self.confirm(self, question):
            return
        self.remove_button.setEnabled(False)
        # On a pool thread: forgetting its secrets may wait on the keyring.
        run_in_background(
            self,
            lambda: sentence_of(lambda: mcp_config.remove_server(name)),
            lambda said: self._removed(name, said),
            lambda error: self._removed(name, str(error)),
        )

    def _removed(self, name: str, sentence: str | None) -> None:
        if sentence is not None:
            self._enable_remove()
            self._say(sentence, True)
            return
        self.changed.emit()
        self._forget_check(name)
        self.listed.pop(name, None)
        if self._load():
            self._rebuild()
            self._say_how_it_stands()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
