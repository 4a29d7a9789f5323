"""The server inside the window: uvicorn on a thread of its own, sharing the window's engine host.

A request for the model the window has loaded runs on the window's own engine host (no second copy
of the model in memory); a request for another model loads it into a second host of the server's
own, just in time, and unloads it when idle. Stopping ends the thread and that second host.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable

from app.server.registry import ModelRegistry, ServedModel
from app.server.security import Access, allowed_hosts
from engines.host_client import EngineClient

log = logging.getLogger(__name__)
START_S = 10.0


class SharedRegistry(ModelRegistry):
    """A registry that lends the window's engine host for the model the window has loaded."""

    def __init__(
        self,
        window_client: EngineClient,
        window_model: Callable[[], str | None],
        idle_seconds: float = 600.0,
        max_waiting: int = 16,
    ) -> None:
        super().__init__(idle_seconds, max_waiting)
        self.window_client = window_client
        self.window_model = window_model  # the path the window has loaded now, or None

    @contextlib.asynccontextmanager
    async def turn(self, model: ServedModel) -> AsyncIterator[EngineClient]:
        if self.window_model() == model.path:
            self.check_room(model)
            yield self.window_client  # the window's host answers; it takes its requests in order
            return
        async with super().turn(model) as client:
            yield client


class BackgroundServer:
    """Start and stop the API server on a thread; says where it listens."""

    def __init__(self) -> None:
        self._server: object | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, registry: ModelRegistry, token: str, host: str = "127.0.0.1", port: int = 8484) -> str:
        """Listen on host:port; returns the base URL. OSError with a sentence when the port is taken."""
        import uvicorn

        from app.server.app import build_app

        with socket.socket() as probe:  # a taken port is said here, not in the server thread's log
            try:
                probe.bind((host, port))
            except OSError as err:
                raise OSError(f"Port {port} is in use by another program; choose another.") from err
        app = build_app(registry, Access(token, allowed_hosts(host)))
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, name="parlour-api-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_S
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.started:
            server.should_exit = True
            raise OSError(f"The server could not start on {host}:{port}; details are in the log.")
        self._server, self._thread = server, thread
        self.url = f"http://{host}:{port}/v1"
        return self.url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True  # type: ignore[attr-defined]
        if thread is not None:
            thread.join(15)
        self._server = self._thread = None
        self.url = None
