"""The MCP tool servers the chat may use, while the person has tools switched on.

Switching on starts the servers in mcp.json on a worker thread (the SDK, and each server's start, take
time); switching off, or closing the window, stops them and their child processes. Which tools were
always allowed lives here per chat, for as long as the window is open.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.tools.approval import ToolApprovals
from app.ui.background import run_in_background

log = logging.getLogger(__name__)


def _started_servers() -> Any:
    from app.tools.mcp_client import ToolServers
    from app.tools.mcp_config import load_config

    servers = ToolServers(load_config())
    servers.start()
    return servers


class ToolSession(QObject):
    ready = Signal(str)  # a sentence: how many tools from how many servers, and which could not start
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.servers: Any = None  # app.tools.mcp_client.ToolServers once started
        self.enabled = False
        self.approvals = ToolApprovals()

    @property
    def usable(self) -> bool:
        return self.enabled and self.servers is not None and bool(self.servers.tools())

    def set_enabled(self, enabled: bool) -> None:
        """Start the servers (off the GUI thread) or stop them."""
        self.enabled = enabled
        if not enabled:
            servers, self.servers = self.servers, None
            if servers is not None:  # stopping a hung server can take seconds: not on the GUI thread
                run_in_background(self, servers.close, lambda _: None, lambda _: None)
            return
        if self.servers is None:
            run_in_background(self, _started_servers, self._started, self._start_failed)

    def reload(self) -> None:
        """mcp.json changed: start its servers again (when tools are on)."""
        self.close()
        if self.enabled:
            self.set_enabled(True)

    def _started(self, servers: Any) -> None:
        if not self.enabled:  # switched off while starting
            servers.close()
            return
        self.servers = servers
        tools, problems = servers.tools(), servers.problems()
        servers_count = len({info.server for info in tools})
        tools_word = "tool" if len(tools) == 1 else "tools"
        servers_word = "server" if servers_count == 1 else "servers"
        sentence = f"Tools on: {len(tools)} {tools_word} from {servers_count} {servers_word}."
        if problems:
            sentence += " " + " ".join(problems.values())
        if not tools and not problems:
            sentence = "Tools on, but no MCP server is configured: Models → Tools (MCP servers)… adds one."
        self.ready.emit(sentence)

    def _start_failed(self, error: Exception) -> None:
        log.info("tool servers did not start: %s", error)
        self.failed.emit(str(error))

    def close(self) -> None:
        servers, self.servers = self.servers, None
        if servers is not None:
            servers.close()
