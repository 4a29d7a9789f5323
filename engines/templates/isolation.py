"""Rendering in a separate process that is killed at a hard deadline and held to a memory cap.

The sandbox's budget is checked only where a template reaches a loop, call, filter or
operator; work inside C (comparing two lists built by doubling, hashing, a format of
gigabytes) never reaches it. So every render outside the render process itself goes
through `RenderProcess`: a long-lived child (worker.py) that renders, while this side
waits with a deadline and watches the child's resident size. A child past either is
killed, the caller gets the sentence, and the next render starts a fresh child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any

from engines.child_process import module_command, spawn_child
from engines.templates import budget
from engines.templates.compat import TOO_BIG_MESSAGE, TOO_SLOW_MESSAGE, TemplateError, plain_data
from engines.templates.worker import MEMORY_VARIABLE

log = logging.getLogger("parlour.templates")

MEMORY_LIMIT = 512 * 1024 * 1024  # above the render process's own start-up size
GRACE_SECONDS = 1.0  # past the cooperative budget, before the process is killed
START_SECONDS = 60.0  # starting Python on a busy machine; does not depend on any template
_POLL_SECONDS = 0.05
_CRASHED_MESSAGE = "The chat template could not be rendered (the renderer stopped); it was not used."


class RenderProcess:
    """One render child, used by one request at a time; safe to share between threads."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT, python: str | None = None) -> None:
        self.memory_limit = memory_limit
        self._python = python or sys.executable
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._base_rss = 0
        self._started = False
        self.restarts = 0  # children started after the first: killed or crashed ones
        self.last_peak_bytes = 0  # the child's peak resident size at its last answer

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process and self._process.poll() is None else None

    def start(self) -> None:
        """Start the child now (rendering starts it when needed; this takes the wait out of a first reply)."""
        with self._lock:
            self._ensure()

    def close(self) -> None:
        with self._lock:
            self._discard()

    # --- requests -----------------------------------------------------------------------------------

    def check(self, source: str, seconds: float | None = None) -> None:
        self._call({"op": "check", "template": source}, seconds)

    def render(
        self, template: str, messages: list[dict[str, Any]], seconds: float | None = None, **options: Any
    ) -> str:
        request = {
            "op": "render",
            "template": template,
            "messages": plain_data(list(messages)),
            "options": plain_data(options),
        }
        return str(self._call(request, seconds))

    def _call(self, request: dict[str, Any], seconds: float | None) -> Any:
        seconds = float(seconds if seconds is not None else budget.RENDER_SECONDS)
        line = (json.dumps(dict(request, seconds=seconds), ensure_ascii=True, default=str) + "\n").encode("ascii")
        with self._lock:
            process = self._ensure()
            try:
                self._send(process, line)
            except OSError:  # it died while idle (its parent thread ended, say): once more with a new one
                self._discard()
                process = self._ensure()
                self._send(process, line)
            reply = self._wait(process, seconds + GRACE_SECONDS)
            self.last_peak_bytes = int(reply.get("peak_bytes") or 0)
        if not reply.get("ok"):
            raise TemplateError(str(reply.get("message") or _CRASHED_MESSAGE))
        return reply.get("text", "")

    @staticmethod
    def _send(process: subprocess.Popen[bytes], line: bytes) -> None:
        assert process.stdin is not None
        process.stdin.write(line)
        process.stdin.flush()

    def _wait(self, process: subprocess.Popen[bytes], seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            try:
                raw = self._lines.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                raw = b""
            if raw is None:  # the child ended: killed by its CPU limit, or out of memory
                code = process.wait()
                log.warning("template render process ended with %s", code)
                self._discard()
                raise TemplateError(TOO_SLOW_MESSAGE if code == -signal.SIGXCPU else _CRASHED_MESSAGE)
            if raw:
                try:
                    reply = json.loads(raw)
                except ValueError:
                    reply = None
                if not isinstance(reply, dict):
                    self._discard()
                    raise TemplateError(_CRASHED_MESSAGE)
                return reply
            if time.monotonic() > deadline:
                log.warning("template render passed its deadline; killing pid %s", process.pid)
                self._discard()
                raise TemplateError(TOO_SLOW_MESSAGE)
            if self._resident(process) > self._base_rss + self.memory_limit:
                log.warning("template render passed its memory cap; killing pid %s", process.pid)
                self._discard()
                raise TemplateError(TOO_BIG_MESSAGE)

    # --- the child ----------------------------------------------------------------------------------

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        if self._process is not None:
            self._discard()
        if self._started:
            self.restarts += 1
        self._started = True
        env = dict(os.environ)
        env[MEMORY_VARIABLE] = str(self.memory_limit)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        process = spawn_child(
            module_command("engines.templates.worker", self._python),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=root,
        )
        self._lines = queue.Queue()
        assert process.stdout is not None
        threading.Thread(
            target=_read_lines, args=(process.stdout, self._lines), name="render-reader", daemon=True
        ).start()
        try:
            ready = self._lines.get(timeout=START_SECONDS)
        except queue.Empty:
            ready = None
        if not ready:
            process.kill()
            process.wait()
            raise TemplateError("Parlour could not start its template renderer.")
        self._process = process
        self._base_rss = self._resident(process)
        return process

    def _discard(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    @staticmethod
    def _resident(process: subprocess.Popen[bytes]) -> int:
        try:
            import psutil

            return int(psutil.Process(process.pid).memory_info().rss)
        except Exception:  # gone, or psutil missing: the deadline still holds
            return 0


def _read_lines(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    try:
        for raw in stream:
            lines.put(raw)
    except (OSError, ValueError):
        pass
    lines.put(None)


_shared: RenderProcess | None = None
_shared_lock = threading.Lock()


def shared_renderer() -> RenderProcess:
    """This process's render child, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RenderProcess()
        return _shared
