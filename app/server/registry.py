"""Which local model a request names, loaded just in time, and the queues in front of the engines.

Ids are looked up among the models `parlour models` lists (by name, or a file or folder name), never
joined into a path; the endpoints do that off the event loop, since the listing reads the disk. Each
loaded model has an engine host of its own and a fair queue (first come, first served) of bounded
length; past it the answer is "busy" (503 with Retry-After). Models
stay loaded side by side while the fit estimate says they fit together in the memory budget
(what was available when the server started, or --memory); a model that does not fit beside the
others makes room by unloading the least recently used ones, each in its turn after the requests
already waiting for it. A model left idle for `idle_seconds` is unloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

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
    """The model's queue is full: the client should come back later."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message, retry_after=RETRY_AFTER_S)


@dataclass(frozen=True)
class ServedModel:
    id: str
    path: str
    engine: str  # "llamacpp" or "mlx"
    created: int  # the file's modification time, as OpenAI's `created`


@dataclass
class Slot:
    """One model's place: its queue, and once loaded its engine host and estimated memory."""

    name: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # wakes its waiters in the order they came
    waiting: int = 0
    client: EngineClient | None = None
    memory: int = 0
    last_used: float = field(default_factory=time.monotonic)


def available_memory() -> int:
    from app.library.fit import machine_budget

    return machine_budget().fast


def model_memory(model: ServedModel) -> int:
    from app.library.fit import local_model_memory

    return local_model_memory(model.path, model.engine)


class ModelRegistry:
    """The local models by id, the engine hosts of the loaded ones, and their queues."""

    def __init__(
        self,
        idle_seconds: float = 600.0,
        max_waiting: int = 16,
        memory_budget: int | None = None,
        make_client: Callable[[], EngineClient] = EngineClient,
    ) -> None:
        self.idle_seconds = idle_seconds
        self.max_waiting = max_waiting
        self.memory_budget = memory_budget if memory_budget is not None else available_memory()
        self._make_client = make_client
        self._slots: dict[str, Slot] = {}
        self._room = asyncio.Lock()  # one load (and its making of room) at a time
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

    def find(self, model_id: object) -> ServedModel:
        """The model with this id: its name as listed (any case), or its file or folder name."""
        if not isinstance(model_id, str) or not model_id.strip():
            raise ModelNotFound("Name a model: `model` is missing or empty.")
        wanted = model_id.strip().lower()
        for model in self.models():
            if wanted in (model.id.lower(), model.path.rsplit("/", 1)[-1].lower()):
                return model
        raise ModelNotFound(f"There is no local model called '{model_id[:200]}'; GET /v1/models lists them.")

    def template_for(self, model: ServedModel) -> str | None:
        """The person's own chat template for this model, as the window uses it (None: the model's own),
        so the server and the window make the same prompt for the same chat."""
        from pathlib import Path

        from app.store.templates import override_for

        return override_for(Path(model.path))

    def is_loaded(self, path: str) -> bool:
        slot = self._slots.get(path)
        return slot is not None and slot.client is not None

    # --- the queues --------------------------------------------------------------------------------

    def check_room(self, model: ServedModel) -> None:
        """Raise Busy when this model's queue is full (before a streamed answer commits to its 200)."""
        slot = self._slots.get(model.path)
        if slot is not None and slot.lock.locked() and slot.waiting >= self.max_waiting:
            raise Busy(f"{slot.waiting} requests are waiting already; try again in a few seconds.")

    @contextlib.asynccontextmanager
    async def turn(self, model: ServedModel) -> AsyncIterator[EngineClient]:
        """Wait for this request's turn at the model (or be told its queue is full), with the model loaded."""
        self.check_room(model)
        slot = self._slots.setdefault(model.path, Slot(model.id))
        if slot.lock.locked():
            log.info("a request waits its turn (%d waiting before it)", slot.waiting)
        slot.waiting += 1
        try:
            await slot.lock.acquire()
        finally:
            slot.waiting -= 1
        try:
            if slot.client is None:
                await self._load(model, slot)
            assert slot.client is not None
            yield slot.client
        finally:
            slot.last_used = time.monotonic()
            slot.lock.release()

    async def _load(self, model: ServedModel, slot: Slot) -> None:
        async with self._room:
            slot.memory = await asyncio.to_thread(model_memory, model)
            await self._make_room(model.path, slot.memory)
            log.info("loading %s for a request (about %d MB)", model.id, slot.memory // 1_000_000)
            client = self._make_client()
            try:
                # The model's own load settings (stored from the window or `parlour models settings`).
                settings = await asyncio.to_thread(served_load_settings, model.path)
                await asyncio.to_thread(client.load, model.path, model.engine, settings)
            except BaseException:
                await asyncio.to_thread(client.close)
                raise
            slot.client, slot.last_used = client, time.monotonic()

    async def _make_room(self, path: str, needed: int) -> None:
        """Unload the least recently used other models until `needed` fits beside the rest."""
        others = sorted(
            ((p, s) for p, s in self._slots.items() if p != path and s.client is not None), key=lambda i: i[1].last_used
        )
        in_use = sum(s.memory for _p, s in others)
        for other_path, other in others:
            if in_use + needed <= self.memory_budget:
                break
            async with other.lock:  # after the requests already waiting for it
                await self._unload(other_path, other, "to make room")
            in_use -= other.memory

    async def _unload(self, path: str, slot: Slot, why: str) -> None:
        client, slot.client = slot.client, None
        if client is not None:
            log.info("unloading %s %s", slot.name, why)
            await asyncio.to_thread(client.close)

    async def preload(self, model: ServedModel) -> None:
        async with self.turn(model):
            pass

    # --- idle unload -------------------------------------------------------------------------------

    def start_idle_watch(self) -> None:
        self._idle_task = asyncio.get_running_loop().create_task(self._unload_when_idle())

    async def _unload_when_idle(self) -> None:
        while True:
            await asyncio.sleep(max(min(self.idle_seconds / 4, 30.0), 0.05))
            now = time.monotonic()
            for path, slot in list(self._slots.items()):
                idle = now - slot.last_used
                if slot.client is not None and not slot.lock.locked() and idle >= self.idle_seconds:
                    async with slot.lock:
                        await self._unload(path, slot, f"after {idle:.0f} s idle")

    async def close(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_task
        for path, slot in list(self._slots.items()):
            await self._unload(path, slot, "as the server stops")


def served_load_settings(path: str) -> LoadSettings:
    """The model's stored load settings, as the window and `parlour chat` load it; the defaults if the
    store cannot be read."""
    from app.library.load_choice import effective_load_settings
    from engines.base import EngineError

    try:
        return effective_load_settings(path)
    except (EngineError, OSError) as err:
        log.warning("loading %s with the default settings: %s", path, err)
        return LoadSettings()
