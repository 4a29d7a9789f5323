"""The configured MCP tool servers, running, behind a synchronous, thread-safe API.

The SDK is asyncio; the window and the engine code are threads. `ToolServers` owns one event loop on a
background thread, where every server's connection lives; `start`, `tools`, `call` and `close` can be
called from any thread, and each returns or raises within its bound.

A server that crashes or exits during a call, or a call that runs past its timeout, ends that call with
a ToolError sentence; the server is then stopped (its whole process tree) and started again at once, so
the next call finds it fresh. After `max_restarts` such failures in a row with no call succeeding in
between, the server is given up on (its tools leave the list) until the tool servers are built again.
A server that fails to start is not retried either: a missing command or a bad secret will not mend
itself, and the person fixes mcp.json and reloads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import logging
import threading
from collections.abc import Coroutine, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from app.tools.errors import ToolError, one_line, sentence_end
from app.tools.mcp_config import McpConfig, ServerConfig
from app.tools.mcp_connection import STOP_TIMEOUT_S, ServerConnection, ServerTool
from app.tools.tool_keys import assign_keys
from app.tools.tool_results import DEFAULT_RESULT_LIMIT, result_text

__all__ = ["DEFAULT_CALL_TIMEOUT_S", "ToolError", "ToolInfo", "ToolServers"]

log = logging.getLogger("parlour.tools")

DEFAULT_CALL_TIMEOUT_S = 60.0
DEFAULT_START_TIMEOUT_S = 30.0
DEFAULT_MAX_RESTARTS = 3
# The loop enforces each timeout itself; the calling thread waits this much longer only as a backstop.
_BACKSTOP_S = 2.0

T = TypeVar("T")


@dataclass(frozen=True)
class ToolInfo:
    """A tool as the model and the window see it."""

    key: str  # the name the model calls it by, unique across servers (app.tools.tool_keys)
    server: str
    name: str  # its own name on its server
    description: str
    input_schema: dict[str, Any]  # a JSON schema for the arguments (a copy: change it freely)
    enabled: bool


@dataclass
class _Slot:
    """One configured server, as the event loop sees it; touched on the loop's thread only."""

    server: ServerConfig
    connection: ServerConnection | None = None
    starting: asyncio.Task[None] | None = None
    tools: tuple[ServerTool, ...] = ()  # kept while it restarts, so the keys of tools do not shift
    problem: str | None = None  # why it is not running, once it has failed to start or been given up on
    failures: int = 0  # crashes and timeouts since the last call that worked


class ToolServers:
    def __init__(
        self,
        config: McpConfig,
        *,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        max_result_chars: int = DEFAULT_RESULT_LIMIT,
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        log_folder: Path | None = None,
    ) -> None:
        if log_folder is None:
            from app.paths import log_dir

            log_folder = log_dir()
        self._log_folder = log_folder
        self._start_timeout_s = start_timeout_s
        self._max_result_chars = max_result_chars
        self._max_restarts = max_restarts
        self._slots = {server.name: _Slot(server) for server in config.servers}
        self._background: set[asyncio.Task[None]] = set()
        # What other threads may read, replaced whole under the lock by the loop's thread.
        self._lock = threading.Lock()
        self._catalog: dict[str, tuple[str, ServerTool]] = {}
        self._retired: dict[str, str] = {}  # keys of tools whose server was given up on -> that server
        self._problems: dict[str, str] = {}
        self._disabled = {server: frozenset(tools) for server, tools in config.disabled_tools.items()}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    # The synchronous API, for any thread

    def start(self) -> None:
        """Start every server at once; returns when each is running or has failed (see `problems`)."""
        with self._lock:
            if self._loop is not None or self._closed:
                return
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="mcp-tool-servers", daemon=True)
            self._thread.start()
        try:
            self._submit(self._start_all()).result(self._start_timeout_s + STOP_TIMEOUT_S + _BACKSTOP_S)
        except TimeoutError:
            log.warning("tool servers took longer than their start timeout")
        except concurrent.futures.CancelledError:
            log.info("tool servers were closed while starting")  # close() from another thread: nothing to do

    def tools(self, include_disabled: bool = False) -> list[ToolInfo]:
        """The tools of the servers that are running (or restarting), in mcp.json's order of servers."""
        with self._lock:
            catalog, disabled = self._catalog, self._disabled
        listed = []
        for key, (server, tool) in catalog.items():
            enabled = tool.name not in disabled.get(server, frozenset())
            if enabled or include_disabled:
                schema = copy.deepcopy(tool.input_schema)
                listed.append(ToolInfo(key, server, tool.name, tool.description, schema, enabled))
        return listed

    def problems(self) -> dict[str, str]:
        """A sentence for each server that is not running: it failed to start, or was given up on."""
        with self._lock:
            return dict(self._problems)

    def set_disabled_tools(self, disabled: Mapping[str, Iterable[str]]) -> None:
        """Which tools of which servers are switched off (as mcp.json's "parlour" part says)."""
        with self._lock:
            self._disabled = {server: frozenset(tools) for server, tools in disabled.items()}

    def call(
        self, tool_key: str, arguments: Mapping[str, Any] | None = None, timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    ) -> str:
        """The text of the tool's result, or ToolError (one sentence) within about `timeout_s` seconds."""
        if arguments is not None and not isinstance(arguments, Mapping):
            raise ToolError(f"The arguments for the tool '{tool_key}' must be a JSON object.", "refused")
        with self._lock:
            entry = self._catalog.get(tool_key)
            disabled = self._disabled
            problem = self._problems.get(self._retired.get(tool_key, ""))
        if entry is None and problem is not None:
            raise ToolError(problem, "not_started")
        if entry is None:
            raise ToolError(f"No tool server offers a tool called '{tool_key}'.", "unknown_tool")
        server, tool = entry
        if tool.name in disabled.get(server, frozenset()):
            raise ToolError(f"The tool '{tool_key}' is switched off in Parlour's tool settings.", "unknown_tool")
        future = self._submit(self._call(server, tool.name, dict(arguments or {}), timeout_s))
        try:
            return future.result(timeout_s + _BACKSTOP_S)
        except TimeoutError:
            future.cancel()
            log.warning("the loop did not end the call to %s on %s in time", tool.name, server)
            raise ToolError(
                f"The tool '{tool.name}' on the server '{server}' did not finish within {timeout_s:g} seconds.",
                "timeout",
            ) from None

    def close(self) -> None:
        """Stop every server (child processes included) and the event loop; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop_all(), loop).result(STOP_TIMEOUT_S + 2 * _BACKSTOP_S)
        except Exception:
            log.warning("tool servers did not all stop in time", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_BACKSTOP_S)
        if not thread.is_alive():
            loop.close()

    def __enter__(self) -> ToolServers:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _submit(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        with self._lock:
            loop = None if self._closed else self._loop
        if loop is None:
            work.close()
            raise ToolError("The tool servers have been closed, or were never started.", "closed")
        return asyncio.run_coroutine_threadsafe(work, loop)

    # On the loop's thread

    async def _start_all(self) -> None:
        for slot in self._slots.values():
            slot.starting = asyncio.create_task(self._open(slot))
        await asyncio.gather(*(slot.starting for slot in self._slots.values() if slot.starting))

    async def _open(self, slot: _Slot) -> None:
        connection = ServerConnection(slot.server, self._log_folder, self._start_timeout_s)
        try:
            await connection.start()
        except ToolError as err:
            log.info("tool server %s did not start: %s", slot.server.name, err)
            slot.problem, slot.tools = str(err), ()
        else:
            if self._closed:  # close() came while it started
                await connection.stop()
                return
            slot.connection, slot.tools, slot.problem = connection, connection.tools, None
        finally:
            self._publish()

    async def _call(self, server: str, tool: str, arguments: dict[str, Any], timeout_s: float) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        slot = self._slots[server]
        if slot.starting is not None and not slot.starting.done():  # restarting after a crash or a hang
            await asyncio.wait({slot.starting}, timeout=timeout_s)
            if not slot.starting.done():
                raise ToolError(f"The tool server '{server}' is still starting; try again in a moment.", "not_started")
        connection = slot.connection
        if connection is None:
            raise ToolError(slot.problem or f"The tool server '{server}' is not running.", "not_started")
        try:
            result = await connection.call(tool, arguments, max(deadline - loop.time(), 0.1))
        except ToolError as err:
            if err.kind not in ("stopped", "timeout"):
                raise
            raise self._after_failure(slot, connection, err) from None
        slot.failures = 0
        if result.is_error:
            text = one_line(result_text(result, 2000)) or "no reason given"
            raise ToolError(sentence_end(f"The tool '{tool}' reported an error: {text}"), "tool")
        return result_text(result, self._max_result_chars)

    def _after_failure(self, slot: _Slot, connection: ServerConnection, err: ToolError) -> ToolError:
        """Stop a server that crashed or hung, and start it again unless it keeps failing."""
        said = str(err).rstrip(".")
        if slot.connection is not connection:  # another call saw the same failure and dealt with it
            then = "so Parlour is starting the server again" if slot.problem is None else "and Parlour stopped it"
            return ToolError(f"{said}, {then}.", err.kind)
        slot.connection = None
        self._in_background(connection.stop())
        slot.failures += 1
        if slot.failures > self._max_restarts:
            slot.problem, slot.tools = (
                f"The tool server '{slot.server.name}' failed {slot.failures} times in a row, so Parlour stopped "
                "it until its tools are loaded again.",
                (),
            )
            self._publish()
            return ToolError(f"{said}, and it has failed too often, so Parlour stopped it for now.", err.kind)
        slot.starting = asyncio.create_task(self._open(slot))
        return ToolError(f"{said}, so Parlour is starting the server again.", err.kind)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)  # held, or the loop may drop it half-way
        task.add_done_callback(self._background.discard)

    async def _stop_all(self) -> None:
        for slot in self._slots.values():
            if slot.starting is not None and not slot.starting.done():
                slot.starting.cancel()
        stopping = [slot.connection.stop() for slot in self._slots.values() if slot.connection is not None]
        starting = [slot.starting for slot in self._slots.values() if slot.starting is not None]
        await asyncio.gather(*stopping, *starting, *self._background, return_exceptions=True)

    def _publish(self) -> None:
        """Give other threads the new list of tools and problems."""
        running = [slot for slot in self._slots.values() if slot.problem is None]
        keys = assign_keys([(slot.server.name, tool.name) for slot in running for tool in slot.tools])
        catalog = {
            keys[(slot.server.name, tool.name)]: (slot.server.name, tool) for slot in running for tool in slot.tools
        }
        problems = {name: slot.problem for name, slot in self._slots.items() if slot.problem is not None}
        with self._lock:
            # A model may still call a tool of a server that has just been given up on: say why it is gone.
            retired = {key: server for key, (server, _) in self._catalog.items() if server in problems}
            self._retired = {**self._retired, **retired}
            self._catalog, self._problems = catalog, problems
