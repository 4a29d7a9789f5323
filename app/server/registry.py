"""Which local model a request names, loaded just in time into the server's engine host.

Ids are looked up among the models `parlour models` lists (by name, or a file or folder name),
never joined into a path. One model is loaded at a time: a request for another waits its turn,
then the engine host loads it in place of the old one (with the model's saved load settings). All
requests share one fair (first come, first served) queue of bounded length; past it the answer
is "busy" (503 with Retry-After). A model left idle for `idle_seconds` is unloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from app.server.errors import ApiError
from engines.base import LoadSettings
from engines.host_client import EngineClient

log = logging.getLogger(__name__)
LISTING_TTL_S = 5.0  # the model list is read again at most this often


RETRY_AFTER_S = 2


class ModelNotFound(ApiError):
    """No local model has this id."""

    def __init__(self, message: str) -> None:
        super().__init__(404, message, "model")


class Busy(ApiError):
    """The queue is full: the client should come back later."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message, retry_after=RETRY_AFTER_S)


@dataclass(frozen=True)
class ServedModel:
    id: str
    path: str
    engine: str  # "llamacpp" or "mlx"
    created: int  # the file's modification time, as OpenAI's `created`


class ModelRegistry:
    """The local models by id, the one engine host, and the queue in front of it."""

    def __init__(self, client: EngineClient, idle_seconds: float = 600.0, max_waiting: int = 16) -> None:
        self.client = client
        self.idle_seconds = idle_seconds
        self.max_waiting = max_waiting
        self.loaded: ServedModel | None = None
        self._lock = asyncio.Lock()  # asyncio's lock wakes its waiters in the order they came: fair
        self._waiting = 0
        self._last_used = time.monotonic()
        self._listing: tuple[float, list[ServedModel]] = (0.0, [])
        self._idle_task: asyncio.Task[None] | None = None

    # --- the models --------------------------------------------------------------------------------

    def models(self) -> list[ServedModel]:
        listed_at, models = self._listing
        if time.monotonic() - listed_at > LISTING_TTL_S or not models:
            from app.library.catalog import list_local_models

            models = [
                ServedModel(m.name, str(m.path), m.info.engine, int(m.path.stat().st_mtime))
                for m in list_local_models()
                if m.info is not None
            ]
            self._listing = (time.monotonic(), models)
        return models

    def find(self, model_id: Any) -> ServedModel:
        """The model with this id: its name as listed (any case), or its file or folder name."""
        if not isinstance(model_id, str) or not model_id.strip():
            raise ModelNotFound("Name a model: `model` is missing or empty.")
        wanted = model_id.strip().lower()
        for model in self.models():
            if wanted in (model.id.lower(), model.path.rsplit("/", 1)[-1].lower()):
                return model
        raise ModelNotFound(f"There is no local model called '{model_id[:200]}'; GET /v1/models lists them.")

    # --- the queue ---------------------------------------------------------------------------------

    def check_room(self) -> None:
        """Raise Busy when the queue is full (before a streamed answer commits to its 200)."""
        if self._lock.locked() and self._waiting >= self.max_waiting:
            raise Busy(f"{self._waiting} requests are waiting already; try again in a few seconds.")

    @contextlib.asynccontextmanager
    async def turn(self, model: ServedModel) -> AsyncIterator[EngineClient]:
        """Wait for this request's turn (or be told the queue is full), with `model` loaded."""
        self.check_room()
        if self._lock.locked():
            log.info("a request waits its turn (%d waiting before it)", self._waiting)
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            if self.loaded is None or self.loaded.path != model.path:
                await self._load(model)
            yield self.client
        finally:
            self._last_used = time.monotonic()
            self._lock.release()

    async def _load(self, model: ServedModel) -> None:
        log.info("loading %s for a request", model.id)
        self.loaded = None
        await asyncio.to_thread(self.client.load, model.path, model.engine, LoadSettings())
        self.loaded = model
        self._last_used = time.monotonic()

    async def preload(self, model: ServedModel) -> None:
        async with self.turn(model):
            pass

    # --- idle unload -------------------------------------------------------------------------------

    def start_idle_watch(self) -> None:
        self._idle_task = asyncio.get_running_loop().create_task(self._unload_when_idle())

    async def _unload_when_idle(self) -> None:
        while True:
            await asyncio.sleep(max(min(self.idle_seconds / 4, 30.0), 0.05))
            idle = time.monotonic() - self._last_used
            if self.loaded is not None and not self._lock.locked() and idle >= self.idle_seconds:
                async with self._lock:
                    log.info("unloading %s after %.0f s idle", self.loaded.id, idle)
                    await asyncio.to_thread(self.client.unload)
                    self.loaded = None

    async def close(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_task
        await asyncio.to_thread(self.client.close)
