"""The engine client as Qt signals: replies arrive on the client's reader thread and
are handed to the GUI thread through queued signals, so the window never waits."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from engines.base import GenerationParams, LoadSettings, Message
from engines.host_client import EngineClient


class EngineBridge(QObject):
    # (request id, message dict); emitted from the reader thread, delivered on the GUI thread
    message = Signal(str, object)

    def __init__(self, log_file: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = EngineClient(log_file=log_file)

    def _listener(self, message: dict[str, Any]) -> None:
        self.message.emit(str(message.get("id")), message)

    def load(self, path: str, engine: str = "auto", settings: LoadSettings | None = None) -> str:
        return self.client.start_load(path, engine, settings, self._listener)

    def generate(
        self,
        messages: list[Message],
        params: GenerationParams,
        template: str | None = None,
        continue_final: bool = False,
    ) -> str:
        return self.client.start_generate(messages, params, self._listener, template, None, continue_final)

    def render(self, messages: list[Message], params: GenerationParams, template: str | None = None) -> str:
        """Ask for the exact prompt; the answer arrives as a "prompt" message."""
        request = EngineClient._reply_request("render", messages, params, template, None)
        return self.client.submit(request, self._listener)

    def cancel(self, request_id: str) -> None:
        self.client.cancel(request_id)

    def unload(self) -> str:
        return self.client.submit({"op": "unload"}, self._listener)

    def shutdown(self) -> None:
        self.client.close()
