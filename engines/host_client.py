"""The client side of the engine host: start it, talk to it, survive its death.

Nothing here blocks the caller unless asked to: requests are written at once and
replies arrive on a reader thread, either into a callback (the UI turns those into
queued Qt signals) or into a queue that `Reply` iterates (the CLI). When the host
dies, every open request gets an error naming the exit status or signal and the
last lines the host wrote to stderr, and the next request starts a fresh host and
reloads the model that was loaded.

Nothing waits on the host for ever. The host sends a heartbeat every few seconds,
whatever its engine thread is doing; a watchdog kills a host that has been silent
for HOST_SILENCE_SECONDS, which fails its open requests like any other death. A
line that is not a JSON object, or longer than MAX_LINE_BYTES, is a protocol error:
the host is stopped and its requests get a sentence, never a dead reader thread.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from engines.base import (
    EngineCrashedError,
    EngineError,
    Finished,
    GenerationParams,
    GenerationStats,
    LoadSettings,
    Message,
    ModelInfo,
)
from engines.child_process import module_command, spawn_child
from engines.protocol import (
    MAX_EMBED_TEXTS,
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
    ProtocolError,
    Ready,
    RenderRequest,
    ReplyRequest,
    Request,
    ShutdownRequest,
    TokenizeRequest,
    Tokens,
    Trace,
    TraceRequest,
    UnloadRequest,
    decode_event,
    encode_request,
    is_final,
)
from engines.reply_stream import Reply

log = logging.getLogger("parlour.client")
Listener = Callable[[Event], None]
STDERR_LINES_KEPT = 40
MAX_LINE_BYTES = 64 * 1024 * 1024  # a rendered prompt of a long chat is a few MB at most
# The host's heartbeat comes every HEARTBEAT_SECONDS (engines.host); silence this long means it is stuck.
HOST_SILENCE_SECONDS = 60.0
LOAD_SECONDS = 1800.0  # the longest a load may take, heartbeats or not (a huge model on a slow disk)
EMBED_SECONDS = 600.0  # one embed request (MAX_EMBED_TEXTS passages) on a slow, busy CPU
# A text's characters sent to embed: past any context an embedding model is loaded with (the engine then
# keeps only as many tokens as its context holds); a pasted book must not cross the pipe whole.
MAX_EMBED_TEXT_CHARS = 32_768
_WAIT_STEP = 0.5
PROTOCOL_ERROR = "The engine sent a reply Parlour cannot read, so it was restarted."
SILENT_ERROR = "The engine stopped responding, so it was restarted."


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "an unknown signal"
        return f"was killed by signal {-returncode} ({name})"
    return f"exited with status {returncode}"


class EngineClient:
    def __init__(self, log_file: str | None = None, python: str | None = None) -> None:
        self._python = python or sys.executable
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._listeners: dict[str, tuple[Request, Listener]] = {}
        self._ids = itertools.count(1)
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES_KEPT)
        self._last_load: LoadRequest | None = None
        self._last_heard = time.monotonic()
        self._stop_reason: str | None = None  # why this side stopped the host, for the requests it fails
        self.model: ModelInfo | None = None
        self.engine: str | None = None
        self.restarts = 0

    # --- process life -------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self) -> None:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        if self._log_file:
            env["PARLOUR_ENGINE_LOG"] = self._log_file
        # The host must import `engines` from the same place this process did.
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._stderr_tail.clear()
        # Started from one long-lived thread, so the host's "die with my parent" signal means this process.
        process = spawn_child(
            module_command("engines.host", self._python),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=root,
        )
        self._process = process
        self._last_heard = time.monotonic()
        self._stop_reason = None
        threading.Thread(target=self._read_stdout, args=(process,), name="engine-reader", daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(process,), name="engine-stderr", daemon=True).start()
        threading.Thread(target=self._watch, args=(process,), name="engine-watchdog", daemon=True).start()
        log.info("engine host started, pid %s", process.pid)

    def _ensure_running(self) -> None:
        """Start a host if none runs; after a crash, reload the model that was loaded."""
        if self.is_running():
            return
        crashed = self._process is not None
        if crashed:
            assert self._process is not None
            self._fail_open_requests(self._process.wait(timeout=30))
        self._start()
        if crashed:
            self.restarts += 1
            if self._last_load is not None:
                reload_id = f"reload-{next(self._ids)}"
                self._listeners[reload_id] = (self._last_load, self._on_reload)
                self._write(reload_id, self._last_load)

    def _on_reload(self, event: Event) -> None:
        if isinstance(event, Failure):
            log.warning("reloading the model after a restart failed: %s", event.message)

    def _write(self, request_id: str, request: Request) -> None:
        assert self._process is not None and self._process.stdin is not None
        # ASCII on the wire: a lone surrogate in a message must not make the line unwritable.
        data = (json.dumps(encode_request(request_id, request), ensure_ascii=True) + "\n").encode("ascii")
        try:
            self._process.stdin.write(data)
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            # The reader thread notices the death and fails the open requests.
            log.warning("the engine host's input is closed")

    def _read_stdout(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        try:
            while True:
                raw = process.stdout.readline(MAX_LINE_BYTES + 1)
                if not raw or (not raw.endswith(b"\n") and len(raw) <= MAX_LINE_BYTES):
                    break  # the end, or a line cut short by the host's death: its exit status says why
                self._last_heard = time.monotonic()
                try:
                    request_id, event = _parse_line(raw)
                except ProtocolError as err:
                    log.error(
                        "engine host broke the protocol (%s) with a line of %d bytes: %r", err, len(raw), raw[:200]
                    )
                    self._stop_host(process, PROTOCOL_ERROR)
                    break
                if not isinstance(event, Heartbeat | Ready):
                    self._dispatch(request_id, event)
        except Exception:  # a listener's bug must not leave requests waiting on a dead reader
            log.exception("engine reader failed")
            self._stop_host(process, PROTOCOL_ERROR)
        returncode = process.wait()
        self._on_host_exit(process, returncode)

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        """Kill a host that has stopped answering; its reader then fails the open requests."""
        while process.poll() is None:
            time.sleep(_WAIT_STEP)
            if time.monotonic() - self._last_heard > HOST_SILENCE_SECONDS:
                log.error("engine host pid %s was silent for %.0f s", process.pid, HOST_SILENCE_SECONDS)
                self._stop_host(process, SILENT_ERROR)
                return

    def _stop_host(self, process: subprocess.Popen[bytes], reason: str) -> None:
        with self._lock:
            if process is self._process:
                self._stop_reason = reason
        if process.poll() is None:
            process.kill()

    def _read_stderr(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self._stderr_tail.append(line)
                log.debug("host: %s", line)

    def _dispatch(self, request_id: str | None, event: Event) -> None:
        with self._lock:
            entry = self._listeners.get(request_id) if request_id is not None else None
            if entry and is_final(entry[0], event):
                del self._listeners[request_id]  # type: ignore[arg-type]
        if entry:
            entry[1](event)
        elif isinstance(event, Failure):
            log.error("engine failure for no open request: %s (%s)", event.message, event.detail)

    def _on_host_exit(self, process: subprocess.Popen[bytes], returncode: int) -> None:
        with self._lock:
            if process is self._process:
                self._fail_open_requests(returncode)

    def _fail_open_requests(self, returncode: int) -> None:
        """The host is gone: every request still open gets a plain error (called under the lock)."""
        orphans = list(self._listeners.items())
        self._listeners.clear()
        reason, self._stop_reason = self._stop_reason, None
        if not orphans:
            return
        detail = None
        if reason:
            message = reason
        else:
            # Let the stderr reader catch the host's last words before quoting them in the detail.
            threading.Event().wait(0.2)
            message = f"The engine {describe_exit(returncode)}."
            tail = " | ".join(list(self._stderr_tail)[-5:])
            detail = f"Its last output: {tail}" if tail else None
        log.error("%s %s", message, detail or "")
        for _, (request, listener) in orphans:
            if isinstance(request, GenerateRequest):
                listener(Finished("error", GenerationStats(), message, EngineCrashedError.code, detail))
            else:
                listener(Failure(EngineCrashedError.code, message, detail))

    # --- requests -----------------------------------------------------------------------------------

    def submit(self, request: Request, listener: Listener, request_id: str | None = None) -> str:
        """Send one request; `listener` gets every event answering it, on the reader thread."""
        with self._lock:
            self._ensure_running()
            request_id = request_id or f"r{next(self._ids)}"
            self._listeners[request_id] = (request, listener)
            self._write(request_id, request)
        return request_id

    def cancel(self, request_id: str) -> None:
        with self._lock:
            if self.is_running():
                self._write(f"c{next(self._ids)}", CancelRequest(request_id))

    def start_load(
        self,
        path: str,
        engine: str = "auto",
        settings: LoadSettings | None = None,
        listener: Listener | None = None,
        request_id: str | None = None,
    ) -> str:
        request = LoadRequest(str(path), engine, settings or LoadSettings())

        def on_event(event: Event) -> None:
            if isinstance(event, Loaded):
                self._last_load = request
                self.model = event.model
                self.engine = event.engine
            if listener:
                listener(event)

        return self.submit(request, on_event, request_id)

    def load(
        self,
        path: str,
        engine: str = "auto",
        settings: LoadSettings | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        timeout: float | None = None,
    ) -> ModelInfo:
        """Load and wait. Raises the EngineError the host reported."""
        done: queue.Queue[Event] = queue.Queue()

        def listener(event: Event) -> None:
            if isinstance(event, Progress):
                if on_progress:
                    on_progress(event.fraction, event.message)
            else:
                done.put(event)

        self.start_load(path, engine, settings, listener)
        result = self.wait_on(done, LOAD_SECONDS if timeout is None else timeout, "Loading the model took too long.")
        if isinstance(result, Failure):
            raise result.error()
        assert isinstance(result, Loaded)
        return result.model

    def start_generate(self, reply: ReplyRequest, listener: Listener, request_id: str | None = None) -> str:
        return self.submit(GenerateRequest(reply), listener, request_id)

    def generate(
        self,
        messages: list[Message],
        params: GenerationParams,
        template: str | None = None,
        template_vars: dict[str, Any] | None = None,
        continue_final: bool = False,
    ) -> Reply:
        """Start a reply and return it at once; iterate it for events."""
        reply = Reply(self)
        request = ReplyRequest(list(messages), params, template, dict(template_vars or {}), continue_final)
        reply.id = self.start_generate(request, reply._deliver)
        return reply

    def render(
        self,
        messages: list[Message],
        params: GenerationParams | None = None,
        template: str | None = None,
        template_vars: dict[str, Any] | None = None,
    ) -> PromptRendered:
        """The exact prompt text a reply would start from, with the template's source."""
        reply = ReplyRequest(list(messages), params or GenerationParams(), template, dict(template_vars or {}))
        answer = self.call(RenderRequest(reply))
        assert isinstance(answer, PromptRendered)
        return answer

    def call(self, request: Request, timeout: float | None = 60) -> Event:
        """Send a request with a single answer and wait for it; a Failure is raised as its EngineError."""
        done: queue.Queue[Event] = queue.Queue()
        self.submit(request, done.put)
        result = self.wait_on(done, timeout)
        if isinstance(result, Failure):
            raise result.error()
        return result

    def wait_on(
        self,
        answers: queue.Queue[Event],
        timeout: float | None = None,
        too_long: str = "The engine did not answer in time.",
    ) -> Event:
        """The next answer in `answers`. The watchdog guarantees one comes (a death fails every open
        request); `timeout` bounds the wait on top of that, and a dead reader ends it too."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return answers.get(timeout=_WAIT_STEP)
            except queue.Empty:
                pass
            if deadline is not None and time.monotonic() > deadline:
                raise EngineError(too_long)
            process = self._process
            if process is None:  # closed while we waited: nothing will answer
                raise EngineError("The engine was stopped before it answered.")

    def tokenize(self, messages: list[Message]) -> list[int]:
        answer = self.call(TokenizeRequest(list(messages)))
        assert isinstance(answer, Tokens)
        return list(answer.ids)

    def trace(self, messages: list[Message], max_tokens: int, forced: list[int] | None = None) -> Trace:
        answer = self.call(TraceRequest(list(messages), max_tokens, forced), timeout=300)
        assert isinstance(answer, Trace)
        return answer

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One L2-normalized vector per text, in order, from a model loaded with LoadSettings(embedding=True);
        sent MAX_EMBED_TEXTS at a time. Raises the EngineError the host reported."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), MAX_EMBED_TEXTS):
            chunk = [text[:MAX_EMBED_TEXT_CHARS] for text in texts[start : start + MAX_EMBED_TEXTS]]
            answer = self.call(EmbedRequest(chunk), timeout=EMBED_SECONDS)
            assert isinstance(answer, Embeddings)
            if len(answer.vectors) != len(chunk):
                raise EngineError("The engine returned the wrong number of embeddings.")
            vectors.extend(answer.vectors)
        return vectors

    def ping(self) -> Pong:
        answer = self.call(PingRequest(), timeout=10)
        assert isinstance(answer, Pong)
        return answer

    def unload(self) -> None:
        if self.is_running():
            self.call(UnloadRequest())
        self._last_load = None
        self.model = None
        self.engine = None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the host: ask politely, then insist."""
        process = self._process
        if process is None:
            return
        with self._lock:
            self._listeners.clear()
            self._process = None
        if process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.write((json.dumps(encode_request("shutdown", ShutdownRequest())) + "\n").encode())
                process.stdin.flush()
                process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_line(raw: bytes) -> tuple[str | None, Event]:
    """One protocol line as (request id, event); ProtocolError when it is not one (too long, not JSON,
    not an object, not an event)."""
    if len(raw) > MAX_LINE_BYTES or not raw.endswith(b"\n"):
        raise ProtocolError(f"a line of more than {MAX_LINE_BYTES} bytes")
    try:
        wire = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("a line that is not JSON") from None
    return decode_event(wire)
