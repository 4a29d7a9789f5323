"""The engine client as Qt signals: events arrive on the client's reader thread and are handed
to the GUI thread through a queued signal, typed as engines.protocol defines them. The model
session owns the bridge; the chat controller sends its replies through it."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from engines.base import GenerationParams, LoadSettings, Message
from engines.host_client import EngineClient
from engines.protocol import Event, RenderRequest, ReplyRequest, TokenizeRequest, UnloadRequest


class EngineBridge(QObject):
    """The window's EngineClient (and so its engine host), with every answer as a Qt signal."""

    # (request id, protocol event); emitted from the reader thread, delivered on the GUI thread.
    # Not called `event`: that name would hide QObject.event(), through which Qt delivers events.
    engine_event = Signal(str, object)

    def __init__(self, log_file: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = EngineClient(log_file=log_file)
        self._ids = itertools.count(1)

    def _listener(self, request_id: str):  # noqa: ANN202
        # The id is chosen here, so an event that arrives before submit() returns still carries it.
        def deliver(event: Event) -> None:
            # The host's reader thread may still deliver (a pong, the end of a cancelled reply) after the
            # window and this bridge were deleted: nobody is left to tell, and that is not the host's fault.
            with contextlib.suppress(RuntimeError):
                if shiboken6.isValid(self):
                    self.engine_event.emit(request_id, event)

        return deliver

    def _next_id(self) -> str:
        return f"ui{next(self._ids)}"

    def load(self, path: str, engine: str = "auto", settings: LoadSettings | None = None) -> str:
        request_id = self._next_id()
        return self.client.start_load(path, engine, settings, self._listener(request_id), request_id)

    def generate(
        self,
        messages: list[Message],
        params: GenerationParams,
        template: str | None = None,
        continue_final: bool = False,
        template_vars: dict[str, Any] | None = None,
    ) -> str:
        request_id = self._next_id()
        reply = ReplyRequest(list(messages), params, template, dict(template_vars or {}), continue_final)
        return self.client.start_generate(reply, self._listener(request_id), request_id)

    def render(self, messages: list[Message], params: GenerationParams, template: str | None = None) -> str:
        """Ask for the exact prompt; the answer arrives as a PromptRendered event."""
        request_id = self._next_id()
        reply = ReplyRequest(list(messages), params, template)
        return self.client.submit(RenderRequest(reply), self._listener(request_id), request_id)

    def tokenize(self, messages: list[Message]) -> str:
        """Count the prompt these messages make; the answer arrives as a Tokens event (or a Failure)."""
        request_id = self._next_id()
        return self.client.submit(TokenizeRequest(list(messages)), self._listener(request_id), request_id)

    def cancel(self, request_id: str) -> None:
        self.client.cancel(request_id)

    def unload(self) -> str:
        request_id = self._next_id()
        return self.client.submit(UnloadRequest(), self._listener(request_id), request_id)

    def shutdown(self) -> None:
        self.client.close()
