"""The engine host: a child process that owns one loaded model.

MLX aborts the whole process on a Metal out-of-memory, llama.cpp can crash on a
malformed file, and both spend seconds in C code Python cannot interrupt. Running
them here turns those into an error event and a restart instead of a lost window.

Requests arrive on stdin and events leave on the file descriptor that was stdout at
start-up, one JSON object per line, typed and encoded by engines.protocol; fd 1 is then
pointed at stderr so nothing native libraries print can corrupt the stream. A generate
request always ends with Finished, whose finish_reason is "error" on failure; any other
request ends with its answer or a Failure.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback
from typing import TextIO

from engines.base import (
    EMBEDDINGS_NEED_GGUF,
    Delta,
    EngineError,
    Finished,
    GenerationStats,
    InvalidRequestError,
    NotLoadedError,
)
from engines.child_process import die_with_parent
from engines.engine import Engine
from engines.inspect import inspect_model
from engines.process_memory import peak_resident_bytes, resident_bytes
from engines.protocol import (
    CancelRequest,
    Embeddings,
    EmbedRequest,
    Event,
    Failure,
    GenerateRequest,
    Heartbeat,
    Loaded,
    LoadRequest,
    PingRequest,
    Pong,
    Progress,
    PromptRendered,
    Ready,
    RenderRequest,
    Request,
    ShutdownRequest,
    TokenizeRequest,
    Tokens,
    Trace,
    TraceRequest,
    Unloaded,
    UnloadRequest,
    decode_request,
    encode_event,
)
from engines.templates.isolation import shared_renderer

log = logging.getLogger("parlour.host")
DELTA_COALESCE_S = 0.02
# Sent whatever the engine thread is doing, so the client can tell a busy host from a stuck one
# (engines.host_client.HOST_SILENCE_SECONDS).
HEARTBEAT_SECONDS = 2.0
_OUT_OF_MEMORY = "The engine ran out of memory; try a smaller model or a shorter context."


def create_engine(kind: str) -> Engine:
    if kind == "remote":
        from engines.remote import RemoteEngine

        return RemoteEngine()
    if kind == "mlx":
        from engines.mlx_engine import MlxEngine

        return MlxEngine()
    from engines.llamacpp_engine import LlamaCppEngine

    return LlamaCppEngine()


def choose_engine(model_engine: str, requested: str) -> str:
    """ "auto" follows the model's format; an explicit choice must fit it."""
    if requested in ("auto", "", None):
        return model_engine
    if requested == model_engine:
        return requested
    if model_engine == "remote" or requested == "remote":
        raise InvalidRequestError("A remote model runs on its own server; choose it with the engine left on auto.")
    if requested == "mlx":
        raise InvalidRequestError(
            "The MLX engine runs MLX model folders, not GGUF files; use the llama.cpp engine for this model."
        )
    if requested == "llamacpp":
        raise InvalidRequestError(
            "The llama.cpp engine runs GGUF files, not MLX folders; use the MLX engine for this model."
        )
    raise InvalidRequestError(f"Unknown engine '{requested}': choose auto, mlx or llamacpp.")


class EngineHost:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._write_lock = threading.Lock()
        self._jobs: queue.Queue[tuple[str, Request] | None] = queue.Queue()
        self._cancelled: set[str] = set()
        self._cancel_lock = threading.Lock()
        self._engine: Engine | None = None
        # The one thread that loads, prefills, generates and unloads (MLX streams and
        # llama.cpp contexts belong to the thread that made them).
        self._worker = threading.Thread(target=self._work, name="engine", daemon=True)

    def send(self, request_id: str | None, event: Event) -> None:
        line = json.dumps(encode_event(request_id, event), ensure_ascii=False)
        with self._write_lock:
            self._out.write(line + "\n")
            self._out.flush()

    def _heartbeat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            self.send(None, Heartbeat())

    def serve(self, stdin: TextIO) -> None:
        self._worker.start()
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()
        for line in stdin:
            if not line.strip():
                continue
            received = self._receive(line)
            if received is None:
                continue
            request_id, request = received
            if isinstance(request, CancelRequest):
                with self._cancel_lock:
                    self._cancelled.add(request.target)
            elif isinstance(request, ShutdownRequest):
                break
            else:
                self._jobs.put((request_id, request))
        self._jobs.put(None)
        self._worker.join(timeout=5)
        if self._worker.is_alive():
            # Its parent is gone or asked it to stop, and the engine thread is stuck in native
            # code: leave now, never linger on a core.
            log.warning("the engine thread did not stop; leaving without it")
            os._exit(0)

    def _receive(self, line: str) -> tuple[str, Request] | None:
        """One request from one line, or None after answering what was wrong with it."""
        wire = None
        try:
            wire = json.loads(line)
            return decode_request(wire)
        except EngineError as err:  # a value the person chose, refused by its own type
            request_id = str(wire.get("id")) if isinstance(wire, dict) else None
            self._fail(request_id, wire.get("op") if isinstance(wire, dict) else None, err.code, str(err))
        except (ValueError, RecursionError) as err:
            log.error("malformed request: %s", err)
            request_id = str(wire.get("id")) if isinstance(wire, dict) and wire.get("id") else None
            self.send(request_id, Failure("invalid_request", "The engine received a malformed request.", str(err)))
        return None

    def _is_cancelled(self, request_id: str) -> bool:
        with self._cancel_lock:
            return request_id in self._cancelled

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                break
            request_id, request = job
            try:
                self._handle(request_id, request)
            except EngineError as err:
                self._fail(request_id, request.op, err.code, str(err))
            except MemoryError:
                self._fail(request_id, request.op, "engine_error", _OUT_OF_MEMORY)
            except Exception as err:  # anything else is a bug: log it, tell the user plainly
                log.error("request %s failed:\n%s", request_id, traceback.format_exc())
                message = f"The engine failed unexpectedly ({err.__class__.__name__})."
                self._fail(request_id, request.op, "engine_error", message, f"{err.__class__.__name__}: {err}")
            finally:
                with self._cancel_lock:
                    self._cancelled.discard(request_id)
        if self._engine is not None:
            self._engine.unload()

    def _fail(self, request_id: str | None, op: object, code: str, message: str, detail: str | None = None) -> None:
        if op == GenerateRequest.op:
            self.send(request_id, Finished("error", GenerationStats(), message, code, detail))
        else:
            self.send(request_id, Failure(code, message, detail))

    def _handle(self, request_id: str, request: Request) -> None:
        if isinstance(request, LoadRequest):
            self._load(request_id, request)
        elif isinstance(request, GenerateRequest):
            self._generate(request_id, request)
        elif isinstance(request, RenderRequest):
            prompt = self._require_engine().prompt(request.reply)
            source, notice = prompt.template.source, prompt.template.notice
            self.send(request_id, PromptRendered(prompt.text, len(prompt.ids), source, notice, prompt.dropped_turns))
        elif isinstance(request, TokenizeRequest):
            self.send(request_id, Tokens(self._require_engine().tokenize_prompt(request.messages)))
        elif isinstance(request, TraceRequest):
            ids, margins = self._require_engine().greedy_trace(request.messages, request.max_tokens, request.forced)
            self.send(request_id, Trace(ids, margins))
        elif isinstance(request, EmbedRequest):
            self.send(request_id, Embeddings(self._require_engine().embed(list(request.texts))))
        elif isinstance(request, UnloadRequest):
            if self._engine is not None:
                self._engine.unload()
                self._engine = None
            self.send(request_id, Unloaded())
        elif isinstance(request, PingRequest):
            loaded = self._engine is not None
            self.send(
                request_id, Pong(os.getpid(), loaded, resident_bytes(), peak_resident_bytes(), shared_renderer().pid)
            )
        else:
            raise InvalidRequestError(f"Unknown request '{request.op}'.")

    def _require_engine(self) -> Engine:
        if self._engine is None:
            raise NotLoadedError("No model is loaded; choose a model first.")
        return self._engine

    def _load(self, request_id: str, request: LoadRequest) -> None:
        if not request.path:
            raise InvalidRequestError("No model was given to load.")
        info = inspect_model(request.path)
        kind = choose_engine(info.engine, request.engine)
        if request.settings.embedding and kind != "llamacpp":
            raise InvalidRequestError(EMBEDDINGS_NEED_GGUF)  # before the loaded model is given up
        if self._engine is not None:
            self._engine.unload()
            self._engine = None
        engine = create_engine(kind)

        def progress(fraction: float, message: str) -> None:
            self.send(request_id, Progress(fraction, message))

        loaded = engine.load(info, request.settings, progress)
        self._engine = engine
        self.send(request_id, Loaded(loaded, kind))

    def _generate(self, request_id: str, request: GenerateRequest) -> None:
        engine = self._require_engine()
        if not request.reply.messages:
            raise InvalidRequestError("There is no message to reply to.")
        # Deltas closer together than DELTA_COALESCE_S travel as one message: on a small
        # machine every wake-up of the client steals time from the engine's threads.
        pending, pending_reasoning, last_sent = "", False, 0.0

        def flush() -> None:
            nonlocal pending
            if pending:
                self.send(request_id, Delta(pending, pending_reasoning))
                pending = ""

        for event in engine.generate(request.reply, lambda: self._is_cancelled(request_id)):
            if isinstance(event, Delta):
                if event.reasoning != pending_reasoning:
                    flush()
                    pending_reasoning = event.reasoning
                pending += event.text
                now = time.monotonic()
                if now - last_sent >= DELTA_COALESCE_S:
                    flush()
                    last_sent = now
                continue
            flush()
            self.send(request_id, event)
        try:
            engine.after_reply()
        except Exception:  # a cache that could not be written costs only the cache
            log.warning("after the reply:\n%s", traceback.format_exc())


def _start_renderer() -> None:
    try:
        shared_renderer().start()
    except EngineError as err:  # the first render will try again and report it
        log.warning("%s", err)


def _setup_logging() -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    log_file = os.environ.get("PARLOUR_ENGINE_LOG")
    if log_file:
        with contextlib.suppress(OSError):
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers)


def main() -> None:
    # Ctrl+C in a terminal reaches the whole foreground group; the program that started this host
    # decides what it means (the CLI cancels the reply), and the host must not die of it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    # Keep the real stdout for the protocol; anything printed to fd 1 from now on
    # (by Python or by native code) lands on stderr instead.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _setup_logging()
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    host = EngineHost(protocol)
    # The template renderer starts beside the engine, so the first reply does not wait for it.
    threading.Thread(target=_start_renderer, name="renderer-start", daemon=True).start()
    host.send(None, Ready(os.getpid()))
    host.serve(sys.stdin)


if __name__ == "__main__":
    main()
