"""The engine host: a child process that owns one loaded model.

MLX aborts the whole process on a Metal out-of-memory, llama.cpp can crash on a
malformed file, and both spend seconds in C code Python cannot interrupt. Running
them here turns those into an error event and a restart instead of a lost window.

Protocol: one JSON object per line. Requests arrive on stdin; replies go to the
file descriptor that was stdout at start-up, and fd 1 is then pointed at stderr so
nothing native libraries print can corrupt the stream.

Requests: {"op": "load"|"generate"|"render"|"tokenize"|"greedy_trace"|"cancel"|"unload"|"ping"|"shutdown",
           "id": str, ...}
Replies:  {"id": str, "event": "progress"|"loaded"|"started"|"delta"|"finished"|"prompt"|"tokens"|
           "unloaded"|"pong"|"trace"|"heartbeat"|"error", ...}
A generate request always ends with a "finished" event, whose finish_reason is "error" on failure.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import sys
import threading
import time
import traceback
from typing import Any, TextIO

from engines.base import (
    Delta,
    EngineError,
    Finished,
    GenerationStats,
    InvalidRequestError,
    LoadSettings,
    ModelFileError,
    NotLoadedError,
    event_to_dict,
)
from engines.child_process import die_with_parent
from engines.inspect import inspect_model
from engines.process_memory import peak_resident_bytes, resident_bytes
from engines.prompting import ReplyRequest
from engines.templates.isolation import shared_renderer

log = logging.getLogger("parlour.host")
DELTA_COALESCE_S = 0.02
# Sent whatever the engine thread is doing, so the client can tell a busy host from a stuck one
# (engines.host_client.HOST_SILENCE_SECONDS).
HEARTBEAT_SECONDS = 2.0


def create_engine(kind: str) -> Any:
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
        self._jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._cancelled: set[str] = set()
        self._cancel_lock = threading.Lock()
        self._engine: Any = None
        # The one thread that loads, prefills, generates and unloads (MLX streams and
        # llama.cpp contexts belong to the thread that made them).
        self._worker = threading.Thread(target=self._work, name="engine", daemon=True)

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False)
        with self._write_lock:
            self._out.write(line + "\n")
            self._out.flush()

    def _heartbeat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            self.send({"id": None, "event": "heartbeat"})

    def serve(self, stdin: TextIO) -> None:
        self._worker.start()
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()
        for line in stdin:
            line = line.strip()
            if not line:
                continue
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("not an object")
            except ValueError:
                self.send(
                    {
                        "id": None,
                        "event": "error",
                        "code": "invalid_request",
                        "message": "The engine received a malformed request.",
                    }
                )
                continue
            op = request.get("op")
            if op == "cancel":
                with self._cancel_lock:
                    self._cancelled.add(str(request.get("target")))
            elif op == "shutdown":
                break
            else:
                self._jobs.put(request)
        self._jobs.put(None)
        self._worker.join(timeout=5)
        if self._worker.is_alive():
            # Its parent is gone or asked it to stop, and the engine thread is stuck in native
            # code: leave now, never linger on a core.
            log.warning("the engine thread did not stop; leaving without it")
            os._exit(0)

    def _is_cancelled(self, request_id: str) -> bool:
        with self._cancel_lock:
            return request_id in self._cancelled

    def _work(self) -> None:
        while True:
            request = self._jobs.get()
            if request is None:
                break
            request_id = str(request.get("id"))
            try:
                self._handle(request_id, request)
            except EngineError as err:
                self._fail(request_id, request.get("op"), err.code, str(err))
            except MemoryError:
                self._fail(
                    request_id,
                    request.get("op"),
                    "engine_error",
                    "The engine ran out of memory; try a smaller model or a shorter context.",
                )
            except Exception as err:  # anything else is a bug: log it, tell the user plainly
                log.error("request %s failed:\n%s", request_id, traceback.format_exc())
                self._fail(
                    request_id,
                    request.get("op"),
                    "engine_error",
                    f"The engine failed unexpectedly ({err.__class__.__name__}: {err}).",
                )
            finally:
                with self._cancel_lock:
                    self._cancelled.discard(request_id)
        if self._engine is not None:
            self._engine.unload()

    def _fail(self, request_id: str, op: Any, code: str, message: str) -> None:
        if op == "generate":
            self.send({"id": request_id, **event_to_dict(Finished("error", GenerationStats(), message, code))})
        else:
            self.send({"id": request_id, "event": "error", "code": code, "message": message})

    def _handle(self, request_id: str, request: dict[str, Any]) -> None:
        op = request.get("op")
        if op == "load":
            self._load(request_id, request)
        elif op == "generate":
            self._generate(request_id, request)
        elif op == "render":
            self._render(request_id, request)
        elif op == "tokenize":
            engine = self._require_engine()
            self.send({"id": request_id, "event": "tokens", "ids": engine.tokenize_prompt(request["messages"])})
        elif op == "greedy_trace":
            # Diagnostic: greedy tokens and their margins, to check that both engines run a model alike.
            engine = self._require_engine()
            forced = request.get("forced")
            ids, margins = engine.greedy_trace(
                request["messages"], int(request.get("max_tokens", 16)), list(forced) if forced else None
            )
            self.send({"id": request_id, "event": "trace", "ids": ids, "margins": margins})
        elif op == "unload":
            if self._engine is not None:
                self._engine.unload()
                self._engine = None
            self.send({"id": request_id, "event": "unloaded"})
        elif op == "ping":
            self.send(
                {
                    "id": request_id,
                    "event": "pong",
                    "pid": os.getpid(),
                    "rss_bytes": resident_bytes(),
                    "peak_bytes": peak_resident_bytes(),
                    "loaded": self._engine is not None,
                    "template_renderer_pid": shared_renderer().pid,
                }
            )
        else:
            raise InvalidRequestError(f"Unknown request '{op}'.")

    def _require_engine(self) -> Any:
        if self._engine is None:
            raise NotLoadedError("No model is loaded; choose a model first.")
        return self._engine

    def _load(self, request_id: str, request: dict[str, Any]) -> None:
        path = request.get("path")
        if not isinstance(path, str) or not path:
            raise ModelFileError("No model was given to load.")
        info = inspect_model(path)
        kind = choose_engine(info.engine, request.get("engine") or "auto")
        if self._engine is not None:
            self._engine.unload()
            self._engine = None
        engine = create_engine(kind)

        def progress(fraction: float, message: str) -> None:
            self.send({"id": request_id, "event": "progress", "fraction": fraction, "message": message})

        loaded = engine.load(info, LoadSettings.from_dict(request.get("settings")), progress)
        self._engine = engine
        self.send({"id": request_id, "event": "loaded", "model": loaded.to_dict(), "engine": kind})

    def _generate(self, request_id: str, request: dict[str, Any]) -> None:
        engine = self._require_engine()
        reply = ReplyRequest.from_dict(request)
        if not reply.messages:
            raise InvalidRequestError("There is no message to reply to.")
        # Deltas closer together than DELTA_COALESCE_S travel as one message: on a small
        # machine every wake-up of the client steals time from the engine's threads.
        pending, pending_reasoning, last_sent = "", False, 0.0

        def flush() -> None:
            nonlocal pending
            if pending:
                self.send({"id": request_id, **event_to_dict(Delta(pending, pending_reasoning))})
                pending = ""

        for event in engine.generate(reply, lambda: self._is_cancelled(request_id)):
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
            self.send({"id": request_id, **event_to_dict(event)})

    def _render(self, request_id: str, request: dict[str, Any]) -> None:
        """The exact prompt a generate request would send, and which template made it."""
        prompt = self._require_engine().prompt(ReplyRequest.from_dict(request))
        self.send(
            {
                "id": request_id,
                "event": "prompt",
                "text": prompt.text,
                "tokens": len(prompt.ids),
                "template_source": prompt.template.source,
                "notice": prompt.template.notice,
                "dropped_turns": prompt.dropped_turns,
            }
        )


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
    host.send({"id": None, "event": "ready", "pid": os.getpid()})
    host.serve(sys.stdin)


if __name__ == "__main__":
    main()
