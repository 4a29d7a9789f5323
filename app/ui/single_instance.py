"""One window at a time: a second `parlour` brings the first window forward and exits.

The store's lock file says whether another Parlour runs; a local socket named after
the data folder carries the "come forward" request to it.
"""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.paths import data_dir

RAISE_REQUEST = b"raise\n"


def server_name() -> str:
    digest = hashlib.sha256(str(data_dir().resolve()).encode()).hexdigest()[:16]
    return f"parlour-{digest}"


def ask_running_instance_to_raise(timeout_ms: int = 1500) -> bool:
    """Tell the running window to come forward; False if it could not be reached."""
    socket = QLocalSocket()
    socket.connectToServer(server_name())
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(RAISE_REQUEST)
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class RaiseRequests(QObject):
    """Listens for later instances; emits `raise_requested` on the GUI thread."""

    raise_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server = QLocalServer(self)
        QLocalServer.removeServer(server_name())  # a stale socket file left by a crash
        self.server.listen(server_name())
        self.server.newConnection.connect(self._accept)

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))

    def _read(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(RAISE_REQUEST.strip()):
            self.raise_requested.emit()
        socket.disconnectFromServer()
