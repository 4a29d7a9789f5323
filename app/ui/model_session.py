"""The loaded model: the one place in the window that knows which model is loaded, by which
engine, with what context length and which chat template.

`ModelSession` owns the EngineBridge (and through it the engine host). It loads (with the model's own
load settings, app.library.load_choice) and unloads, reports progress, success and failure as typed
signals, keeps the person's template override for the loaded model, and polls the host's memory
every few seconds while a model is loaded and no reply is being written (the ping waits for its
answer on a worker thread, via run_in_background).
Everyone else asks it: the chat controller for the bridge, the model's name and template, the
parameters presenter for the context length and the template, the window for what to show, the
context counter for the size of a conversation in the model's tokens (`count_tokens`, answered
by `tokens_counted` without waiting: the engine host tokenizes on its own thread).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.store.db import Store
from app.store.templates import clear_model_template, model_key, person_template, set_model_template
from app.ui.background import run_in_background
from app.ui.engine_bridge import EngineBridge
from engines.base import LoadSettings, Message, ModelInfo
from engines.protocol import Event, Failure, Loaded, Pong, Progress, Tokens
from engines.remote_target import is_remote_ref

log = logging.getLogger(__name__)
MEMORY_POLL_MS = 5000
ENGINE_NAMES = {"llamacpp": "llama.cpp", "mlx": "MLX", "remote": "Remote · leaves this computer"}


class ModelSession(QObject):
    """The loaded model (its ModelInfo, engine, name, context length and template) and the bridge
    that reaches it."""

    load_started = Signal(str)  # the model's path; whatever was loaded is gone
    progress = Signal(float)  # 0..1 while loading
    loaded = Signal(object, str)  # ModelInfo, engine ("llamacpp" or "mlx")
    load_failed = Signal(str)  # one sentence
    unloaded = Signal()
    memory = Signal(int)  # the engine host's resident bytes; 0 when unknown
    template_changed = Signal()  # the person's template for the loaded model was saved or cleared
    tokens_counted = Signal(str, int)  # (request id from count_tokens, tokens); -1 when it could not count

    def __init__(self, store: Store, engine_log: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.bridge = EngineBridge(engine_log, self)
        self.bridge.engine_event.connect(self._on_event)
        self.info: ModelInfo | None = None
        self.engine: str | None = None
        self.name: str | None = None  # as the model picker lists it, else the model's own name
        self.template_override: str | None = None
        self.context_setting: int | None = None  # what the person asked for; None is the model's own
        self.load_settings: LoadSettings | None = None  # what the last load asked for
        self._load_id: str | None = None
        self._counting: set[str] = set()  # count_tokens requests not answered yet
        self._load_name: str | None = None
        self._last_load: tuple[str, str] | None = None  # (path, engine choice), for a reload
        self._generating = False
        self._pinging = False
        self._poll = QTimer(self)
        self._poll.setInterval(MEMORY_POLL_MS)
        self._poll.timeout.connect(self.poll_memory)
        self._poll.start()

    # --- what is loaded -------------------------------------------------------------------------------

    @property
    def is_loaded(self) -> bool:
        return self.info is not None

    @property
    def path(self) -> str | None:
        return self.info.path if self.info is not None else None

    @property
    def context_length(self) -> int:
        """The loaded model's context window in tokens; 0 when nothing is loaded."""
        return int(self.info.context_length or 0) if self.info is not None else 0

    @property
    def engine_name(self) -> str:
        return ENGINE_NAMES.get(self.engine or "", self.engine or "—")

    def template_source(self) -> str:
        """Which template a reply uses, in words."""
        if self.template_override:
            return "your template"
        if self.info is not None and self.info.chat_template:
            return "the model's own template"
        return "a built-in template"

    # --- loading --------------------------------------------------------------------------------------

    def load(self, path: str, engine: str = "auto", name: str | None = None) -> None:
        """Start loading; `loaded` or `load_failed` follows, with `progress` in between."""
        self._forget_model()
        self._last_load = (path, engine)
        self._load_name = name
        self.load_started.emit(path)  # first: a reply being written is stopped before the load is asked for
        self.load_settings = self._settings_for(path)
        self._load_id = self.bridge.load(path, engine, self.load_settings)
        self.progress.emit(0.0)

    def _settings_for(self, path: str) -> LoadSettings:
        """The model's own load settings (model picker → Load settings), with the parameters panel's context
        length winning when the person set one there."""
        from app.library.load_choice import effective_load_settings

        explicit = {"context_length": self.context_setting} if self.context_setting else None
        return effective_load_settings(path, self.store, explicit)

    def has_loaded(self, path: str) -> bool:
        """Whether the model at `path` is the one loaded, whichever name or link it was chosen by."""
        if self.info is None or is_remote_ref(path) or is_remote_ref(self.info.path):
            return False
        return model_key(Path(self.info.path)) == model_key(Path(path))

    def reload(self) -> None:
        """Load the last model again, e.g. with another context length."""
        if self._last_load is not None:
            path, engine = self._last_load
            self.load(path, engine, self._load_name)

    def unload(self) -> None:
        self._load_id = None
        self._forget_model()
        self.unloaded.emit()  # first: a reply being written is stopped before the unload is asked for
        self.bridge.unload()

    def _forget_model(self) -> None:
        self.info = self.engine = self.name = self.template_override = None

    def count_tokens(self, messages: list[Message]) -> str | None:
        """Ask how many tokens these messages make with the loaded model's template and tokenizer;
        `tokens_counted` answers with the returned id. None when no model is loaded."""
        if self.info is None:
            return None
        request_id = self.bridge.tokenize(messages)
        self._counting.add(request_id)
        return request_id

    def _on_event(self, request_id: str, event: Event) -> None:
        if request_id in self._counting:
            self._counting.discard(request_id)
            self.tokens_counted.emit(request_id, len(event.ids) if isinstance(event, Tokens) else -1)
            return
        if request_id != self._load_id:
            return
        if isinstance(event, Progress):
            self.progress.emit(event.fraction)
        elif isinstance(event, Loaded):
            self._load_id = None
            self.info, self.engine = event.model, event.engine
            self.name = self._load_name or event.model.name
            self.template_override = person_template(event.model.path, self.store)
            self.loaded.emit(event.model, event.engine)
        elif isinstance(event, Failure):
            self._load_id = None
            if event.detail:
                log.warning("loading failed: %s (%s)", event.message, event.detail)
            self.load_failed.emit(event.message)

    # --- the chat template ----------------------------------------------------------------------------

    def set_template_override(self, source: str | None) -> None:
        """Save `source` as the loaded model's template, or (None or "") go back to the model's own.
        Raises StoreError with a sentence when it cannot be saved."""
        if self.info is None:
            return
        key = model_key(Path(self.info.path))
        if source:
            set_model_template(self.store, key, source)
        else:
            clear_model_template(self.store, key)
        self.template_override = source or None
        self.template_changed.emit()

    # --- memory ---------------------------------------------------------------------------------------

    def set_generating(self, generating: bool) -> None:
        """While a reply is written the host is busy: memory is not polled then."""
        self._generating = generating

    def poll_memory(self) -> None:
        if self.info is None or self._generating or self._pinging:
            return
        self._pinging = True
        run_in_background(self, self.bridge.client.ping, self._on_pong, self._on_ping_failed)

    def _on_pong(self, pong: Pong) -> None:
        self._pinging = False
        self.memory.emit(int(pong.rss_bytes or 0) if self.info is not None else 0)

    def _on_ping_failed(self, error: Exception) -> None:
        self._pinging = False
        log.info("memory poll: %s", error)
        self.memory.emit(0)

    def shutdown(self) -> None:
        self._poll.stop()
        self.bridge.shutdown()
